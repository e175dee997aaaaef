"""Image states as pictures: strips of decoded frames, a row per sequence, for the HTML report and for the
PNG files that ``swirl predict`` and ``swirl rollout`` write beside their JSONL output on image runs.

A strip is a list of ``(title, state)`` cells; each state is decoded by the run's image modality
(:meth:`~swirl_wm.modality.image.ImageModality.to_image`), so a malformed prediction still draws (read
leniently). Figures are matplotlib's object API (no pyplot), rendered with the Agg canvas.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from swirl_wm.modality.image import ImageModality

Strip = tuple[str, Sequence[tuple[str, str]]]  # (row label, [(cell title, state), ...])


def strips_figure(modality: ImageModality, strips: Sequence[Strip]) -> Figure:
    """One figure of decoded frames: a row per strip (labelled on its left), a column per cell (titled above).

    Raises:
        ValueError: no strips, or a strip without cells.
    """
    if not strips or any(not cells for _, cells in strips):
        raise ValueError("a strip figure needs at least one strip of at least one frame")
    width = max(len(cells) for _, cells in strips)
    frames = modality.to_image([state for _, cells in strips for _, state in cells])
    fig = Figure(figsize=(1.4 * width, 1.4 * len(strips)))
    axes = fig.subplots(len(strips), width, squeeze=False)
    k = 0
    for i, (label, cells) in enumerate(strips):
        for j in range(width):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(cells):
                ax.set_axis_off()
                continue
            ax.imshow(frames[k], interpolation="nearest")
            ax.set_title(cells[j][0], fontsize=7)
            k += 1
        axes[i][0].set_ylabel(label[:28], fontsize=6)
    fig.tight_layout()
    return fig


def write_pngs(modality: ImageModality, pictures: Sequence[Sequence[Strip]], folder: Path) -> list[Path]:
    """Write each picture (its strips, :func:`strips_figure`) as a PNG, ``folder/0000.png``, ``0001.png``, ...
    in order (``folder`` is made); returns the paths.

    Raises:
        ValueError: as :func:`strips_figure`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, strips in enumerate(pictures):
        path = folder / f"{i:04d}.png"
        strips_figure(modality, strips).savefig(path, format="png", dpi=110)
        paths.append(path)
    return paths


def predict_strips(row: dict[str, Any]) -> list[Strip]:
    """The picture of one of ``swirl predict``'s rows (``x``, ``z``, ``predictions``, and ``y`` when known):
    one strip, x, each predicted next frame, the true one."""
    many = len(row["predictions"]) > 1
    cells = [("x", row["x"]), *((f"ŷ{i}" if many else "ŷ", p) for i, p in enumerate(row["predictions"], 1))]
    return [(str(row["z"]), cells + ([("true y", row["y"])] if row.get("y") else []))]


def rollout_strips(row: dict[str, Any]) -> list[Strip]:
    """The picture of one rollout row (``x0``, ``predicted_states``, and ``true_states`` when known): the
    predicted chain from x0, then, when known, the true one beneath it."""
    label = str(row.get("episode_id", "rollout"))
    out: list[Strip] = [(f"{label} predicted", [("x0", row["x0"]),
                                                *((f"ŷ{t}", s) for t, s in enumerate(row["predicted_states"], 1))])]
    if row.get("true_states"):
        out.append((f"{label} true", [("x0", row["x0"]),
                                      *((f"y{t}", s) for t, s in enumerate(row["true_states"], 1))]))
    return out
