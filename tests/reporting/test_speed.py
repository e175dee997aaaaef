"""The arithmetic of ``swirl speed``: the interleaved order, the bootstrap interval of a median and the paired
ratio, against hand-computed values; the scaling rows of committed-shape results."""

from __future__ import annotations

import pytest

from swirl_wm.reporting.speed import (
    bootstrap_median_interval,
    interleaved_order,
    paired_ratio,
    scaling_markdown,
    scaling_rows,
)


def test_the_order_alternates_each_repeat() -> None:
    assert interleaved_order(["A", "B"], 3) == [(0, "A"), (0, "B"), (1, "B"), (1, "A"), (2, "A"), (2, "B")]
    assert interleaved_order(["A", "B", "C"], 2) == [(0, "A"), (0, "B"), (0, "C"), (1, "C"), (1, "B"), (1, "A")]
    assert interleaved_order(["A"], 2) == [(0, "A"), (1, "A")]


@pytest.mark.parametrize(("pipelines", "repeats"), [(["A", "B"], 0), ([], 3), (["A", "A"], 3)])
def test_the_order_refuses_nonsense(pipelines: list[str], repeats: int) -> None:
    with pytest.raises(ValueError, match="interleaved_order"):
        interleaved_order(pipelines, repeats)


def test_the_bootstrap_interval_of_a_median_by_hand() -> None:
    # one value, or equal values: every resample's median is that value
    assert bootstrap_median_interval([2.5]) == (2.5, 2.5)
    assert bootstrap_median_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
    # [1, 3]: a resample's median is 1 (p 1/4), 2 (p 1/2) or 3 (p 1/4), so the 2.5 % and 97.5 % quantiles of
    # 10,000 medians are 1 and 3
    assert bootstrap_median_interval([1.0, 3.0]) == (1.0, 3.0)
    # [1, 2, 10]: the median of three draws is 1 with p 7/27 and 10 with p 7/27, both > 2.5 %
    assert bootstrap_median_interval([1.0, 2.0, 10.0]) == (1.0, 10.0)
    # at 40 % confidence the 30 % and 70 % quantiles: 2 has p 13/27 in the middle, so both bounds are 2
    assert bootstrap_median_interval([1.0, 2.0, 10.0], confidence=0.4) == (2.0, 2.0)


@pytest.mark.parametrize(("values", "confidence"), [([], 0.95), ([1.0], 1.0), ([1.0], 0.0)])
def test_the_bootstrap_refuses_nonsense(values: list[float], confidence: float) -> None:
    with pytest.raises(ValueError, match="bootstrap_median_interval"):
        bootstrap_median_interval(values, confidence)


def test_the_paired_ratio_by_hand() -> None:
    # repeat by repeat: 10/5 = 2, 12/4 = 3, 9/3 = 3; median 3; the median of a resample of {2, 3, 3} is 2
    # with p 7/27 (two or three draws of the 2), so the interval is [2, 3]
    ratio = paired_ratio({"stock": [10.0, 12.0, 9.0], "ours": [5.0, 4.0, 3.0]}, "stock", "ours")
    assert ratio["ratios"] == [2.0, 3.0, 3.0]
    assert ratio["median_ratio"] == 3.0
    assert ratio["interval"] == [2.0, 3.0]
    assert ratio["median_seconds"] == {"stock": 10.0, "ours": 4.0}
    assert ratio["repeats"] == 3 and ratio["confidence"] == 0.95


@pytest.mark.parametrize("seconds", [{"a": [1.0], "b": [1.0, 2.0]}, {"a": [], "b": []}, {"a": [1.0], "b": [0.0]}])
def test_the_paired_ratio_refuses_unpaired_or_empty_times(seconds: dict[str, list[float]]) -> None:
    with pytest.raises(ValueError, match="paired_ratio"):
        paired_ratio(seconds, "a", "b")


def _result(g: int, pairs: int, gflops: float, seconds: float) -> dict:
    phases = {"fwm": {"seconds": 0.75 * seconds, "train_tokens": 100}, "idm": {"seconds": 0.25 * seconds,
                                                                             "train_tokens": 50}}
    return {"matmul_peak_gflops": gflops, "config": {"generations": g, "pairs": pairs, "steps": 2},
            "pipelines": {"swirl-wm": {"iteration_seconds": seconds, "phases": phases}}}


def test_scaling_rows_normalise_to_the_reference_machine_speed() -> None:
    rows = scaling_rows({"ref.json": _result(8, 4, 50.0, 200.0), "g16.json": _result(16, 4, 25.0, 300.0)})
    assert [r["file"] for r in rows] == ["ref.json", "g16.json"]  # sorted by G
    slow = rows[1]
    assert slow["normalised_seconds"] == 150.0  # 300 s at half the reference's GFLOP/s
    assert (slow["phase1_normalised"], slow["phase2_normalised"]) == (112.5, 37.5)
    assert slow["completions"] == 64 and slow["prompts_per_step"] == 2 and slow["train_tokens"] == 150
    assert "| 2 | 16 | 2 | 128 | 300.0 | 25.0 | 150.0 | 112.5 | 37.5 | 1.17 |" in scaling_markdown(rows)
