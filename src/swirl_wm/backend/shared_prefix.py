"""One prompt encoding per GRPO group, for speed. TRL gets each prompt G times (its sampler repeats a
prompt for the G rows of its group) and would encode every copy, in sampling and again in every
log-probability pass (the reference model's, the policy's with its graph).

- **Sampling** (:func:`share_prompt_prefix`): the distinct prompts are encoded once, their KV cache is
  repeated G times, and ``generate`` goes on from it (transformers' prompt-cache reuse), so it only encodes
  each row's last prompt token before sampling. Same sampling order and random draws as without it.
- **Log-probabilities** (:func:`shared_prefix_logps`): the rows' distinct prompts (all but their last
  token) go through the model once, with a KV cache; each row's cache is its prompt's (an index, so the
  gradient of the G rows adds up in the prompt's pass); then each row's last prompt token and completion
  go through on top of it, and only those positions reach the output layer. Per group of G the model
  sees ``P + G (C + 1)`` tokens instead of ``G (P + C)`` (prompt P, completion C tokens): for Phase II's
  long prompts and short actions about 5x fewer. Positions, masks and temperature are TRL's, so the
  log-probabilities, entropies and gradients agree with TRL's to float tolerance
  (``tests/backend/test_shared_prefix.py``).

Rows that share no prompt (another caller, a ragged last batch) take the plain path.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache
from trl.trainer.utils import entropy_from_logits, selective_log_softmax


def _groups(input_ids: torch.Tensor, group_size: int) -> bool:
    """Whether the rows are consecutive runs of ``group_size`` identical prompts."""
    rows = input_ids.shape[0]
    if group_size < 2 or rows % group_size:
        return False
    grouped = input_ids.view(rows // group_size, group_size, -1)
    return bool((grouped == grouped[:, :1]).all())


def share_prompt_prefix(model: Any, group_size: int) -> None:
    """Make ``model.generate`` encode each distinct prompt of a G-fold repeated batch once.

    Args:
        model: the policy (a transformers causal LM or a peft model wrapping one).
        group_size: G, TRL's ``num_generations``.
    """
    plain = model.generate

    @torch.no_grad()
    def generate(input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                 **kwargs: Any) -> Any:
        if (input_ids is None or attention_mask is None or "past_key_values" in kwargs or input_ids.shape[1] < 2
                or not _groups(input_ids, group_size)):
            return plain(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        prompts, mask = input_ids[::group_size, :-1], attention_mask[::group_size, :-1]
        # the positions transformers' generate gives a left-padded prompt
        positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)
        cache = DynamicCache()
        model(input_ids=prompts, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True,
              logits_to_keep=1)
        cache.batch_repeat_interleave(group_size)
        return plain(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache, **kwargs)

    model.generate = generate


def shared_prefix_logps(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, logits_to_keep: int,
                        temperature: float, compute_entropy: bool,
                        targets: tuple[torch.Tensor, torch.Tensor] | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None] | None:
    """Per-token log-probabilities (and entropies) of the completions, each distinct prompt encoded once.

    Args:
        model: the policy or reference model (a transformers causal LM, or a peft model wrapping one).
        input_ids: ``(rows, P + C)`` token ids, left-padded prompts then right-padded completions (TRL's layout).
        attention_mask: ``(rows, P + C)``, 1 for a real token.
        logits_to_keep: ``C``, the completion length.
        temperature: the logits are divided by it (TRL's sampling temperature).
        compute_entropy: also return the entropy of each completion position's distribution.
        targets: ``(target_ids, target_mask)``, each ``(rows, T')``, right-padded: a second completion per row
            (Phase I's observed next state), scored in the same forward pass on the same prompt cache; rows
            with the same prompt and target are scored once.

    Returns:
        ``(logps, entropies, target_nll)``: ``logps`` and ``entropies`` ``(rows, C)`` in nats, 0 at padded
        completion positions (as TRL's fused head gives them), ``entropies`` ``None`` unless asked;
        ``target_nll`` ``(E,)``, the mean token negative log-likelihood (nats, at temperature 1) of each of
        the E distinct (prompt, target) pairs, ``None`` without ``targets``. ``None`` instead of the tuple
        when no two rows share a prompt and no targets are given (or the prompt is a single token), for the
        caller to take the plain path.
    """
    prompt_len = input_ids.shape[1] - logits_to_keep
    if prompt_len < 2:
        return None
    head = torch.cat([input_ids[:, : prompt_len - 1], attention_mask[:, : prompt_len - 1].to(input_ids.dtype)], 1)
    distinct, row_prompt = torch.unique(head, dim=0, return_inverse=True)
    if distinct.shape[0] == input_ids.shape[0] and targets is None:
        return None
    cache = DynamicCache()
    model(input_ids=distinct[:, : prompt_len - 1], attention_mask=distinct[:, prompt_len - 1:],
          past_key_values=cache, use_cache=True, logits_to_keep=1)
    tail, mask, cache_rows = input_ids[:, prompt_len - 1:], attention_mask, row_prompt
    if targets is not None:  # the target rows ride on the same cache and the same forward pass
        first, target_ids, target_mask = _target_rows(row_prompt, *targets)
        width = 1 + max(logits_to_keep, target_ids.shape[1])
        tail = torch.cat([_pad_right(tail, width), _pad_right(torch.cat(
            [input_ids[first, prompt_len - 1:prompt_len], target_ids], 1), width)])
        mask = torch.cat([_pad_right(attention_mask, prompt_len - 1 + width), _pad_right(torch.cat(
            [attention_mask[first, :prompt_len], target_mask], 1), prompt_len - 1 + width)])
        cache_rows = torch.cat([row_prompt, row_prompt[first]])
    cache.batch_select_indices(cache_rows)
    # positions continue from the cache (past length + arange), as in TRL's one pass over prompt + completion
    out = model(input_ids=tail, attention_mask=mask, past_key_values=cache, use_cache=True)
    rows = input_ids.shape[0]
    logits = out.logits[:rows, :logits_to_keep] / temperature
    pad = attention_mask[:, prompt_len:] == 0
    logps = selective_log_softmax(logits, input_ids[:, prompt_len:]).masked_fill(pad, 0.0)
    entropies = entropy_from_logits(logits).masked_fill(pad, 0.0) if compute_entropy else None
    if targets is None:
        return logps, entropies, None
    target_logits = out.logits[rows:, : target_ids.shape[1]]  # temperature 1: the model's own likelihood
    target_logps = selective_log_softmax(target_logits, target_ids) * target_mask
    return logps, entropies, -target_logps.sum(1) / target_mask.sum(1).clamp(min=1)


def _target_rows(row_prompt: torch.Tensor, target_ids: torch.Tensor, target_mask: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The first row of each distinct (prompt, target) pair, and that pair's target ids and mask."""
    key = torch.cat([row_prompt.unsqueeze(1), target_ids * target_mask, target_mask], 1)
    _, inverse = torch.unique(key, dim=0, return_inverse=True)
    rows = torch.arange(key.shape[0], device=key.device)
    first = torch.full((int(inverse.max()) + 1,), key.shape[0], device=key.device).scatter_reduce(
        0, inverse, rows, reduce="amin")
    return first, target_ids[first], target_mask[first]


def _pad_right(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """``tensor`` ``(rows, w)`` padded with zeros on the right to ``(rows, width)`` (masked positions)."""
    return torch.nn.functional.pad(tensor, (0, width - tensor.shape[1]))
