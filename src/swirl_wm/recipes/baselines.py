"""The comparisons of SWIRL §4 on the same data and budget (``baselines.*``), each a stage of a SWIRL run:

- **best-of-N**: the SFT IDM picks the best of N samples of the SFT FWM (test-time verification);
- **oracle**: SFT of both roles on L + U with U's true actions (the upper bound of SWIRL's gain);
- **bootstrap**: SFT of the SFT FWM on iteration 1's pseudo-labelled pairs, as many steps as Phase I
  (SWIRL Table 7: RL vs SFT on pseudo-labels);
- **bootstrap → Phase I**: Phase I started from the bootstrap FWM (do the two signals add up?);
- **pseudo-label SFT**: the oracle's recipe for the FWM (from the base, to early stopping) on L + iteration
  1's pseudo-labelled pairs: the oracle with the IDM's actions, so that oracle − pseudo-label SFT is what the
  pseudo-labels' errors cost and pseudo-label SFT − bootstrap what the longer training buys (the same recipe
  as a phase that competes for the best FWM, on every unlabelled pair: ``swirl.self_training``);
- the **trivial baselines** (copy the state, the no-op rule, the most frequent action).

:func:`baseline_stages` runs the configured ones in that order.
"""

from __future__ import annotations

from typing import Any

from swirl_wm.backend.grpo import train_grpo
from swirl_wm.backend.logs import train_log_of
from swirl_wm.backend.sft import train_sft
from swirl_wm.data.jsonl import read_transitions
from swirl_wm.data.splits import Splits
from swirl_wm.evaluation.baselines import trivial_baselines
from swirl_wm.evaluation.best_of_n import best_of_n
from swirl_wm.evaluation.evaluate import evaluate_role, prediction_metrics
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.recipes.stages import phase_nll_weight, phase_reward, phase_seed, sft_from_base
from swirl_wm.records import FWM, ROLES, Role, Transition
from swirl_wm.results import (
    Baseline,
    BestOfNBaseline,
    BootstrapBaseline,
    BootstrapPhase1Baseline,
    Checkpoints,
    Metrics,
    OracleBaseline,
    PseudoLabelSFTBaseline,
    TrivialBaselines,
)
from swirl_wm.run_folder import Layout, save_predictions


def baseline_stages(run: SwirlRun, base: str, sft: Checkpoints, splits: Splits) -> dict[str, Baseline]:
    """Run (or skip, when done) the configured baselines; returns each one's result by name (trivial ones
    apart: :func:`trivial_stage`)."""
    cfg = run.config.baselines
    baselines: dict[str, Baseline] = {}
    if cfg.best_of_n:
        baselines["best_of_n"] = run.stage("baselines/best_of_n", BestOfNBaseline,
                                           lambda: _best_of_n_stage(run, sft, splits))
    if cfg.oracle:
        baselines["oracle"] = run.stage("baselines/oracle", OracleBaseline, lambda: _oracle_stage(run, base, splits),
                                        all_processes=True)
    if cfg.bootstrap:
        bootstrap = run.stage("baselines/bootstrap", BootstrapBaseline, lambda: _bootstrap_stage(run, sft, splits),
                              all_processes=True)
        baselines["bootstrap"] = bootstrap
        if cfg.bootstrap_phase1:
            baselines["bootstrap_phase1"] = run.stage(
                "baselines/bootstrap_phase1", BootstrapPhase1Baseline,
                lambda: _bootstrap_phase1_stage(run, sft, bootstrap, splits), all_processes=True)
    if cfg.pseudo_label_sft:
        baselines["pseudo_label_sft"] = run.stage("baselines/pseudo_label_sft", PseudoLabelSFTBaseline,
                                                  lambda: _pseudo_label_sft_stage(run, base, splits),
                                                  all_processes=True)
    return baselines


def trivial_stage(run: SwirlRun, splits: Splits) -> TrivialBaselines:
    """The trivial baselines' metrics on the same val / test transitions as the models."""
    cap = run.config.eval.max_examples
    per_split = {split: trivial_baselines(splits.labelled, getattr(splits, split)[:cap], run.config.eval,
                                          run.prompt_format.state_modality)
                 for split in ("val", "test")}
    return TrivialBaselines(baselines={name: {split: per_split[split][name] for split in per_split}
                                       for name in per_split["test"]})


def _evaluate(run: SwirlRun, role: Role, checkpoint: str, splits: Splits, folder: str) -> dict[str, Metrics]:
    """``role`` at ``checkpoint`` on val and test: the metrics per split; predictions saved under
    ``predictions/<folder>/``. Only the main process evaluates (the others, under ``accelerate launch``,
    return empty metrics)."""
    cfg = run.config
    result: dict[str, Metrics] = {"val": {}, "test": {}}
    if not run.state.is_main_process:
        return result
    scorer = run.scorer(checkpoint)
    for split in ("val", "test"):
        transitions = getattr(splits, split)[: cfg.eval.max_examples]
        result[split], predictions = evaluate_role(role, scorer, transitions, cfg.eval)
        save_predictions(run.path(Layout.predictions(folder, split, role.name)), role.name, transitions, predictions)
    return result


def _best_of_n_stage(run: SwirlRun, sft: Checkpoints, splits: Splits) -> BestOfNBaseline:
    cfg = run.config
    fwm, idm = run.scorer(sft["fwm"]), run.scorer(sft["idm"])
    result: dict[str, Metrics] = {}
    for split in ("val", "test"):
        transitions = getattr(splits, split)[: cfg.eval.max_examples]
        predictions, scores = best_of_n(fwm, idm, transitions, cfg.baselines.best_of_n,
                                        max_new_tokens=cfg.eval.max_new_tokens_state,
                                        temperature=cfg.swirl.phase1.temperature, top_p=cfg.swirl.phase1.top_p,
                                        batch_size=cfg.eval.batch_size, seed=cfg.seed + 5000)
        modality = fwm.prompt_format.state_modality
        result[split] = prediction_metrics(FWM, transitions, predictions, cfg.eval, modality) | {
            "fwm/idm_score": sum(scores) / len(scores)}
        save_predictions(run.path(Layout.predictions("best-of-n", split, "fwm")), "fwm", transitions, predictions)
    return BestOfNBaseline(n=cfg.baselines.best_of_n, val=result["val"], test=result["test"])


