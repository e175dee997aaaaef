"""PaW's method-specific math: policy and world-model co-training on the same rollouts (arXiv:2606.02388).

One training sample per rollout step ``t`` is the token sequence ``[prompt_t][a_t][o_{t+1}]``, right-padded,
processed in one forward pass. The RL loss trains the action tokens (policy mask), the auxiliary world-model
(WM) loss trains the next-observation tokens (WM mask). The pieces, in the order a training step uses them:

1. :func:`token_entropy` — mean action entropy per sample, for the data selection (the agent rollouts
   compute it with this function as they sample);
2. :func:`select_by_entropy` — keep the top ``α`` of each group by action entropy (α = 0.75);
3. :func:`wm_token_loss` — noise-tolerant WM loss on the observation tokens (MAE on ``p``, clip ρ = 0.2);
4. :func:`reward_adaptive_weight` — ``λ_g = clip(1 − R̄_g / R_max, 0, 1)``;
5. :func:`paw_loss` — ``L_RL + mean_g λ_g · L_WM(S_{α,g})``.

The policy and WM masks come from the rollouts' token layout (``agents/rollouts.py``, TRL's completion
mask), not from this module.

Alignment convention (all functions): position ``i`` of a per-token tensor belongs to token ``i`` of the
sequence — logits at ``i`` are the distribution that *predicts* token ``i``, log-probs at ``i`` are those of
token ``i``. TRL's per-token ``logps``/``entropies`` already follow it; raw causal-LM logits (where position
``i`` predicts token ``i + 1``) are shifted by one first (``logits[:, :-1]`` against ``input_ids[:, 1:]``).

Shape legend (style.md): B samples (rollout steps), T tokens, V vocabulary, K groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, get_args

import torch

ALPHA = 0.75  # PaW §method (method.md §2): top 75 % of each group by action entropy
RHO = 0.2  # PaW §method (method.md §2): clip of the noise-tolerant WM loss

WMLossKind = Literal["mae_count_low", "mae_ignore_low", "mae", "ce"]
WM_LOSS_KINDS: tuple[str, ...] = get_args(WMLossKind)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample mean of ``values`` over the True positions of ``mask``; 0 for a sample with none.

    Args:
        values: ``(B, T)`` per-token values (e.g. TRL's per-token ``entropies``). Values at masked-out
            positions are never read, so padding may hold anything (even NaN).
        mask: ``(B, T)`` bool.

    Returns:
        ``(B,)`` in the units of ``values``.

    Raises:
        ValueError: the shapes differ.

    Source: the per-sample token average PaW uses for entropy and WM loss (method.md §2).
    """
    if values.shape != mask.shape:
        raise ValueError(f"values {tuple(values.shape)} and mask {tuple(mask.shape)} differ in shape")
    mask = mask.bool()
    total = torch.where(mask, values, torch.zeros((), dtype=values.dtype, device=values.device)).sum(dim=-1)
    return total / mask.sum(dim=-1).clamp(min=1)


