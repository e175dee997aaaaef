"""The reward-signal checks of a finished SWIRL run (``swirl diagnose RUN``).

GRPO learns only from reward differences within a group (SWIRL §3.3–3.4, method.md §1.4), so a phase can
help only if its reward ranks a group's samples by quality. A run measures this before each phase when
``swirl.warm_start_check.pairs`` is set; :func:`diagnose` measures it after the fact, on any finished run
whose checkpoints are still there, with the same functions and the same seeds:

- before each Phase I, :func:`~swirl_wm.recipes.stages.warm_start_figures`: G FWM samples per pair (the
  phase's latent-labelled pairs, in its order, from ``data/latent/iter<k>.jsonl``), rewarded by the frozen
  IDM, quality against the true next state; the latent actions' grounded accuracy; the IDM's validation
  metric; and, where the pairs kept their logged action (``meta.action``), the same groups sampled with it in
  place of the latent one (``gold_reward_signal``: the signal if the pseudo-labels were right);
- before each Phase II, the groups of :func:`~swirl_wm.recipes.stages.phase2_groups`: G IDM actions per pair
  (the phase's pairs, in its order), rewarded by the frozen FWM, quality = whether the action explains the
  transition.

With as many pairs as the run's own check it reproduces the figures the run recorded (``in_run``). The
unlabelled pairs are training data; nothing here is a test metric.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from swirl_wm.config import RunConfig, is_agent_config, load_config
from swirl_wm.data.jsonl import read_transitions
from swirl_wm.data.splits import Splits
from swirl_wm.evaluation.reward_signal import group_figures, sample_groups
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives.latent import infer_latent_actions
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.recipes.stages import phase2_groups, phase_pairs, phase_reward, phase_seed, warm_start_figures
from swirl_wm.records import FWM, Role, Transition
from swirl_wm.reporting.run_info import provenance
from swirl_wm.results import grpo_phase
from swirl_wm.run_folder import Announce, Layout

DEFAULT_PAIRS = 16  # pairs per phase when the run had no check of its own: G samples each, seconds on a CPU


def starting_points(phases: list[dict[str, Any]]) -> list[tuple[str, int, Role, dict[str, str], dict[str, float]]]:
    """Per GRPO phase of a run's ``metrics.json`` phases: its name, iteration, trained role, the checkpoints it
    started from (the phase before it: for Phase II the frozen FWM is the new one, the IDM the previous one)
    and that phase's validation metrics. SFT and self-training, which have no reward, are left out.

    Raises:
        ValueError: a GRPO phase comes first (no phase before it to start from).
    """
    out = []
    for k, phase in enumerate(phases):
        if not grpo_phase(phase):
            continue
        if k == 0:
            raise ValueError(f"{phase['name']}: a GRPO phase with no phase before it")
        before = phases[k - 1]
        out.append((phase["name"], phase["iteration"], Role.of(phase["role"]), before["checkpoints"], before["val"]))
    return out


def diagnose(run_dir: Path, pairs: int | None = None, announce: Announce = print) -> dict[str, Any]:
    """The reward-signal checks of every phase of a finished SWIRL run (see the module docstring).

    Args:
        run_dir: a finished ``swirl train`` run folder (``metrics.json``) that kept the checkpoints its phases
            started from (``keep_checkpoints: all``).
        pairs: pairs per phase (its first ones, in its order); default the run's ``swirl.warm_start_check.pairs``,
            else :data:`DEFAULT_PAIRS`.

    Returns:
        The provenance header (the run, its config, seed, pairs, git commit, machine, wall time) and
        ``phases``: per phase name, the checkpoints it started from, the figures, and the run's own check
        (``in_run``, None when it had none).

    Raises:
        FileNotFoundError: not a finished run folder, or a checkpoint it needs was removed.
        ValueError: an agent run (``swirl paw``), which has no reward-signal check.
    """
    run_dir = Path(run_dir)
    for needed in (Layout.CONFIG, Layout.METRICS):
        if not (run_dir / needed).exists():
            raise FileNotFoundError(f"{run_dir}: no {needed}; swirl diagnose reads a finished swirl train run folder")
    if is_agent_config(run_dir / Layout.CONFIG):
        raise ValueError(f"{run_dir}: an agent run (swirl paw); swirl diagnose checks the phases of a SWIRL run")
    start_time = time.monotonic()
    config = load_config(run_dir / Layout.CONFIG, schema=RunConfig).model_copy(update={"output_dir": run_dir})
    if config.model.torch_threads:
        torch.set_num_threads(config.model.torch_threads)
    count = pairs or config.swirl.warm_start_check.pairs or DEFAULT_PAIRS
    run = SwirlRun(config, announce)  # its scorers prompt as the run did (model.idm_diff, ...)
    metrics = json.loads((run_dir / Layout.METRICS).read_text(encoding="utf-8"))
    splits = Splits.load(run.path(Layout.DATA))
    phases: dict[str, Any] = {}
    for name, iteration, trained, start, val in starting_points(metrics["phases"]):
        for checkpoint in set(start.values()):
            if not run.path(checkpoint).is_dir():
                raise FileNotFoundError(f"{run_dir}: {name} started from {checkpoint}, which the run removed "
                                        f"(keep_checkpoints: {config.keep_checkpoints}); re-run with "
                                        "--set keep_checkpoints=all to diagnose it")
        seed = phase_seed(config.seed, iteration, trained)
        frozen = run.scorer(start[trained.other.name])
        announce(f"{name}: {count} pairs from {start}")
        if trained == FWM:
            picker = run.scorer(start["fwm"]) if config.swirl.latent_action.candidates > 1 else None
            chosen = _phase1_pairs(run, iteration, frozen, picker, splits, seed)[:count]
            figures = warm_start_figures(run, start["fwm"], val, frozen, chosen, splits.labelled, seed)
            gold = [replace(t, z=t.meta["action"]) for t in chosen if (t.meta or {}).get("action")]
            if gold:
                phase1 = config.swirl.phase1
                figures["gold_reward_signal"] = group_figures(sample_groups(
                    run.scorer(start["fwm"]), phase_reward(run, FWM, frozen), gold, phase1.num_generations,
                    phase1.temperature, phase1.top_p, phase1.max_completion_length, config.eval.batch_size, seed))
            in_run = next(p for p in metrics["phases"] if p["name"] == name).get("warm_start_check")
        else:
            chosen = phase_pairs(splits.unlabelled, config.swirl.phase2, seed)[:count]
            figures = {"reward_signal": group_figures(phase2_groups(run, start, frozen, chosen, seed))}
            in_run = next(p for p in metrics["phases"] if p["name"] == name).get("phase2_check")
        phases[name] = {"start": start, "pairs": len(chosen)} | figures | {"in_run": in_run}
    return provenance(start_time, run_dir=str(run_dir), config=config.model_dump(mode="json"), seed=config.seed,
                      pairs=count) | {"phases": phases}


def _phase1_pairs(run: SwirlRun, iteration: int, idm: Scorer, fwm: Scorer | None, splits: Splits, seed: int
                  ) -> list[Transition]:
    """Phase I's pairs with their latent actions, in the phase's order: the run's ``data/latent/iter<k>.jsonl``,
    or, where that file is gone, labelled again as the phase did (the same seed, so the same actions)."""
    saved = run.path(Layout.latent(iteration))
    if saved.exists():
        return read_transitions(saved)
    cfg = run.config
    phase1 = cfg.swirl.phase1
    pairs = phase_pairs(splits.unlabelled, phase1, seed)
    labelled, _ = infer_latent_actions(idm, pairs, cfg.swirl.latent_action, phase1.temperature, phase1.top_p,
                                       cfg.eval.batch_size, seed, fwm)
    return labelled

