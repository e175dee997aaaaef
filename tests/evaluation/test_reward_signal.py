"""The Phase I signal diagnostic: within-group correlation of reward and quality, best-of-group gain."""

from __future__ import annotations

import math
import statistics

import pytest

from swirl_wm.evaluation.reward_signal import group_figures, sample_quality
from swirl_wm.metrics import summarise


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
