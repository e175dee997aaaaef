"""The run's self-contained HTML report: ``report.html`` beside ``report.md``, one file to open or
send, every figure embedded.

The page is the Markdown report (:func:`~swirl_wm.reporting.markdown.report_markdown`: metrics per phase and
split with the trivial baselines, the verdict against them, rollouts, the SFT learning curve, best phases,
baselines, the reward-hacking check, latent-action diagnostics) rendered by Python-Markdown, plus:

- the run figure (:func:`~swirl_wm.reporting.plot.run_figure`) embedded as a PNG ``data:`` URI;
- the GRPO curves per step and phase: reward (± std within groups), KL to the reference and mean completion
  length (runs before the length was logged show the first two);
- a sample of held-out transitions with the best FWM's predicted next state and the best IDM's predicted
  action beside the true ones (``predictions/<phase>/test-*.jsonl``), HTML-escaped;
- for image states (a run with an ``image-codec``), image strips per phase: the first test transitions'
  input frame, true next frame and predicted next frame, decoded by the run's codec; and rollout strips per
  phase: the first test episodes' predicted chains from their first frame above the true ones
  (``rollout.samples`` of the phase's evaluation, ``eval.rollout_steps``).

Input is the run's ``metrics.json`` dict and folder; nothing is recomputed.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import markdown as python_markdown
from matplotlib.figure import Figure

from swirl_wm.files import atomic_write_text
from swirl_wm.reporting.markdown import report_markdown
from swirl_wm.reporting.plot import run_figure
from swirl_wm.run_folder import Layout, read_predictions

# (train_log key, axis label) of the GRPO curves, one panel each.
_CURVES = (("reward", "mean reward"), ("kl", "KL to the reference"), ("completions/mean_length", "completion tokens"))
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; vertical-align: top; }
th { background: #f0f3f7; }
td.state { text-align: left; font-family: monospace; white-space: pre-wrap; max-width: 28em; }
td.right { background: #e8f6e8; } td.wrong { background: #fbe9e9; }
img { max-width: 100%; }
h1 { border-bottom: 2px solid #4a6fa5; }
"""


def png_data_uri(fig: Figure, dpi: int = 110) -> str:
    """``fig`` as a ``data:image/png;base64,...`` URI (rendered with the Agg canvas, no pyplot)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def grpo_curves(phases: list[dict[str, Any]]) -> Figure | None:
    """Reward, KL and completion length per GRPO step, one line per phase (``None`` when no phase logged a
    reward). Each phase's steps start at 1; a key a phase did not log leaves its line out of that panel."""
    logged = [(p["name"], [e for e in p.get("train_log", []) if "reward" in e]) for p in phases]
    logged = [(name, log) for name, log in logged if log]
    if not logged:
        return None
    curves = [(key, label) for key, label in _CURVES if any(key in e for _, log in logged for e in log)]
    fig = Figure(figsize=(5.5 * len(curves), 3.8))
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, (key, label) in zip(axes, curves, strict=True):
        for colour, (name, log) in enumerate(logged):
            points = [(e["step"], e[key]) for e in log if key in e]
            if points:
                ax.plot([s for s, _ in points], [v for _, v in points], color=f"C{colour}", label=name)
            if key == "reward" and points and all("reward_std" in e for e in log):
                ax.fill_between([e["step"] for e in log], [e["reward"] - e["reward_std"] for e in log],
                                [e["reward"] + e["reward_std"] for e in log], color=f"C{colour}", alpha=0.15,
                                linewidth=0)
        ax.set_xlabel("GRPO step within the phase")
        ax.set_ylabel(label)
        ax.legend(fontsize="small")
    fig.suptitle("GRPO curves per phase")
    fig.tight_layout()
    return fig


def _read_rows(path: Path, limit: int) -> list[dict[str, Any]]:
    return read_predictions(path, limit) if path.is_file() else []


def _cell(text: str, right: bool | None = None) -> str:
    cls = "state" + ("" if right is None else " right" if right else " wrong")
    return f'<td class="{cls}">{html.escape(text)}</td>'


def sample_table(run_dir: Path, metrics: dict[str, Any], limit: int = 8) -> str:
    """HTML tables of the first ``limit`` test transitions with the best FWM's and IDM's predictions (green:
    exact, red: not); empty when the run saved no predictions."""
    parts = []
    for role, columns in (("fwm", ("x", "z", "true y", "predicted y")), ("idm", ("x", "y", "true z", "predicted z"))):
        phase = metrics.get("best", {}).get(role, "sft")
        rows = _read_rows(run_dir / Layout.predictions(phase, "test", role), limit)
        if not rows:
            continue
        head = "".join(f"<th>{c}</th>" for c in columns)
        body = []
        for row in rows:
            given = row.get("given", "—")  # runs before the conditioning input was saved show a dash
            body.append("<tr>" + _cell(row["x"]) + _cell(str(given)) + _cell(row["reference"])
                        + _cell(row["prediction"], row["prediction"].strip() == row["reference"].strip()) + "</tr>")
        name = "FWM (next state)" if role == "fwm" else "IDM (action)"
        parts.append(f"<h3>{name}, best phase <code>{html.escape(phase)}</code></h3>"
                     f"<table><tr>{head}</tr>{''.join(body)}</table>")
    if not parts:
        return ""
    return "<h2>Sample of test transitions</h2>" + "".join(parts)


