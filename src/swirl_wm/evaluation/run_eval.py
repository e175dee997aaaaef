"""Use and evaluate the models of any finished run phase (``swirl eval``, ``swirl predict`` / ``label`` /
``rollout``, and the Python API :func:`load_world_model`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from swirl_wm.config import EvalConfig
from swirl_wm.data.jsonl import group_episodes, read_transitions
from swirl_wm.evaluation.cycle import cycle_metrics
from swirl_wm.evaluation.evaluate import evaluate_role
from swirl_wm.evaluation.rollout import rollout_metrics
from swirl_wm.models.world_model import WorldModel
from swirl_wm.records import ROLES
from swirl_wm.run_folder import Layout, RunLedger


def phase_checkpoints(run_dir: Path, phase: str) -> dict[str, str]:
    """Checkpoint folders ``{"fwm": ..., "idm": ...}`` of ``phase`` (``"best"`` = chosen on validation).

    Raises:
        FileNotFoundError: not a run folder.
        KeyError: the phase did not finish in this run.
    """
    state = RunLedger.read(run_dir).stages
    if phase == "best":
        best = json.loads((run_dir / Layout.METRICS).read_text(encoding="utf-8"))["best"]
        return {role: state[f"{best[role]}/eval"]["checkpoints"][role] for role in ("fwm", "idm")}
    if f"{phase}/eval" not in state:
        done = sorted(k[: -len("/eval")] for k in state if k.endswith("/eval"))
        raise KeyError(f"phase {phase!r} has not finished in {run_dir}; finished: {done}")
    return state[f"{phase}/eval"]["checkpoints"]


def _run_config(run_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((Path(run_dir) / Layout.CONFIG).read_text(encoding="utf-8"))


def _load(run_dir: Path, phase: str, device: str | None) -> tuple[WorldModel, EvalConfig, dict[str, str]]:
    """The phase's world model, the run's evaluation settings and the phase's checkpoint folders."""
    raw = _run_config(run_dir)
    config = EvalConfig.model_validate(raw.get("eval", {}))
    checkpoints = phase_checkpoints(run_dir, phase)
    for role, folder in checkpoints.items():
        if not (run_dir / folder).is_dir():
            raise FileNotFoundError(f"{run_dir / folder} ({role} of {phase!r}) is gone: the run kept only "
                                    f"keep_checkpoints={raw.get('keep_checkpoints')!r}; pick another --phase")
    world_model = WorldModel.from_pretrained(
        str(run_dir / checkpoints["fwm"]), str(run_dir / checkpoints["idm"]),
        description=(raw.get("data") or {}).get("description"), device=device, batch_size=config.batch_size,
        min_logprob=config.min_logprob, max_new_tokens_state=config.max_new_tokens_state,
        max_new_tokens_action=config.max_new_tokens_action)
    return world_model, config, checkpoints


def load_world_model(run_dir: str | Path, phase: str = "best", device: str | None = None) -> WorldModel:
    """The FWM and IDM of a run's phase, with the run's task description and generation budgets.

    Args:
        run_dir: a folder written by ``swirl train`` / ``swirl demo``.
        phase: ``"best"`` (each role's best phase on validation), ``"sft"``, ``"iter1/phase1"``, ...
        device: ``None`` = a GPU when one is visible, else the CPU.

    Raises:
        FileNotFoundError: not a run folder; KeyError: the phase did not finish.
    """
    return _load(Path(run_dir), phase, device)[0]


def evaluate_run(run_dir: Path, data_path: Path, phase: str = "best", rollout_steps: int = 0,
                 device: str | None = None) -> dict[str, Any]:
    """Metrics of a run's phase on the transitions of ``data_path`` (JSONL).

    Supervised FWM and IDM metrics on its labelled transitions (when it has any), cycle consistency on all
    of them (labels not needed), and, with ``rollout_steps``, the per-step rollout metrics of its fully
    labelled episodes.

    Raises:
        DataError: malformed transitions file; ValueError: ``rollout_steps`` > 0 and no fully labelled
            episode.
    """
    transitions = read_transitions(data_path)
    labelled = [t for t in transitions if t.z is not None]
    world_model, config, checkpoints = _load(run_dir, phase, device)
    metrics: dict[str, Any] = {"run": str(run_dir), "phase": phase, "data": str(data_path),
                               "transitions": len(transitions), "labelled": len(labelled),
                               "checkpoints": checkpoints}
    if labelled:
        for role in ROLES:
            metrics |= evaluate_role(role, getattr(world_model, role.name), labelled, config)[0]
    metrics |= cycle_metrics(world_model, transitions, config)[0]
    if rollout_steps:
        episodes = [e for e in group_episodes(transitions) if all(t.z is not None for t in e.transitions)]
        if not episodes:
            raise ValueError(f"{data_path}: a rollout evaluation needs episodes whose every step has an action")
        metrics["rollout"] = rollout_metrics(world_model, episodes, rollout_steps, config)
    return metrics
