"""The arithmetic of the speed measurements (``swirl speed``): the interleaved order of repeated timings, the
median ratio of paired timings with its bootstrap interval, and the scaling table of one-setting iteration
results. Pure functions of numbers; no model runs here.

Source: docs/design.md, "Honest numbers": a speed-up is a ratio of paired repeats with an interval, not one
measurement per side (three measurements of stock TRL's time for one job spread as widely as the ratio
claimed from them).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000  # percentile bounds of a median move < 1 % between seeds at this count


def interleaved_order(pipelines: Sequence[str], repeats: int) -> list[tuple[int, str]]:
    """The order in which to time ``pipelines``: A B, then B A, then A B ... (``(repeat, pipeline)`` pairs).

    Each repeat runs every pipeline once, adjacent in time, so a change of the machine's load falls on both
    sides of a ratio; alternating the order each repeat spreads whatever the first run of a repeat pays
    (warm caches, the allocator) over both pipelines.

    Raises:
        ValueError: ``repeats`` < 1, no pipeline, or a pipeline named twice.
    """
    if repeats < 1 or not pipelines or len(set(pipelines)) != len(pipelines):
        raise ValueError(f"interleaved_order: need repeats ≥ 1 and distinct pipelines, got {repeats}, "
                         f"{list(pipelines)}")
    return [(r, p) for r in range(repeats) for p in (pipelines if r % 2 == 0 else list(reversed(pipelines)))]


def bootstrap_median_interval(values: Sequence[float], confidence: float = 0.95,
                              resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of ``values``: ``resamples`` samples of ``len(values)``
    drawn with replacement (seeded), the median of each, the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of those medians.

    With few values the interval is wide and coarse (three values give their minimum and maximum: the
    median of a resample is the smallest value with probability 7/27 > 2.5 %), and it covers less often than
    its level says; it is reported beside the values themselves.

    Raises:
        ValueError: no values, or ``confidence`` outside (0, 1).

    Source: Efron & Tibshirani (1993), An Introduction to the Bootstrap, §13.3 (the percentile interval).
    """
    if not values or not 0 < confidence < 1:
        raise ValueError(f"bootstrap_median_interval: need values and 0 < confidence < 1, got {list(values)}, "
                         f"{confidence}")
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    medians = np.median(data[rng.integers(0, len(data), size=(resamples, len(data)))], axis=1)
    low, high = np.quantile(medians, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def paired_ratio(seconds: Mapping[str, Sequence[float]], numerator: str, denominator: str,
                 confidence: float = 0.95) -> dict[str, Any]:
    """The speed-up of ``denominator`` over ``numerator`` from paired repeats: ``ratios[i] =
    seconds[numerator][i] / seconds[denominator][i]`` (repeat ``i`` of each, timed side by side), their median
    and its :func:`bootstrap_median_interval`; also each side's median seconds.

    Returns:
        ``{"numerator", "denominator", "repeats", "ratios", "median_ratio", "interval", "confidence",
        "median_seconds": {name: s}}``.

    Raises:
        ValueError: the two sides have different numbers of repeats, none, or a time ≤ 0.
    """
    top, bottom = list(seconds[numerator]), list(seconds[denominator])
    if len(top) != len(bottom) or not top or min(top + bottom) <= 0:
        raise ValueError(f"paired_ratio: need as many positive times of {numerator!r} as of {denominator!r}, "
                         f"got {top} and {bottom}")
    ratios = [a / b for a, b in zip(top, bottom, strict=True)]
    return {"numerator": numerator, "denominator": denominator, "repeats": len(ratios), "ratios": ratios,
            "median_ratio": statistics.median(ratios), "interval": list(bootstrap_median_interval(ratios, confidence)),
            "confidence": confidence,
            "median_seconds": {numerator: statistics.median(top), denominator: statistics.median(bottom)}}


def scaling_rows(files: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per swirl-wm iteration result (``swirl speed iteration`` JSON, by its path; the first is the
    reference), sorted by objects, G and pairs: the setting, measured seconds and *normalised* seconds
    (seconds × the file's matmul GFLOP/s / the reference file's: the time at the reference run's speed of the
    machine, a crude correction for the load), each phase's normalised seconds."""
    reference_peak = next(iter(files.values()))["matmul_peak_gflops"]
    rows = []
    for path, d in files.items():
        run, config = d["pipelines"]["swirl-wm"], d["config"]
        scale = d["matmul_peak_gflops"] / reference_peak
        phases = run["phases"]
        rows.append({"file": path, "G": config["generations"], "pairs": config["pairs"],
                     "prompts_per_step": max(1, config["pairs"] // config["steps"]),
                     "objects": config.get("objects", 2), "prompt_tokens": d.get("prompt_tokens"),
                     "peak_gflops": d["matmul_peak_gflops"], "seconds": run["iteration_seconds"],
                     "normalised_seconds": run["iteration_seconds"] * scale,
                     "phase1_normalised": phases["fwm"]["seconds"] * scale,
                     "phase2_normalised": phases["idm"]["seconds"] * scale,
                     "completions": config["generations"] * config["pairs"],
                     "train_tokens": phases["fwm"]["train_tokens"] + phases["idm"]["train_tokens"]})
    rows.sort(key=lambda r: (r["objects"], r["G"], r["pairs"]))
    return rows


def scaling_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """:func:`scaling_rows` as a Markdown table."""
    lines = ["| objects | G | prompts / step | completions | measured s | GFLOP/s then | normalised s | Phase I | "
             "Phase II | normalised s per completion |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['objects']} | {r['G']} | {r['prompts_per_step']} | {2 * r['completions']} | "
                     f"{r['seconds']:.1f} | {r['peak_gflops']:.1f} | {r['normalised_seconds']:.1f} | "
                     f"{r['phase1_normalised']:.1f} | {r['phase2_normalised']:.1f} | "
                     f"{r['normalised_seconds'] / (2 * r['completions']):.2f} |")
    return "\n".join(lines) + "\n"