def _oracle_stage(run: SwirlRun, base: str, splits: Splits) -> OracleBaseline:
    """Raises ValueError: the split did not simulate state-only data, so no true actions of U are known."""
    if not splits.oracle:
        raise ValueError("baselines.oracle needs the true actions of the unlabelled split: only a simulated split "
                         "(data.split.simulated_unlabelled_fraction > 0) keeps them")
    data = splits.labelled + splits.oracle
    metrics: dict[str, Metrics] = {"val": {}, "test": {}}
    train_log = []
    for role in ROLES:
        _, history, evaluated = _sft_from_base(run, base, splits, data, role, "oracle", f"oracle-{role.name}")
        train_log += [{**h, "role": role.name} for h in history]
        for split, values in evaluated.items():
            metrics[split] |= values
    return OracleBaseline(transitions=len(data), val=metrics["val"], test=metrics["test"], train_log=train_log)


def _sft_from_base(run: SwirlRun, base: str, splits: Splits, data: list[Transition], role: Role, folder: str,
                   logs: str) -> tuple[str, list[dict[str, Any]], dict[str, Metrics]]:
    """:func:`~swirl_wm.recipes.stages.sft_from_base` (the oracle's recipe for one role), then the role
    evaluated alone (predictions under ``predictions/<folder>/``). Returns the checkpoint, the train log and
    the metrics per split."""
    target, history = sft_from_base(run, base, splits, data, role, folder, logs)
    return target, history, _evaluate(run, role, target, splits, folder)


def _pseudo_label_sft_stage(run: SwirlRun, base: str, splits: Splits) -> PseudoLabelSFTBaseline:
    """The oracle's FWM recipe (:func:`_oracle_stage`: the same base, settings, seed and validation) on the
    labelled split plus iteration 1's pseudo-labelled pairs (``latent/iter1.jsonl``). The study's instrument;
    ``swirl.self_training`` is the same recipe as a phase of the run (on every unlabelled pair, evaluated with
    the IDM and selectable as the best FWM: :func:`~swirl_wm.recipes.stages.self_training_stage`)."""
    data = splits.labelled + read_transitions(run.path(Layout.latent(1)))
    target, history, metrics = _sft_from_base(run, base, splits, data, FWM, "pseudo-label-sft", "pseudo-label-sft")
    return PseudoLabelSFTBaseline(checkpoint=target, transitions=len(data), train_log=history,
                                  val=metrics["val"], test=metrics["test"])


def _bootstrap_stage(run: SwirlRun, sft: Checkpoints, splits: Splits) -> BootstrapBaseline:
    cfg = run.config
    pairs = read_transitions(run.path(Layout.latent(1)))
    lr = cfg.baselines.bootstrap_learning_rate or cfg.sft.learning_rate
    # The same optimizer steps as Phase I (one epoch when Phase I runs one epoch).
    sft_cfg = cfg.sft.model_copy(update={"learning_rate": lr, "max_steps": cfg.swirl.phase1.max_steps,
                                         "num_train_epochs": 1.0})
    target = Layout.checkpoint("bootstrap", "fwm")
    _, history = train_sft(str(run.path(sft["fwm"])), run.path(target), run.path(Layout.logs("bootstrap")), pairs,
                           (FWM,), sft_cfg, cfg.seed + 7000, run.prompt_format, lora=cfg.model.lora)
    metrics = _evaluate(run, FWM, target, splits, "bootstrap")
    return BootstrapBaseline(checkpoint=target, pairs=len(pairs), learning_rate=lr, train_log=train_log_of(history),
                             val=metrics["val"], test=metrics["test"])


def _bootstrap_phase1_stage(run: SwirlRun, sft: Checkpoints, bootstrap: BootstrapBaseline,
                            splits: Splits) -> BootstrapPhase1Baseline:
    """Iteration 1's pairs with their latent actions, the same frozen (SFT) IDM as reward, the same phase
    settings and seed as iteration 1's Phase I; only the starting FWM differs. The bootstrap learns the
    passive dynamics from the pseudo-labelled pairs, Phase I the fields the action decides: do they add up?
    The KL term's reference is the starting (bootstrap) FWM, as for every phase."""
    cfg = run.config
    pairs = read_transitions(run.path(Layout.latent(1)))
    scorer = run.scorer(sft["idm"])
    target = Layout.checkpoint("bootstrap-phase1", "fwm")
    _, history = train_grpo(str(run.path(bootstrap.checkpoint)), phase_reward(run, FWM, scorer), pairs,
                            cfg.swirl.phase1, run.path(target), run.path(Layout.logs("bootstrap-phase1")),
                            phase_seed(cfg.seed, 1, FWM), cfg.model.lora, run.frozen_adapter(sft["idm"]),
                            phase_nll_weight(run, FWM))
    nonfinite = scorer.nonfinite
    del scorer  # freed before the evaluation loads the trained FWM
    metrics = _evaluate(run, FWM, target, splits, "bootstrap-phase1")
    return BootstrapPhase1Baseline(checkpoint=target, pairs=len(pairs), train_log=train_log_of(history),
                                   nonfinite_scores=nonfinite, val=metrics["val"], test=metrics["test"])
