"""Evaluate the models of any finished run phase on any transitions file (``swirl eval``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from swirl_wm.config import EvalConfig
from swirl_wm.data.jsonl import read_transitions
from swirl_wm.evaluation.evaluate import evaluate_role
from swirl_wm.models.loading import load_model, load_tokenizer
from swirl_wm.models.scoring import Scorer


def phase_checkpoints(run_dir: Path, phase: str) -> dict[str, str]:
    """Checkpoint folders ``{"fwm": ..., "idm": ...}`` of ``phase`` (``"best"`` = chosen on validation).

    Raises:
        FileNotFoundError: not a run folder.
        KeyError: the phase did not finish in this run.
    """
    state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))["stages"]
    if phase == "best":
        best = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["best"]
        return {role: state[f"{best[role]}/eval"]["checkpoints"][role] for role in ("fwm", "idm")}
    if f"{phase}/eval" not in state:
        done = sorted(k[: -len("/eval")] for k in state if k.endswith("/eval"))
        raise KeyError(f"phase {phase!r} has not finished in {run_dir}; finished: {done}")
    return state[f"{phase}/eval"]["checkpoints"]


def evaluate_run(run_dir: Path, data_path: Path, phase: str = "best") -> dict[str, Any]:
    """FWM and IDM metrics of a run's phase on the labelled transitions of ``data_path``.

    Raises:
        DataError: malformed transitions file; ValueError: a transition without a gold action.
    """
    raw = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    config = EvalConfig.model_validate(raw.get("eval", {}))
    transitions = read_transitions(data_path)
    checkpoints = phase_checkpoints(run_dir, phase)
    metrics: dict[str, Any] = {"run": str(run_dir), "phase": phase, "data": str(data_path),
                               "transitions": len(transitions), "checkpoints": checkpoints}
    for role in ("fwm", "idm"):
        path = str(run_dir / checkpoints[role])
        metrics |= evaluate_role(role, Scorer(load_model(path), load_tokenizer(path), batch_size=config.batch_size,
                                   min_logprob=config.min_logprob), transitions, config)[0]
    return metrics
