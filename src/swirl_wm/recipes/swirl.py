"""The SWIRL loop end to end: data → SFT → iterations of Phase I → Phase II → evaluation → report.

Reads in the algorithm's order (SWIRL §3.5, method.md §1.5):

1. build the data set and split it by episode (labelled / unlabelled with actions removed / val / test);
2. SFT warm start of the FWM and the IDM on the labelled split;
3. for each iteration: Phase I trains the FWM against the frozen IDM, Phase II trains the IDM against the
   new, frozen FWM; a checkpoint is saved after every phase;
4. with ``swirl.self_training`` (this project's addition, not the paper's), one more phase, ``self-training``:
   the FWM trained from the base model on the labelled split plus every unlabelled pair with a latent action,
   the IDM unchanged;
5. after every phase both roles are evaluated on validation and test; the best phase of each role is
   chosen on validation only; ``metrics.json``, a plot and a Markdown report are written.

Every stage is recorded in the run's ledger once its outputs are in place, so running the same command
again after a crash resumes after the last completed stage. The stages are in :mod:`.stages` and
:mod:`.baselines`, the data in :mod:`.data`.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import torch

from swirl_wm.config import RunConfig, dump_config
from swirl_wm.data.splits import Splits
from swirl_wm.evaluation.evaluate import selection_metric
from swirl_wm.recipes.baselines import baseline_stages, trivial_stage
from swirl_wm.recipes.data import base_model, check_extras, check_generation_budgets, data_stage
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.recipes.stages import eval_stage, phase_stage, self_training_stage, sft_stage
from swirl_wm.records import FWM, IDM, ROLES
from swirl_wm.reporting.model_card import write_model_cards
from swirl_wm.reporting.run_info import run_info, write_run_outputs
from swirl_wm.results import (
    SELF_TRAINING,
    Baseline,
    DataSummary,
    Evaluation,
    PhaseResult,
    PhaseTraining,
    RunInfo,
    SelfTraining,
    SftTraining,
    SwirlMetrics,
    TrivialBaselines,
    phase_result,
)
from swirl_wm.run_folder import Announce, Layout


def _best(phases: list[PhaseResult], key: str) -> str:
    scored = [(p["val"].get(key, float("-inf")), -i, p["name"]) for i, p in enumerate(phases)]
    return max(scored)[2]  # ties go to the earlier phase


def run_swirl(config: RunConfig, announce: Announce = print) -> SwirlMetrics:
    """Run (or resume) the whole SWIRL pipeline; returns the metrics dict also written to ``metrics.json``.

    Raises:
        ValueError: the output folder holds a run with a different config.
        RunFolderBusy: another process is writing the output folder.
        DataError: malformed input transitions (file, line, field).
        ImportError: the config needs an install extra that is missing (:func:`check_extras`).
    """
    if config.model.torch_threads:
        torch.set_num_threads(config.model.torch_threads)
    check_extras(config)
    run = SwirlRun(config, announce)
    with run.writing():
        return _swirl_stages(run)


def _swirl_stages(run: SwirlRun) -> SwirlMetrics:
    config = run.config
    data = run.stage("data", DataSummary, lambda: data_stage(run))
    splits = Splits.load(run.path(Layout.DATA))
    base = base_model(run, splits)
    if run.state.is_main_process:
        check_generation_budgets(run, base, splits)
    sft = run.stage("sft", SftTraining, lambda: sft_stage(run, base.path, splits), all_processes=True)
    evaluation = run.stage("sft/eval", Evaluation, lambda: eval_stage(run, "sft", sft.checkpoints, None, splits))
    phases = [phase_result("sft", 0, "both", sft, evaluation)]
    roles = (FWM, IDM) if config.swirl.train_idm else (FWM,)
    for it in range(1, config.swirl.iterations + 1):
        for trained in roles:  # Phase I: the FWM against the frozen IDM; Phase II: the IDM against the new FWM
            name = f"iter{it}/phase{trained.phase}"
            done = run.stage(name, PhaseTraining, partial(phase_stage, run, name, trained, evaluation, splits, it),
                             all_processes=True)
            evaluation = run.stage(f"{name}/eval", Evaluation,
                                   partial(eval_stage, run, name, done.checkpoints, evaluation, splits))
            phases.append(phase_result(name, it, trained.name, done, evaluation))
    if config.swirl.self_training:
        last = config.swirl.iterations
        selftrained = run.stage(SELF_TRAINING, SelfTraining,
                                partial(self_training_stage, run, base.path, evaluation, splits, last),
                                all_processes=True)
        if selftrained.iteration != last:  # the ledger's record: a run extended by more iterations keeps it
            run.announce(f"{SELF_TRAINING}: trained on iteration {selftrained.iteration}'s pseudo-labels, not "
                         f"iteration {last}'s; start a new run folder to self-train on the last iteration's")
        evaluation = run.stage(f"{SELF_TRAINING}/eval", Evaluation,
                               partial(eval_stage, run, SELF_TRAINING, selftrained.checkpoints, evaluation, splits))
        phases.append(phase_result(SELF_TRAINING, selftrained.iteration, FWM.name, selftrained, evaluation))
    baselines = baseline_stages(run, base.path, sft.checkpoints, splits)
    trivial = run.stage("baselines/trivial", TrivialBaselines, lambda: trivial_stage(run, splits))
    metrics = _metrics(run, run_info(config, base, run.wall_time_s()), data, phases, baselines, trivial, splits)
    if run.state.is_main_process:
        metrics["run"]["checkpoints_removed"] = prune_checkpoints(run.dir, metrics, config.keep_checkpoints)
        write_run_outputs(metrics, run.dir)
        write_model_cards(metrics, run.dir, dump_config(config))
    return metrics


def _metrics(run: SwirlRun, info: RunInfo, data: DataSummary, phases: list[PhaseResult],
             baselines: dict[str, Baseline], trivial: TrivialBaselines, splits: Splits) -> SwirlMetrics:
    """``metrics.json``: the run's provenance (``info``) and data, every phase, the baselines, and the best
    phase of each role on validation."""
    config = run.config
    info["data"] = data.to_json()
    info["stage_commits"] = {name: s["git_commit"] for name, s in run.ledger.stages.items() if "git_commit" in s}
    metrics: SwirlMetrics = {"run": info, "phases": phases, "trivial_baselines": trivial.baselines}
    if baselines:
        metrics["baselines"] = {name: result.to_json() for name, result in baselines.items()}
    select = {role.name: selection_metric(role, role.select_by(config.eval), splits.labelled, config.data.modality)
              for role in ROLES}
    metrics["best"] = {"fwm": _best(phases, select["fwm"]), "idm": _best(phases, select["idm"]),
                       "criterion": {role: f"val {key}" for role, key in select.items()}}
    return metrics


def prune_checkpoints(run_dir: Path, metrics: SwirlMetrics, keep: str) -> list[str]:
    """Remove the finished run's checkpoint folders that ``keep`` does not keep; returns them (run-relative).

    ``all`` keeps every folder; ``best`` the best FWM and IDM on validation (``metrics["best"]``); ``last`` the
    last phase's two roles. Baseline checkpoints (bootstrap, oracle) go unless kept by that rule. The ledger
    keeps its entries, so the run stays finished; ``swirl eval`` on a removed phase says it was removed.

    Source: measured (a demo run folder held 2.1 GB: four fp32 checkpoints).
    """
    if keep == "all":
        return []
    phases = {p["name"]: p for p in metrics["phases"]}
    if keep == "best":
        kept = {phases[metrics["best"][role]]["checkpoints"][role] for role in ("fwm", "idm")}
    else:
        kept = set(metrics["phases"][-1]["checkpoints"].values())
    removed = []
    for folder in sorted(p for p in (Path(run_dir) / "checkpoints").glob("*/*") if p.is_dir()):
        relative = folder.relative_to(run_dir).as_posix()
        if relative not in kept:
            shutil.rmtree(folder)
            removed.append(relative)
            if not any(folder.parent.iterdir()):
                folder.parent.rmdir()
    return removed
