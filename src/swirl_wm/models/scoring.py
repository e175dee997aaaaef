"""Batched scoring: mean per-token log-probability of a target span given a prompt.

This one scorer gives both SWIRL rewards (Phase I: ``log Q_φ(z | x, ŷ)``; Phase II: ``log P_θ(y | x, z)``)
and the evaluation's log-likelihood. Source: SWIRL §3.3–3.4 and its released code (mean, not sum, of the
token log-probabilities, clamped below at −10; method.md §1.6).

Legend: B batch, T tokens, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from trl.trainer.utils import selective_log_softmax

from swirl_wm.models.prompts import PLAIN, PromptFormat
from swirl_wm.records import Role

DEFAULT_MIN_LOGPROB = -10.0


def mean_token_logprob(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor,
                       min_logprob: float = DEFAULT_MIN_LOGPROB) -> torch.Tensor:
    """Mean log-probability of the masked label tokens, per row, clamped below.

    Args:
        logits: ``(B, T, V)`` next-token logits; ``logits[:, t]`` predicts ``labels[:, t]`` (already shifted).
        labels: ``(B, T)`` token ids.
        mask: ``(B, T)`` 1 where a token belongs to the scored span.
        min_logprob: lower clamp of the result (nats per token).

    Returns:
        ``(B,)`` mean log-probability in nats per token; a row with an empty span, or whose value is not
        finite (NaN logits, say), gets ``min_logprob``: the worst reward, never a NaN in the GRPO group.
    """
    # TRL's log_softmax → gather without the (B, T, V) log-softmax tensor (one row's logsumexp at a time)
    logprobs = selective_log_softmax(logits, labels).float()
    mask = mask.to(logprobs.dtype)
    count = mask.sum(-1)
    mean = (logprobs * mask).sum(-1) / count.clamp(min=1)
    valid = (count > 0) & torch.isfinite(mean)
    mean = torch.where(valid, mean, torch.full_like(mean, min_logprob))
    return mean.clamp(min=min_logprob)


class Scorer:
    """Scores ``log p(target | prompt)`` (mean per token) with a frozen causal LM, in batches.

    A plain callable holding the model (not an ``nn.Module``: TRL would take a module for a classifier
    reward model, trl-notes.md trap 6).

    Args:
        model: a causal LM (put in eval mode; gradients are never taken).
        tokenizer: its tokenizer; the target is scored with the EOS token appended.
        batch_size: rows per forward pass.
        min_logprob: lower clamp (−10 in the paper's code).
        max_length: prompt tokens are cut from the left so that prompt + target fits.
        prompt_format: the run's prompt format, which every prompt built for this model follows
            (:class:`~swirl_wm.models.prompts.PromptFormat`).
        trim_logits: compute the output layer only at the positions a batch's targets occupy (transformers'
            ``logits_to_keep`` with the positions' indices) instead of at every position; the same numbers,
            in far less time and memory when prompts are long and targets short (Phase I's ``log Q(z | x,
            ŷ)``; measured by ``swirl speed scorer``). False for a model whose forward lacks it.
    """

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch_size: int = 16,
                 min_logprob: float = DEFAULT_MIN_LOGPROB, max_length: int = 2048,
                 prompt_format: PromptFormat = PLAIN, trim_logits: bool = True) -> None:
        self.model = model.eval()
        self.trim_logits = trim_logits
        self.tokenizer = tokenizer
        self.prompt_format = prompt_format
        self.batch_size = batch_size
        self.min_logprob = min_logprob
        self.max_length = max_length
        self.nonfinite = 0  # rows whose logits held NaN/inf (scored as min_logprob), reported per phase

    def suppressed_tokens(self, role: Role | str) -> list[int]:
        """Token ids ``role`` (a :class:`~swirl_wm.records.Role` or its name) must not generate with this
        tokenizer: the run's state modality's decoding constraint
        (:meth:`~swirl_wm.modality.base.StateModality.suppressed_tokens`; none for text), less the
        end-of-sequence token, which every role may always write (every completion ends with it).

        Raises:
            ValueError: unknown role.
        """
        suppressed = self.prompt_format.state_modality.suppressed_tokens(self.tokenizer.get_vocab(), Role.of(role))
        return [i for i in suppressed if i != self.tokenizer.eos_token_id]

    def _encode(self, prompt: str, target: str) -> tuple[list[int], list[int]]:
        p = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        t = self.tokenizer(target + self.tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        t = t[: self.max_length - 1]
        return p[-(self.max_length - len(t)):], t

    @torch.no_grad()
    def __call__(self, prompts: Sequence[str], targets: Sequence[str], desc: str | None = None) -> list[float]:
        """Return ``mean_t log p(target_t | prompt, target_<t)`` for each pair, in nats per token.

        ``desc`` labels a progress bar over the batches (shown on a terminal; none when ``None``, as for the
        rewards TRL calls every step).

        Raises:
            ValueError: ``prompts`` and ``targets`` differ in length.
        """
        if len(prompts) != len(targets):
            raise ValueError(f"{len(prompts)} prompts but {len(targets)} targets")
        device = self.model.device
        pad = self.tokenizer.pad_token_id
        scores: list[float] = []
        for start in tqdm(range(0, len(prompts), self.batch_size), desc=desc, unit="batch", leave=False,
                          disable=None if desc else True):
            pairs = [self._encode(p, t) for p, t in zip(prompts[start:start + self.batch_size],
                                                        targets[start:start + self.batch_size], strict=True)]
            width = max(len(p) + len(t) for p, t in pairs)
            ids = torch.full((len(pairs), width), pad, dtype=torch.long)
            attention = torch.zeros_like(ids)
            span = torch.zeros_like(ids)
            for row, (p, t) in enumerate(pairs):
                ids[row, : len(p) + len(t)] = torch.tensor(p + t)
                attention[row, : len(p) + len(t)] = 1
                span[row, len(p): len(p) + len(t)] = 1
            ids, attention, span = ids.to(device), attention.to(device), span.to(device)
            # logits at position t predict ids[:, t + 1]; the targets' first token is predicted at len(p) - 1
            first = min(len(p) for p, _ in pairs) - 1 if self.trim_logits else 0
            last = width - 1  # exclusive: the last position predicts nothing
            kept = {"logits_to_keep": torch.arange(first, last, device=device)} if self.trim_logits else {}
            logits = self.model(input_ids=ids, attention_mask=attention, **kept).logits  # (B, last - first, V)
            logits = logits if self.trim_logits else logits[:, :-1]
            self.nonfinite += int((~torch.isfinite(logits).all(dim=-1).all(dim=-1)).sum())
            scores += mean_token_logprob(logits, ids[:, first + 1:], span[:, first + 1:], self.min_logprob).tolist()
        return scores
