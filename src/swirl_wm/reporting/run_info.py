"""Run metadata (seed, git commit, machine, versions) and the run folder's outputs.

Source: DEVELOPERS.md "honest numbers": every result carries its config, seed, machine and git commit.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from swirl_wm.files import atomic_write_text
from swirl_wm.reporting.html import write_html_report
from swirl_wm.reporting.markdown import write_report
from swirl_wm.reporting.plot import plot_run


def git_commit() -> str:
    """The commit of the source tree this package runs from, with ``+dirty`` if it has changes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    """Platform, cores, torch threads, accelerator and library versions."""
    info: dict[str, Any] = {
        "platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    info |= {name: version(name) for name in ("torch", "transformers", "trl", "accelerate", "datasets")}
    return info


def run_info(config: Any, source: Any, wall_time_s: float) -> dict[str, Any]:
    """The ``run`` block of metrics.json."""
    return {"name": config.name, "seed": config.seed, "git_commit": git_commit(), "env": config.data.env,
            "model": config.model.name_or_path, "model_source": source.source, "shared_weights": config.model.shared,
            "machine": machine_info(), "wall_time_s": wall_time_s}


def write_run_outputs(metrics: dict[str, Any], run_dir: Path) -> dict[str, Path]:
    """Write ``metrics.json``, ``plot.png``, ``report.md`` and ``report.html`` into ``run_dir`` (each
    atomically)."""
    paths = {"metrics": run_dir / "metrics.json", "plot": run_dir / "plot.png", "report": run_dir / "report.md"}
    atomic_write_text(paths["metrics"], json.dumps(metrics, indent=2))
    plot_run(metrics, paths["plot"])
    write_report(metrics, paths["report"], paths["plot"])
    paths["html"] = write_html_report(metrics, run_dir)
    return paths