def _image_modality(run_dir: Path) -> Any:
    """The run's image modality with its trained codec, or ``None`` for a run without one (text states).
    Imported here so that text runs never load the codec."""
    from swirl_wm.modality.codec import CONFIG_FILE
    from swirl_wm.modality.image import load_image_modality

    folder = Path(run_dir) / Layout.IMAGE_CODEC
    return load_image_modality(str(folder.resolve())) if (folder / CONFIG_FILE).exists() else None


def image_strips(run_dir: Path, metrics: dict[str, Any], limit: int = 4) -> str:
    """For a run on image states, one figure per phase with test FWM predictions: a row per transition (its
    action as the label) with the input frame x, the true next frame y and the predicted ŷ, decoded by the
    run's codec; empty for other runs."""
    modality = _image_modality(run_dir)
    if modality is None:
        return ""
    parts = []
    for phase in metrics["phases"]:
        rows = _read_rows(Path(run_dir) / Layout.predictions(phase["name"], "test", "fwm"), limit)
        if not rows:
            continue
        frames = modality.to_image([s for r in rows for s in (r["x"], r["reference"], r["prediction"])])
        fig = Figure(figsize=(4.2, 1.4 * len(rows)))
        axes = fig.subplots(len(rows), 3, squeeze=False)
        for i, row in enumerate(rows):
            for j, title in enumerate(("x", "true y", "predicted y")):
                ax = axes[i][j]
                ax.imshow(frames[3 * i + j], interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(title, fontsize=8)
            axes[i][0].set_ylabel(str(row.get("given", ""))[:28], fontsize=6)
        fig.tight_layout()
        parts.append(f"<h3>Phase <code>{html.escape(phase['name'])}</code></h3>"
                     f'<img alt="image strips of {html.escape(phase["name"])}" src="{png_data_uri(fig)}">')
    return "<h2>Image strips (test transitions)</h2>" + "".join(parts) if parts else ""


def rollout_image_strips(run_dir: Path, metrics: dict[str, Any]) -> str:
    """For a run on image states, one figure per phase with a rollout evaluation: per sampled test episode
    the FWM's chain from the first frame (fed on its own predictions) above the true frames, decoded by the
    run's codec; empty for other runs and phases without samples."""
    from swirl_wm.reporting.frames import rollout_strips, strips_figure

    modality = _image_modality(run_dir)
    if modality is None:
        return ""
    parts = []
    for phase in metrics["phases"]:
        samples = (phase.get("rollout") or {}).get("samples")
        if not samples:
            continue
        fig = strips_figure(modality, [s for row in samples for s in rollout_strips(row)])
        parts.append(f"<h3>Phase <code>{html.escape(phase['name'])}</code></h3>"
                     f'<img alt="rollout strips of {html.escape(phase["name"])}" src="{png_data_uri(fig)}">')
    return "<h2>Rollout strips (test episodes)</h2>" + "".join(parts) if parts else ""


def html_report(metrics: dict[str, Any], run_dir: Path) -> str:
    """The page's HTML text (module docstring).

    Raises:
        KeyError: ``metrics`` lacks ``run``, ``phases`` or ``best`` (as
            :func:`~swirl_wm.reporting.markdown.write_report`).
    """
    figure = png_data_uri(run_figure(metrics), dpi=100)
    body = python_markdown.markdown(report_markdown(metrics, figure), extensions=["tables"])
    curves = grpo_curves(metrics["phases"])
    if curves is not None:
        body += f'<h2>GRPO curves</h2><img alt="GRPO curves per phase" src="{png_data_uri(curves)}">'
    body += image_strips(run_dir, metrics)
    body += rollout_image_strips(run_dir, metrics)
    body += sample_table(run_dir, metrics)
    title = html.escape(f"SWIRL run {metrics['run'].get('name', '')}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_html_report(metrics: dict[str, Any], run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` (:func:`html_report`), atomically; returns its path.

    Raises:
        KeyError: as :func:`html_report`; FileNotFoundError: ``run_dir`` does not exist.
    """
    return atomic_write_text(Path(run_dir) / Layout.HTML, html_report(metrics, Path(run_dir)))
