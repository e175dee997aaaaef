"""GRPO sampling with one prompt prefill per group (issue #14): TRL's generation gets each prompt G times
(its sampler repeats a prompt for the G rows of its group, consecutively) and transformers' ``generate``
would encode every copy. Here the distinct prompts are encoded once, their KV cache is repeated G times,
and ``generate`` goes on from it (transformers' prompt-cache reuse), so it only encodes each row's last
prompt token before sampling. Same sampling order and random draws as without it; the logits agree to
float tolerance (``tests/backend/test_shared_prefix.py``).

Installed on the policy by :func:`share_prompt_prefix` (an instance attribute over ``generate``); rows
that are not G-fold repeats of distinct prompts (another caller, a ragged last batch) take the plain path.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache


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
