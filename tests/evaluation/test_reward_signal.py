"""The Phase I and Phase II signal diagnostics: within-group correlation of reward and quality, best-of-group
gain; Phase II's groups of sampled actions."""

from __future__ import annotations

import math
import statistics

import pytest

from swirl_wm.evaluation.reward_signal import action_quality, group_figures, sample_action_groups, sample_quality
from swirl_wm.metrics import summarise
from swirl_wm.models.scoring import Scorer
from swirl_wm.records import Transition

X = "width=8 | ball: pos=4 vel=0 temp=90 | jar: pos=2 vel=0 temp=40"
HEATED = "width=8 | ball: pos=4 vel=0 temp=100 | jar: pos=2 vel=0 temp=40"


def test_group_figures_by_hand() -> None:
    aligned = {"samples": ["a", "b", "c"], "rewards": [-1.0, -0.5, -0.1], "quality": [0.0, 0.5, 1.0]}
    flat = {"samples": ["a", "a", "a"], "rewards": [-0.3, -0.3, -0.3], "quality": [0.5, 0.5, 0.5]}
    figures = group_figures([aligned, flat])
    assert figures["groups"] == 2
    assert figures["distinct_fraction"] == pytest.approx((1 + 1 / 3) / 2)
    assert figures["reward_std"] == pytest.approx(statistics.pstdev([-1.0, -0.5, -0.1]) / 2)
    assert figures["corr_reward_quality"] == pytest.approx(statistics.correlation([-1.0, -0.5, -0.1], [0, 0.5, 1]))
    assert figures["groups_with_corr"] == 1  # the flat group has no correlation to average
    assert figures["best_minus_mean"] == pytest.approx(((1.0 - 0.5) + 0.0) / 2)
    assert figures["best_minus_mean_ci95"] == pytest.approx(summarise([0.5, 0.0])[1])
    assert math.isnan(figures["corr_reward_quality_ci95"])  # one correlation: no interval


def test_reward_pointing_away_from_the_truth_is_negative() -> None:
    misled = {"samples": ["a", "b"], "rewards": [-0.1, -2.0], "quality": [0.2, 0.8]}
    figures = group_figures([misled])
    assert figures["corr_reward_quality"] == pytest.approx(-1.0)
    assert figures["best_minus_mean"] == pytest.approx(0.2 - 0.5)


def test_group_figures_edge_cases() -> None:
    assert group_figures([]) == {"groups": 0}
    with pytest.raises(ValueError, match="G ≥ 1"):
        group_figures([{"samples": ["a"], "rewards": [], "quality": [1.0]}])


def test_sample_quality_physics_fields_and_rouge_elsewhere() -> None:
    y = "width=8 | ball: pos=4 vel=0 temp=90 | jar: pos=2 vel=0 temp=40"
    assert sample_quality("physics", y, y) == 1.0
    assert sample_quality("physics", y.replace("temp=90", "temp=80"), y) == pytest.approx(6 / 7)  # 7 fields, one wrong
    assert sample_quality("physics", "not a state", y) == 0.0
    assert sample_quality("scienceworld", "you see a door", "you see a door") == pytest.approx(1.0)


def test_action_quality_grounded_where_the_world_executes_actions_else_rouge_against_the_logged_action() -> None:
    heat = Transition(x=X, z=None, y=HEATED, env="physics")
    assert action_quality(heat, "heat ball") == 1.0
    assert action_quality(heat, "heat the ball") == 1.0  # another wording of the same action: it reproduces y
    assert action_quality(heat, "cool ball") == 0.0 and action_quality(heat, "not an action") == 0.0
    logged = Transition(x="a", z=None, y="b", env="scienceworld", meta={"action": "open door"})
    assert action_quality(logged, "open door") == pytest.approx(1.0)
    assert action_quality(logged, "open the window") == pytest.approx(0.4)  # ROUGE-L F: LCS 1 of 2 and 3 words
    assert action_quality(Transition(x="a", z=None, y="b", env="scienceworld"), "open door") is None


def test_sample_action_groups_score_every_sample_with_the_phase2_reward(tiny) -> None:
    calls = []

    def reward(prompts, completions, x, y):  # stands in for SwirlReward("idm", fwm): one reward per completion
        calls.append((len(prompts), list(x), list(y)))
        return [-float(len(c)) for c in completions]

    pairs = [Transition(x=X, z=None, y=HEATED, env="physics"),
             Transition(x="a", z=None, y="b", env="scienceworld")]  # no way to check its action: left out
    groups = sample_action_groups(Scorer(*tiny, min_logprob=-1e9), reward, pairs, g=3, temperature=1.0, top_p=1.0,
                                  max_new_tokens=4, batch_size=8, seed=0)
    assert len(groups) == 1 and calls == [(3, [X] * 3, [HEATED] * 3)]
    group = groups[0]
    assert len(group["samples"]) == len(group["rewards"]) == len(group["quality"]) == 3
    assert group["rewards"] == [-float(len(s)) for s in group["samples"]]
    assert group["quality"] == [action_quality(pairs[0], s) for s in group["samples"]]
    assert sample_action_groups(Scorer(*tiny), reward, pairs[1:], 3, 1.0, 1.0, 4, 8, 0) == []
