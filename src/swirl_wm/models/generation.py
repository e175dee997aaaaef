"""Batched text generation from prompts (left padding), greedy or sampled.

Used for evaluation (greedy FWM next states and IDM actions) and for Phase I's latent actions
(method.md §1.6: ``sample`` with T = 0.7, top-p = 0.96, or ``greedy``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase


@torch.no_grad()
def generate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str],
             max_new_tokens: int, *, do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0,
             batch_size: int = 16, seed: int | None = None, desc: str = "generate",
             suppress_tokens: Sequence[int] = ()) -> list[str]:
    """Complete each prompt; returns the new text only, special tokens removed, stripped.

    Args:
        prompts: B prompt strings (already templated; no special tokens are added).
        max_new_tokens: generation budget per prompt (tokens).
        do_sample: sample with ``temperature`` and ``top_p``; greedy otherwise.
        seed: seeds torch's generator before sampling, for reproducible latent actions.
        desc: label of the progress bar (shown on a terminal).
        suppress_tokens: token ids never generated (the state modality's decoding constraint of the role,
            :meth:`~swirl_wm.models.scoring.Scorer.suppressed_tokens`); empty = none.
    """
    if seed is not None:
        torch.manual_seed(seed)
    model.eval()
    outputs: list[str] = []
    for start in tqdm(range(0, len(prompts), batch_size), desc=desc, unit="batch", disable=None, leave=False):
        batch = tokenizer(list(prompts[start:start + batch_size]), return_tensors="pt", padding=True,
                          padding_side="left", add_special_tokens=False).to(model.device)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if do_sample else {
            "do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if suppress_tokens:
            sampling["suppress_tokens"] = list(suppress_tokens)
        out = model.generate(**batch, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                             eos_token_id=tokenizer.eos_token_id, **sampling)
        new = out[:, batch["input_ids"].shape[1]:]
        outputs += [text.strip() for text in tokenizer.batch_decode(new, skip_special_tokens=True)]
    return outputs