def token_entropy(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean per-token entropy of the policy over the masked (action) positions of each sample.

    ``H_i = mean_{j ∈ mask_i} −Σ_v π(v | ·_j) log π(v | ·_j)``, computed from ``log_softmax`` in float32 (stable
    for large logits; ``−inf`` logits contribute 0).

    Args:
        logits: ``(B, T, V)`` aligned logits (position ``j`` predicts token ``j``: raw logits shifted by one).
            Pass the logits the rollout was sampled from (divided by the sampling temperature, as TRL's
            log-prob pass does) so the score matches the policy that acted. Only needed for selection: call it
            under ``torch.no_grad()``. With TRL's per-token ``entropies`` at hand, use :func:`masked_mean`.
        mask: ``(B, T)`` bool, the policy (action) mask.

    Returns:
        ``(B,)`` entropy in nats; 0 for a sample with no masked token.

    Raises:
        ValueError: ``logits`` is not ``(B, T, V)`` matching ``mask``.

    Source: PaW (arXiv:2606.02388) §method, action-entropy data selection (method.md §2).
    """
    if logits.ndim != 3 or logits.shape[:2] != mask.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match mask {tuple(mask.shape)} as (B, T, V)")
    logp = torch.log_softmax(logits.float(), dim=-1)
    # p·log p → 0 as p → 0; clamping −inf keeps 0·(−inf) from turning into NaN
    per_token = -(logp.exp() * logp.clamp(min=torch.finfo(logp.dtype).min)).sum(dim=-1)
    return masked_mean(per_token, mask)


def selected_count(group_size: int, alpha: float = ALPHA) -> int:
    """``ceil(α · n)`` samples kept in a group of ``n``; at least 1 for any α > 0 and n ≥ 1.

    ``α · n`` is rounded to 9 decimals before the ceiling, so float noise does not add a sample
    (``0.7 · 10 = 7.000000000000001`` keeps 7, not 8).

    Raises:
        ValueError: α outside (0, 1] or ``group_size`` negative.

    Source: PaW (arXiv:2606.02388) §method, "keep the top α = 0.75" (method.md §2); ceil is our choice
    (G = 8 gives 6 either way; ceil never empties a group).
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha={alpha} must lie in (0, 1]")
    if group_size < 0:
        raise ValueError(f"group_size={group_size} is negative")
    return math.ceil(round(alpha * group_size, 9))


def select_by_entropy(entropy: torch.Tensor, group_ids: torch.Tensor, alpha: float = ALPHA) -> torch.Tensor:
    """Keep, within each group, the ``ceil(α · n_g)`` samples with the highest action entropy.

    Ties are broken by position: the lower index is kept first (a stable descending sort).

    Args:
        entropy: ``(B,)`` mean action entropy per sample (:func:`token_entropy`), nats, finite.
        group_ids: ``(B,)`` integer group label per sample (any values; groups need not be contiguous).
        alpha: fraction kept per group, in (0, 1]; default 0.75 (PaW).

    Returns:
        ``(B,)`` bool, True for the selected samples ``S_{α,g}``.

    Raises:
        ValueError: shapes differ or are not 1-D, ``group_ids`` not integers, an entropy is not finite, or
            α outside (0, 1].

    Source: PaW (arXiv:2606.02388) §method, action-entropy data selection (method.md §2).
    """
    if entropy.ndim != 1 or entropy.shape != group_ids.shape:
        raise ValueError(f"entropy {tuple(entropy.shape)} and group_ids {tuple(group_ids.shape)} must be (B,)")
    if group_ids.is_floating_point() or group_ids.is_complex():
        raise ValueError(f"group_ids must be integers, got {group_ids.dtype}")
    bad = (~torch.isfinite(entropy)).nonzero()
    if bad.numel():
        raise ValueError(f"sample {int(bad[0])}: entropy {float(entropy[bad[0]])} is not finite")
    selected_count(0, alpha)  # validates alpha even for an empty batch
    selected = torch.zeros_like(entropy, dtype=torch.bool)
    for group in torch.unique(group_ids):
        members = (group_ids == group).nonzero().squeeze(1)  # ascending indices
        order = torch.sort(entropy[members].detach(), descending=True, stable=True).indices
        selected[members[order[:selected_count(members.numel(), alpha)]]] = True
    return selected


def wm_token_loss(token_logprobs: torch.Tensor, wm_mask: torch.Tensor, kind: WMLossKind = "mae_count_low",
                  rho: float = RHO) -> torch.Tensor:
    """Per-sample world-model loss on the next-observation tokens; ``p`` = probability of the true token.

    Per token, by ``kind``:

    - ``"mae_count_low"`` — reading (A) of PaW's clip: ``ℓ = 1 − p``, "count a token only while ``p ≤ ρ``"
      (tokens the model already predicts with ``p > ρ`` stop contributing);
    - ``"mae_ignore_low"`` — reading (B): ``ℓ = 1 − p``, "ignore tokens with ``p < ρ`` as noise" (tokens
      with ``p ≥ ρ`` are counted);
    - ``"mae"`` — ``ℓ = 1 − p`` on every token, no clip;
    - ``"ce"`` — ``ℓ = −log p``, plain cross-entropy (the ablation).

    The loss of a sample is the mean of ``ℓ`` over its *counted* tokens (0 if none). Whether a token is
    counted depends on ``p`` without gradient; the gradient flows through ``p`` of the counted tokens only
    (for ``"mae"``: ``∂ℓ/∂z_v = p · (p_v − 1[v = y])``, ``z`` the logits, ``y`` the true token).

    Args:
        token_logprobs: ``(B, T)`` log-probability of the true token at each position, aligned (position ``i``
            holds ``log p(token_i | tokens_<i)``) — e.g. TRL's per-token ``logps`` or
            ``trl.trainer.utils.selective_log_softmax(logits, targets)``; taking log-probs rather than
            ``(B, T, V)`` logits avoids a full-vocabulary softmax.
        wm_mask: ``(B, T)`` bool, the observation tokens ``o_{t+1}``.
        kind: one of ``"mae_count_low"``, ``"mae_ignore_low"``, ``"mae"``, ``"ce"``.
        rho: clip threshold ρ in [0, 1] for the two clipped kinds (ignored otherwise); default 0.2 (PaW).

    Returns:
        ``(B,)`` loss; unitless in [0, 1] for the MAE kinds, nats for ``"ce"``.

    Raises:
        ValueError: unknown ``kind``, ``rho`` outside [0, 1], or shapes differ.

    Source: PaW (arXiv:2606.02388) §method, noise-tolerant WM loss (method.md §2: "per observation token
    ℓ = 1 − p … 'clipped' with ρ = 0.2. The direction of the clip is ambiguous … (A) count a token only while
    p ≤ ρ, or (B) ignore tokens with p < ρ as noise").
    """
    if kind not in WM_LOSS_KINDS:
        raise ValueError(f"unknown WM loss kind {kind!r}; choose one of {', '.join(WM_LOSS_KINDS)}")
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho={rho} must lie in [0, 1]")
    if token_logprobs.shape != wm_mask.shape:
        raise ValueError(f"token_logprobs {tuple(token_logprobs.shape)} and wm_mask {tuple(wm_mask.shape)} "
                         "differ in shape")
    if kind == "ce":
        return masked_mean(-token_logprobs, wm_mask)
    p = token_logprobs.exp()
    counted = wm_mask.bool()
    if kind == "mae_count_low":
        counted = counted & (p.detach() <= rho)
    elif kind == "mae_ignore_low":
        counted = counted & (p.detach() >= rho)
    return masked_mean(1.0 - p, counted)


def reward_adaptive_weight(group_returns_mean: torch.Tensor, r_max: float) -> torch.Tensor:
    """``λ_g = clip(1 − R̄_g / R_max, 0, 1)``: failing groups get more world-model supervision.

    Args:
        group_returns_mean: ``(K,)`` mean episode return ``R̄_g`` of each group — the mean over the group's
            G rollouts, not over its steps (a long episode has more steps but one return).
        r_max: the maximum achievable return of the task, > 0 (e.g. 1 for success/failure rewards).

    Returns:
        ``(K,)`` weights in [0, 1], without gradient.

    Raises:
        ValueError: ``r_max`` not a finite positive number, or a mean return not finite.

    Source: PaW (arXiv:2606.02388) §method, reward-adaptive weight (method.md §2).
    """
    if not (math.isfinite(r_max) and r_max > 0):
        raise ValueError(f"r_max={r_max} must be a finite positive number (the maximum achievable return)")
    bad = (~torch.isfinite(group_returns_mean)).nonzero()
    if bad.numel():
        raise ValueError(f"group {int(bad[0])}: mean return {float(group_returns_mean[bad[0]])} is not finite")
    return (1.0 - group_returns_mean.detach() / r_max).clamp(0.0, 1.0)


def paw_loss(rl_loss: torch.Tensor, wm_loss: torch.Tensor, selected: torch.Tensor, group_ids: torch.Tensor,
             lambdas: torch.Tensor) -> torch.Tensor:
    """PaW's total loss ``L = L_RL + mean_g λ_g · mean_{i ∈ S_{α,g}} L_WM(i)``.

    The paper writes ``L = Σ_g [L_RL(g) + λ_g · L_WM(S_{α,g})]``. GRPO's own loss (TRL's) is a mean over the
    batch, so we take the mean over groups instead of the sum: dividing both terms by the number of groups K
    keeps their ratio — the weighting of RL against WM — exactly the paper's, and keeps the loss scale (hence
    the learning rate) independent of how many groups a batch holds. The mean runs over the groups present in
    ``group_ids``; a group with no selected sample contributes ``λ_g · 0``.

    Args:
        rl_loss: ``()`` the RL loss of the batch, already a mean (TRL's GRPO loss; for per-group losses pass
            their mean).
        wm_loss: ``(B,)`` per-sample WM loss (:func:`wm_token_loss`).
        selected: ``(B,)`` bool, the samples in ``S_{α,g}`` (:func:`select_by_entropy`).
        group_ids: ``(B,)`` integer group of each sample, in ``[0, K)``: ``lambdas[g]`` weights group ``g``.
        lambdas: ``(K,)`` per-group weights (:func:`reward_adaptive_weight`).

    Returns:
        ``()`` scalar; gradient flows into ``rl_loss`` and the selected entries of ``wm_loss``.

    Raises:
        ValueError: ``rl_loss`` not a scalar, shapes disagree, ``group_ids`` not integers or outside
            ``[0, K)``.

    Source: PaW (arXiv:2606.02388) §method, total objective (method.md §2).
    """
    if rl_loss.ndim != 0:
        raise ValueError(f"rl_loss must be a scalar (the batch mean), got shape {tuple(rl_loss.shape)}")
    if not wm_loss.ndim == 1 or not wm_loss.shape == selected.shape == group_ids.shape:
        raise ValueError(f"wm_loss {tuple(wm_loss.shape)}, selected {tuple(selected.shape)} and group_ids "
                         f"{tuple(group_ids.shape)} must all be (B,)")
    if lambdas.ndim != 1:
        raise ValueError(f"lambdas must be (K,), got shape {tuple(lambdas.shape)}")
    if group_ids.is_floating_point() or group_ids.is_complex():
        raise ValueError(f"group_ids must be integers, got {group_ids.dtype}")
    num_groups = lambdas.numel()
    bad = ((group_ids < 0) | (group_ids >= num_groups)).nonzero()
    if bad.numel():
        raise ValueError(f"sample {int(bad[0])}: group id {int(group_ids[bad[0]])} is outside [0, {num_groups}) "
                         "(one lambda per group)")
    if wm_loss.numel() == 0:
        return rl_loss
    group_ids = group_ids.long()
    selected = selected.bool()
    kept = torch.where(selected, wm_loss, torch.zeros((), dtype=wm_loss.dtype, device=wm_loss.device))
    sums = wm_loss.new_zeros(num_groups).index_add(0, group_ids, kept)
    counts = wm_loss.new_zeros(num_groups).index_add(0, group_ids, selected.to(wm_loss.dtype))
    per_group = sums / counts.clamp(min=1)
    present = torch.bincount(group_ids, minlength=num_groups) > 0
    wm_term = (lambdas.to(per_group) * per_group)[present].sum() / present.sum()
    return rl_loss + wm_term


def mixed_group_fraction(returns: Sequence[float], group_size: int) -> float:
    """The fraction of groups whose returns are not all equal: the groups with a non-zero advantage, the only
    ones that give GRPO's policy-gradient term a signal (an all-won or all-failed group has advantage 0).

    Args:
        returns: episode returns, shape (K·G,), a group's G copies consecutive (TRL's order).
        group_size: G.

    Returns:
        A fraction in [0, 1].

    Raises:
        ValueError: the returns do not split into groups of ``group_size``.

    Source: GRPO's group advantage (DeepSeekMath, arXiv:2402.03300, §4.1.2): r_i − mean_g(r) is 0 for every
    member of a group with equal rewards.
    """
    if group_size < 1 or not returns or len(returns) % group_size:
        raise ValueError(f"{len(returns)} returns do not split into groups of {group_size}")
    groups = [returns[i:i + group_size] for i in range(0, len(returns), group_size)]
    return sum(max(g) != min(g) for g in groups) / len(groups)
