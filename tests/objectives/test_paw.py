"""PaW's math (objectives/paw.py): hand-computed values on tiny tensors, gradients against the analytic form,
and a few property tests."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.objectives.paw import (
    masked_mean,
    mixed_group_fraction,
    paw_loss,
    reward_adaptive_weight,
    select_by_entropy,
    selected_count,
    token_entropy,
    wm_token_loss,
)

_quick = settings(max_examples=40, deadline=None)


def _logprobs(probs: list[list[float]]) -> torch.Tensor:
    return torch.tensor(probs, dtype=torch.float64).log()


# --- entropy and selection -------------------------------------------------------------------------------


def test_token_entropy_by_hand_on_a_three_token_vocabulary():
    quarter = torch.tensor([0.5, 0.25, 0.25]).log()  # H = ½ ln 2 + ½ ln 4 = 1.5 ln 2
    uniform = torch.zeros(3)  # H = ln 3
    certain = torch.tensor([0.0, -math.inf, -math.inf])  # H = 0, no NaN from 0 · log 0
    peaked = torch.tensor([1000.0, 0.0, 0.0])  # H ≈ 0, no overflow
    garbage = torch.full((3,), math.nan)  # a padding position, masked out: never read
    logits = torch.stack([torch.stack([quarter, uniform, garbage]), torch.stack([certain, peaked, uniform]),
                          torch.stack([uniform, uniform, garbage])])
    mask = torch.tensor([[True, True, False], [True, True, False], [False, False, False]])
    got = token_entropy(logits, mask)
    assert got.tolist() == pytest.approx([(1.5 * math.log(2) + math.log(3)) / 2, 0.0, 0.0], abs=1e-6)
    with pytest.raises(ValueError, match="do not match mask"):
        token_entropy(logits, mask[:, :2])


def test_masked_mean_is_zero_without_tokens():
    values = torch.tensor([[1.0, 2.0, 4.0], [5.0, 5.0, 5.0]])
    mask = torch.tensor([[True, False, True], [False, False, False]])
    assert masked_mean(values, mask).tolist() == [2.5, 0.0]


@pytest.mark.parametrize(("alpha", "n", "kept"), [
    (0.75, 8, 6), (0.75, 4, 3), (0.7, 10, 7), (0.3, 10, 3), (0.1, 3, 1), (1.0, 3, 3), (0.5, 1, 1), (0.75, 0, 0),
])
def test_selected_count_is_the_ceiling_without_float_noise(alpha, n, kept):
    assert selected_count(n, alpha) == kept


def test_select_by_entropy_with_ties_and_interleaved_groups():
    # group 0 at indices 0, 2, 4, 6; group 1 at 1, 3, 5, 7
    entropy = torch.tensor([0.3, 0.2, 0.3, 0.9, 0.3, 0.5, 0.1, 0.9])
    group_ids = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    half = select_by_entropy(entropy, group_ids, alpha=0.5)
    assert half.nonzero().squeeze(1).tolist() == [0, 2, 3, 7]  # three-way tie in group 0: lowest indices win
    default = select_by_entropy(entropy, group_ids)  # α = 0.75 → 3 of 4
    assert default.nonzero().squeeze(1).tolist() == [0, 2, 3, 4, 5, 7]
    assert select_by_entropy(entropy, group_ids, alpha=1.0).all()


@pytest.mark.parametrize(("entropy", "group_ids", "alpha", "match"), [
    (torch.ones(2), torch.zeros(2, dtype=torch.long), 0.0, r"alpha=0.0 must lie in \(0, 1\]"),
    (torch.ones(2), torch.zeros(2, dtype=torch.long), 1.5, "alpha=1.5"),
    (torch.tensor([1.0, math.nan]), torch.zeros(2, dtype=torch.long), 0.75, "sample 1: entropy nan"),
    (torch.ones(2), torch.zeros(3, dtype=torch.long), 0.75, "must be"),
    (torch.ones(2), torch.zeros(2), 0.75, "integers"),
])
def test_select_by_entropy_refuses_bad_input(entropy, group_ids, alpha, match):
    with pytest.raises(ValueError, match=match):
        select_by_entropy(entropy, group_ids, alpha)


@_quick
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0, 1.5])), min_size=1, max_size=20),
       st.sampled_from([0.1, 0.25, 0.5, 0.7, 0.75, 1.0]))
def test_selection_keeps_ceil_alpha_n_of_each_group_and_the_highest(samples, alpha):
    group_ids = torch.tensor([g for g, _ in samples])
    entropy = torch.tensor([h for _, h in samples])
    selected = select_by_entropy(entropy, group_ids, alpha)
    for group in group_ids.unique():
        members = group_ids == group
        assert int(selected[members].sum()) == math.ceil(round(alpha * int(members.sum()), 9))
        if not selected[members].all():
            assert entropy[members & selected].min() >= entropy[members & ~selected].max()


# --- world-model loss ------------------------------------------------------------------------------------


def test_wm_loss_kinds_by_hand_where_the_two_readings_differ():
    token_logprobs = _logprobs([[0.1, 0.5, 0.9, 0.05], [0.5, 0.5, 0.5, 0.5]])
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])  # 0.05 is padding
    count_low = wm_token_loss(token_logprobs, mask, "mae_count_low", rho=0.2)  # (A): only p ≤ 0.2 counts
    ignore_low = wm_token_loss(token_logprobs, mask, "mae_ignore_low", rho=0.2)  # (B): p < 0.2 is noise
    assert count_low.tolist() == pytest.approx([0.9, 0.0])  # sample 1 has no counted token
    assert ignore_low.tolist() == pytest.approx([(0.5 + 0.1) / 2, 0.5])
    assert wm_token_loss(token_logprobs, mask, "mae").tolist() == pytest.approx([(0.9 + 0.5 + 0.1) / 3, 0.5])
    ce = -(math.log(0.1) + math.log(0.5) + math.log(0.9)) / 3
    assert wm_token_loss(token_logprobs, mask, "ce").tolist() == pytest.approx([ce, math.log(2)])


def test_both_readings_count_a_token_at_exactly_rho():
    token_logprobs = _logprobs([[0.25]])
    rho = float(token_logprobs.exp())
    mask = torch.ones(1, 1, dtype=torch.bool)
    for kind in ("mae_count_low", "mae_ignore_low"):
        assert wm_token_loss(token_logprobs, mask, kind, rho=rho).item() == pytest.approx(0.75)


def _aligned_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def test_mae_gradient_matches_the_analytic_value():
    logits = torch.tensor([[[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-3.0, 1.0, 0.0]]], dtype=torch.float64,
                          requires_grad=True)
    targets = torch.tensor([[0, 2, 1]])
    mask = torch.tensor([[True, True, False]])
    wm_token_loss(_aligned_logprobs(logits, targets), mask, "mae").sum().backward()
    probs = torch.softmax(logits.detach(), dim=-1)
    one_hot = torch.nn.functional.one_hot(targets, 3).double()
    p_true = (probs * one_hot).sum(-1, keepdim=True)
    # ℓ = 1 − p_y, ∂ℓ/∂z_v = p_y (p_v − 1[v = y]); the sample loss is the mean over its 2 counted tokens
    expected = p_true * (probs - one_hot) / 2 * mask.unsqueeze(-1)
    assert torch.allclose(logits.grad, expected, atol=1e-12)


def test_clipped_losses_send_no_gradient_to_uncounted_tokens():
    logits = torch.tensor([[[0.0, 0.0, 0.0], [4.0, 0.0, 0.0]]], dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([[0, 0]])  # p = 1/3 and p ≈ 0.96
    mask = torch.ones(1, 2, dtype=torch.bool)
    wm_token_loss(_aligned_logprobs(logits, targets), mask, "mae_ignore_low", rho=0.5).sum().backward()
    assert logits.grad[0, 0].abs().max() == 0 and logits.grad[0, 1].abs().max() > 0
    logits.grad = None
    wm_token_loss(_aligned_logprobs(logits, targets), mask, "mae_count_low", rho=0.5).sum().backward()
    assert logits.grad[0, 0].abs().max() > 0 and logits.grad[0, 1].abs().max() == 0


def test_ce_gradient_is_softmax_minus_one_hot():
    logits = torch.tensor([[[1.0, -1.0, 0.5]]], dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([[1]])
    wm_token_loss(_aligned_logprobs(logits, targets), torch.ones(1, 1, dtype=torch.bool), "ce").sum().backward()
    expected = torch.softmax(logits.detach(), -1) - torch.nn.functional.one_hot(targets, 3).double()
    assert torch.allclose(logits.grad, expected, atol=1e-12)


@pytest.mark.parametrize(("kind", "rho", "match"), [
    ("mse", 0.2, "unknown WM loss kind 'mse'"), ("mae_count_low", 1.5, "rho=1.5"), ("mae_ignore_low", -0.1, "rho"),
])
def test_wm_loss_refuses_bad_options(kind, rho, match):
    with pytest.raises(ValueError, match=match):
        wm_token_loss(torch.zeros(1, 1), torch.ones(1, 1, dtype=torch.bool), kind, rho=rho)


@_quick
@given(st.lists(st.lists(st.tuples(st.floats(1e-6, 1.0), st.booleans()), min_size=3, max_size=3),
                min_size=1, max_size=4),
       st.floats(0.0, 1.0))
def test_mae_losses_lie_in_zero_one_and_below_cross_entropy(tokens, rho):
    token_logprobs = torch.tensor([[p for p, _ in row] for row in tokens], dtype=torch.float64).log()
    mask = torch.tensor([[m for _, m in row] for row in tokens])
    for kind in ("mae_count_low", "mae_ignore_low", "mae"):
        loss = wm_token_loss(token_logprobs, mask, kind, rho=rho)
        assert ((loss >= 0) & (loss <= 1)).all()
    # 1 − p ≤ −log p token by token, so the unclipped means keep the order
    assert (wm_token_loss(token_logprobs, mask, "mae") <= wm_token_loss(token_logprobs, mask, "ce") + 1e-12).all()


# --- weighting and total loss ----------------------------------------------------------------------------


def test_reward_adaptive_weight_clips_at_both_ends():
    got = reward_adaptive_weight(torch.tensor([-0.5, 0.0, 0.25, 1.0, 2.0]), r_max=1.0)
    assert got.tolist() == pytest.approx([1.0, 1.0, 0.75, 0.0, 0.0])
    assert reward_adaptive_weight(torch.tensor([5.0]), r_max=10.0).tolist() == pytest.approx([0.5])
    for r_max in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="r_max"):
            reward_adaptive_weight(torch.tensor([0.5]), r_max=r_max)
    with pytest.raises(ValueError, match="group 1: mean return nan"):
        reward_adaptive_weight(torch.tensor([0.5, math.nan]), r_max=1.0)


def test_paw_loss_by_hand():
    rl_loss = torch.tensor(1.0, requires_grad=True)
    wm_loss = torch.tensor([0.2, 0.4, 0.6, 0.8, 1.0], requires_grad=True)
    selected = torch.tensor([True, True, False, True, False])
    group_ids = torch.tensor([0, 0, 0, 1, 2])
    lambdas = torch.tensor([0.5, 1.0, 0.25, 0.9])  # group 3 is not in this batch: not in the mean
    got = paw_loss(rl_loss, wm_loss, selected, group_ids, lambdas)
    # groups: 0 → 0.5 · mean(0.2, 0.4); 1 → 1.0 · 0.8; 2 → no selected sample, 0; mean over the 3 present
    assert got.item() == pytest.approx(1.0 + (0.5 * 0.3 + 0.8 + 0.0) / 3)
    got.backward()
    assert rl_loss.grad.item() == 1.0
    assert wm_loss.grad.tolist() == pytest.approx([0.5 / 2 / 3, 0.5 / 2 / 3, 0.0, 1.0 / 3, 0.0])


def test_paw_loss_with_zero_weights_is_the_rl_loss():
    rl_loss = torch.tensor(0.7)
    wm_loss = torch.tensor([0.3, math.nan])  # an unselected sample's loss is never read
    got = paw_loss(rl_loss, wm_loss, torch.tensor([True, False]), torch.tensor([0, 0]), torch.tensor([0.0]))
    assert got.item() == pytest.approx(0.7)


@pytest.mark.parametrize(("rl_loss", "group_ids", "match"), [
    (torch.ones(2), torch.tensor([0, 1]), "rl_loss must be a scalar"),
    (torch.tensor(1.0), torch.tensor([0, 2]), r"sample 1: group id 2 is outside \[0, 2\)"),
    (torch.tensor(1.0), torch.tensor([0.0, 1.0]), "integers"),
    (torch.tensor(1.0), torch.tensor([0]), "must all be"),
])
def test_paw_loss_refuses_bad_input(rl_loss, group_ids, match):
    with pytest.raises(ValueError, match=match):
        paw_loss(rl_loss, torch.ones(2), torch.ones(2, dtype=torch.bool), group_ids, torch.ones(2))


def test_the_pieces_compose_on_a_hand_laid_out_batch():
    # two groups of two steps; vocabulary of 3; one forward pass per sample
    torch.manual_seed(0)
    # layout prompt | action | observation | padding per sample: (prompt, action, observation) lengths
    pos = torch.arange(6)
    policy = torch.stack([(pos >= p) & (pos < p + a) for p, a, _ in ((2, 1, 2), (2, 2, 1), (1, 1, 2), (2, 1, 1))])
    wm = torch.stack([(pos >= p + a) & (pos < p + a + o) for p, a, o in ((2, 1, 2), (2, 2, 1), (1, 1, 2), (2, 1, 1))])
    raw_logits = torch.randn(4, 6, 3, dtype=torch.float64, requires_grad=True)
    input_ids = torch.randint(0, 3, (4, 6))
    logits, targets, policy, wm = raw_logits[:, :-1], input_ids[:, 1:], policy[:, 1:], wm[:, 1:]  # next-token shift
    group_ids = torch.tensor([0, 0, 1, 1])
    with torch.no_grad():
        selected = select_by_entropy(token_entropy(logits, policy), group_ids, alpha=0.5)
    wm_loss = wm_token_loss(_aligned_logprobs(logits, targets), wm, "mae")
    lambdas = reward_adaptive_weight(torch.tensor([0.0, 1.0]), r_max=1.0)  # group 1 solved: λ = 0
    loss = paw_loss(torch.tensor(0.0), wm_loss, selected, group_ids, lambdas)
    loss.backward()
    assert selected.tolist().count(True) == 2
    kept = selected.nonzero().squeeze(1).tolist()
    for i in range(4):
        touched = bool(raw_logits.grad[i].abs().sum() > 0)
        assert touched == (i in kept and group_ids[i] == 0)


def test_mixed_groups_are_those_with_unequal_returns() -> None:
    # G = 4: [0 0 0 0] all failed, [1 0 0 0] mixed, [1 1 1 1] all won, [0 1 0 1] mixed → 2 of 4 groups.
    returns = [0.0] * 4 + [1.0, 0.0, 0.0, 0.0] + [1.0] * 4 + [0.0, 1.0, 0.0, 1.0]
    assert mixed_group_fraction(returns, 4) == 0.5
    assert mixed_group_fraction(returns, 2) == 3 / 8  # [1 0], [0 1], [0 1] of eight pairs
    assert mixed_group_fraction(returns, 1) == 0.0  # a group of one has advantage 0
    with pytest.raises(ValueError, match="groups of 3"):
        mixed_group_fraction(returns, 3)
