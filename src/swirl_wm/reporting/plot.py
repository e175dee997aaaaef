"""The run's figure: GRPO reward per step across phases, and key validation metrics per phase; and an agent
benchmark's learning curves.

Input is the run's ``metrics.json`` dict (written by the training loop): ``phases`` in training order,
each with ``name``, ``val`` / ``test`` metric dicts and a ``train_log`` of GRPO steps; or a ``swirl bench``
result of agent runs (:func:`plot_learning_curve`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# A bare Figure renders PNG with the Agg canvas and never touches pyplot: no display, no global figure
# registry to leak into, and the caller's backend choice is left alone.
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from swirl_wm.files import atomic_write_bytes
from swirl_wm.glossary import is_fraction
from swirl_wm.reporting.benchmark import CURVE_KEY, RANDOM_ROW
from swirl_wm.reporting.markdown import rollout_metric

# (validation key, legend label, scale to put the value on the 0..100 axis). Fractions are shown in %.
_KEY_METRICS = (
    ("fwm/rouge_l", "FWM ROUGE-L", 1.0),
    ("fwm/exact_match", "FWM exact match (%)", 100.0),
    ("idm/rouge_l", "IDM ROUGE-L", 1.0),
    ("idm/grounded_accuracy", "IDM grounded accuracy (%)", 100.0),
    ("fwm/code_match", "FWM exact frames (%)", 100.0),
)


def _plot_rewards(ax: Axes, phases: list[dict[str, Any]]) -> None:
    """Reward per GRPO step, one colour per phase, on a step axis that runs on across phases."""
    offset = 0
    logs = {phase["name"]: [e for e in phase.get("train_log", []) if "reward" in e] for phase in phases}
    grpo_phases = [phase for phase in phases if logs[phase["name"]]]  # SFT logs carry a loss, no reward
    for colour, phase in enumerate(grpo_phases):
        log = logs[phase["name"]]
        steps = [offset + entry["step"] for entry in log]
        rewards = [entry["reward"] for entry in log]
        ax.plot(steps, rewards, color=f"C{colour}", label=phase["name"])
        if all("reward_std" in entry for entry in log):
            low = [r - entry["reward_std"] for r, entry in zip(rewards, log, strict=True)]
            high = [r + entry["reward_std"] for r, entry in zip(rewards, log, strict=True)]
            ax.fill_between(steps, low, high, color=f"C{colour}", alpha=0.15, linewidth=0)
        if offset:
            ax.axvline(offset + 0.5, color="grey", linestyle="--", linewidth=0.8)
        offset = steps[-1]
    if not grpo_phases:
        ax.text(0.5, 0.5, "no GRPO steps logged", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize="small")
    ax.set_xlabel("GRPO step (global, across phases)")
    ax.set_ylabel("mean reward of the batch")
    ax.set_title("(a) GRPO reward (band: ± std within groups)")


def _plot_key_metrics(ax: Axes, phases: list[dict[str, Any]]) -> None:
    """Key validation metrics per phase; a phase without a metric leaves a gap in its line."""
    positions = list(range(len(phases)))
    plotted = False
    for key, label, scale in _KEY_METRICS:
        values = [phase.get("val", {}).get(key) for phase in phases]
        if all(value is None for value in values):
            continue
        ax.plot(positions, [math.nan if v is None else v * scale for v in values], marker="o", label=label)
        plotted = True
    if plotted:
        ax.legend(fontsize="small")
    ax.set_ylim(0, 100)  # every series is on 0..100, so phases and runs compare at a glance
    ax.set_xticks(positions, [phase["name"] for phase in phases], rotation=30, ha="right")
    ax.set_ylabel("validation score (0–100)")
    ax.set_title("(b) key validation metrics per phase")


def _plot_rollouts(ax: Axes, phases: list[dict[str, Any]]) -> None:
    key = rollout_metric(phases[0]["rollout"]["model"])
    scale = 100.0 if is_fraction(key) else 1.0
    for phase in phases:
        rows = phase["rollout"]["model"]
        ax.plot([r["step"] for r in rows], [scale * r[key] for r in rows], marker="o", label=phase["name"])
    copy = phases[0]["rollout"]["copy"]
    ax.plot([r["step"] for r in copy], [scale * r[key] for r in copy], "k--", label="copy x0")
    ax.set_xlabel("rollout step t")
    ax.set_ylabel(f"test {key}" + (" (%)" if scale == 100.0 else ""))
    ax.set_title("(c) multi-step rollouts")
    ax.legend(fontsize=8)


def plot_run(metrics: dict[str, Any], path: Path) -> Path:
    """Draw the run's figure and save it as a PNG, atomically.

    Panel (a): reward per GRPO step for each phase with a non-empty ``train_log``, one colour per
    phase, x = global step (each phase's ``step`` continues from the last step of the phase before),
    dashed lines between phases, a ± ``reward_std`` band when logged. Panel (b): validation FWM ROUGE-L
    and exact match, IDM ROUGE-L and grounded accuracy (those present) per phase, in training order;
    fractions are drawn in %. Panel (c), when phases have ``rollout``: the headline state metric of the
    test rollouts per step, one line per phase, and the copy baseline dashed.

    Args:
        metrics: the run's ``metrics.json`` dict (``phases`` with ``name``, ``val``, ``train_log``).
        path: the PNG to write; its directory must exist.

    Returns:
        ``path``.

    Raises:
        KeyError: if a phase lacks ``name`` or a ``train_log`` entry lacks ``step`` or ``reward``.
        FileNotFoundError: if ``path``'s directory does not exist.

    Source: docs/method.md §1.5 (SWIRL §4): evaluate after every phase; the FWM often peaks after the
        first iteration, which panel (b) makes visible.
    """
    buffer = io.BytesIO()
    run_figure(metrics).savefig(buffer, format="png", dpi=120)
    return atomic_write_bytes(path, buffer.getvalue())


def run_figure(metrics: dict[str, Any]) -> Figure:
    """The figure :func:`plot_run` saves (its panels), unsaved.

    Raises:
        KeyError: as :func:`plot_run`.
    """
    phases = metrics["phases"]
    rollouts = [p for p in phases if p.get("rollout")]
    fig = Figure(figsize=(18 if rollouts else 12, 4.5))
    axes = fig.subplots(1, 3 if rollouts else 2)
    _plot_rewards(axes[0], phases)
    _plot_key_metrics(axes[1], phases)
    if rollouts:
        _plot_rollouts(axes[2], rollouts)
    fig.suptitle(f"SWIRL run {metrics['run']['name']}")
    fig.tight_layout()
    return fig


def plot_learning_curve(result: Mapping[str, Any], path: Path) -> Path:
    """Draw an agent benchmark's dev-task learning curves and save them as a PNG, atomically.

    One line per variant: success (%) of greedy play on the dev tasks against RL steps, mean over seeds with a
    95 % CI band (step 0: the SFT policy); dashed horizontal lines: the SFT policy's and the random admissible
    policy's test-task success (the ``sft`` and random rows), where the result has them.

    Args:
        result: a ``swirl bench`` result of agent runs with ``curve``
            (:func:`~swirl_wm.reporting.benchmark.learning_curve`) and ``rows``.
        path: the PNG to write; its directory must exist.

    Returns:
        ``path``.

    Raises:
        KeyError: the result has no ``curve``.

    Source: method.md §2 (agent evaluation): whether GRPO learns is read off this curve before PaW is
        compared with it.
    """
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    for colour, (variant, points) in enumerate(result["curve"].items()):
        steps = [p["step"] for p in points]
        means = [100 * p["mean"] for p in points]
        half = [100 * p["ci95"] if math.isfinite(p["ci95"]) else 0.0 for p in points]
        ax.plot(steps, means, marker="o", color=f"C{colour}", label=variant)
        ax.fill_between(steps, [m - h for m, h in zip(means, half, strict=True)],
                        [m + h for m, h in zip(means, half, strict=True)], color=f"C{colour}", alpha=0.15,
                        linewidth=0)
    levels = {"SFT (test tasks)": "sft", "random admissible action (test tasks)": RANDOM_ROW}
    for style, (label, row) in zip(("k--", "k:"), levels.items(), strict=True):
        stat = next((r["metrics"].get(CURVE_KEY) for r in result["rows"] if r["row"] == row), None)
        if stat is not None:
            ax.axhline(100 * stat["mean"], linestyle=style[1:], color=style[0], linewidth=1, label=label)
    ax.set_ylim(0, 100)
    ax.set_xlabel("RL step")
    ax.set_ylabel("dev-task success, greedy (%)")
    ax.set_title("Dev-task success against RL steps (band: 95 % CI over seeds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    return atomic_write_bytes(path, buffer.getvalue())
