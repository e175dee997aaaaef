"""Run metadata (seed, git commit, machine, versions) and the run folder's outputs.

Source: docs/design.md, "Honest numbers": every result carries its config, seed, machine and git commit.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

from swirl_wm.files import atomic_write_text
from swirl_wm.reporting.markdown import write_report
from swirl_wm.results import RunInfo, SwirlMetrics
from swirl_wm.run_folder import Layout, git_commit, machine_info


def run_info(config: Any, base: Any, wall_time_s: float) -> RunInfo:
    """The ``run`` block of metrics.json (``base``: the run's base model, a
    :class:`~swirl_wm.models.loading.BaseModelRef`)."""
    return {"name": config.name, "seed": config.seed, "git_commit": git_commit(), "env": config.data.env,
            "model": config.model.name_or_path, "model_source": base.origin, "shared_weights": config.model.shared,
            "machine": machine_info(), "wall_time_s": wall_time_s}


def provenance(start: float | None = None, **fields: Any) -> dict[str, Any]:
    """The header of a result JSON that a benchmark or diagnostic writes: ``fields`` as given (what it ran: the
    config, seeds, inputs, settings), then ``git_commit``, ``machine`` (:func:`~swirl_wm.run_folder.machine_info`)
    and, when ``start`` (a :func:`time.monotonic` reading taken before the work) is given, ``wall_time_s``, the
    seconds since then.

    Source: docs/design.md, "Honest numbers" (a number without its commit and machine cannot be reproduced).
    """
    header = dict(fields) | {"git_commit": git_commit(), "machine": machine_info()}
    if start is not None:
        header["wall_time_s"] = time.monotonic() - start
    return header


REPORT_PACKAGES = ("matplotlib", "markdown")  # the ``report`` extra: plot.png and report.html


def missing_report_extra() -> str | None:
    """``None`` when the ``report`` extra is installed, else the one line that says what a run leaves out and
    how to add it."""
    missing = [name for name in REPORT_PACKAGES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (f"plot.png and report.html not written ({', '.join(missing)} not installed): pip install "
            "'swirl-wm[report]', then `swirl report RUN`")


def write_run_outputs(metrics: SwirlMetrics, run_dir: Path) -> dict[str, Path]:
    """Write ``metrics.json`` and ``report.md`` into ``run_dir``, and ``plot.png`` and ``report.html`` when the
    ``report`` extra is installed (:func:`missing_report_extra`), each atomically; returns the paths written
    by key (``metrics``, ``report``, ``plot``, ``html``)."""
    paths = {"metrics": run_dir / Layout.METRICS, "report": run_dir / Layout.REPORT}
    atomic_write_text(paths["metrics"], json.dumps(metrics, indent=2))
    if missing_report_extra() is not None:
        write_report(metrics, paths["report"], None)
        return paths
    from swirl_wm.reporting.html import write_html_report
    from swirl_wm.reporting.plot import plot_run

    paths["plot"] = run_dir / Layout.PLOT
    plot_run(metrics, paths["plot"])
    write_report(metrics, paths["report"], paths["plot"])
    paths["html"] = write_html_report(metrics, run_dir)
    return paths

