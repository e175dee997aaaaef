"""Group-relative advantages of GRPO, as SWIRL uses them (method.md §1.6).

TRL's GRPOTrainer computes the same quantity inline (``scale_rewards="group"``, in
``_generate_and_score_completions``); this reference implementation documents the formula, and
tests/test_objectives.py checks it against values computed by hand.
"""

from __future__ import annotations

import torch

STD_EPS = 1e-4


def group_advantages(rewards: torch.Tensor, num_generations: int) -> torch.Tensor:
    """``A_k = (R_k − mean_G R) / (std_G R + 1e-4)`` within each group of ``num_generations`` samples.

    Args:
        rewards: ``(B·G,)`` rewards, the G samples of one prompt contiguous.
        num_generations: G.

    Returns:
        ``(B·G,)`` advantages. ``std`` is the unbiased sample standard deviation (as TRL).

    Raises:
        ValueError: the length is not a multiple of G.

    Source: SWIRL §3.3–3.4 (GRPO), released code: ``(R − mean) / (std + 1e-4)``.
    """
    if rewards.numel() % num_generations:
        raise ValueError(f"{rewards.numel()} rewards are not a multiple of num_generations={num_generations}")
    grouped = rewards.view(-1, num_generations)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, keepdim=True)
    return ((grouped - mean) / (std + STD_EPS)).view(-1)
