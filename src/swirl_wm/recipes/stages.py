"""The stages of the SWIRL loop (SWIRL §3.3–3.5, method.md §1.3–1.5): SFT warm start, one phase (Phase I or
II, with the latent actions before Phase I and the reward check before either), self-training on the last
iteration's pseudo-labels (``swirl.self_training``, this project's addition), and the evaluation after a
phase. Each returns its typed result (:mod:`swirl_wm.results`), which the run's ledger records."""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from typing import Any

from swirl_wm.backend.grpo import train_grpo
from swirl_wm.backend.logs import train_log_of
from swirl_wm.backend.sft import train_sft
from swirl_wm.config import GRPOPhaseConfig
from swirl_wm.data.jsonl import group_episodes, read_transitions, write_transitions
from swirl_wm.data.splits import Splits
from swirl_wm.envs.registry import env_spec
from swirl_wm.evaluation.cycle import cycle_metrics
from swirl_wm.evaluation.evaluate import APPLY, evaluate_role, grounded, selection_metric
from swirl_wm.evaluation.reward_signal import Group, group_figures, sample_action_groups, sample_groups
from swirl_wm.evaluation.rollout import rollout_metrics
from swirl_wm.files import atomic_write_text
from swirl_wm.models.prompts import FORMAT_FILE
from swirl_wm.models.scoring import Scorer
from swirl_wm.models.world_model import WorldModel
from swirl_wm.objectives.fidelity import state_fidelity
from swirl_wm.objectives.latent import LatentActionStats, infer_latent_actions
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.records import FWM, IDM, ROLES, Role, Transition, original_state
from swirl_wm.results import (
    SELF_TRAINING,
    Checkpoints,
    Evaluation,
    Metrics,
    PhaseTraining,
    SelfTraining,
    SftTraining,
    TrainLog,
)
from swirl_wm.run_folder import Layout, save_predictions


def _learning_curve(run: SwirlRun, roles: tuple[Role, ...], val: list[Transition]):
    """The SFT learning curve's measure: greedy metrics of the model in training on the first
    ``sft.curve_examples`` validation transitions (FWM headline metric, IDM grounded accuracy / ROUGE-L)."""
    cfg = run.config
    subset = val[: cfg.sft.curve_examples]
    if not subset:
        return None
    quiet = cfg.eval.model_copy(update={"embedding_similarity": False})

    def measure(model, tokenizer) -> dict[str, float]:
        scorer = Scorer(model, tokenizer, batch_size=cfg.eval.batch_size, min_logprob=cfg.eval.min_logprob,
                        prompt_format=run.prompt_format)
        out: dict[str, float] = {}
        for role in roles:
            metrics, _ = evaluate_role(role, scorer, subset, quiet)
            out |= {f"curve/{k}": v for k, v in metrics.items() if k.count("/") == 1}
        return out

    return measure


ROLE_LOG = "train_log.json"  # one SFT role's log, written when that role's checkpoint is saved


def sft_stage(run: SwirlRun, base: str, splits: Splits) -> SftTraining:
    cfg = run.config
    if cfg.model.shared:
        shared = Layout.checkpoint("sft", "shared")
        _, history = train_sft(base, run.path(shared), run.path(Layout.logs("sft")), splits.labelled, ROLES,
                               cfg.sft, cfg.seed, run.prompt_format, splits.val,
                               _learning_curve(run, ROLES, splits.val), cfg.model.lora)
        return SftTraining(fwm=shared, idm=shared, train_log=train_log_of(history))
    logs = []
    for role in ROLES:  # a role trained before the stage was interrupted is kept (its log beside it)
        checkpoint = run.path(Layout.checkpoint("sft", role.name))
        log_dir = run.path(Layout.logs(f"sft-{role.name}"))
        done = log_dir / ROLE_LOG
        if done.exists() and (checkpoint / FORMAT_FILE).exists():
            run.announce(f"[skip] sft {role.name}: trained before the stage was interrupted ({done})")
            role_log = json.loads(done.read_text(encoding="utf-8"))
        else:
            _, history = train_sft(base, checkpoint, log_dir, splits.labelled, (role,), cfg.sft, cfg.seed,
                                   run.prompt_format, splits.val, _learning_curve(run, (role,), splits.val),
                                   cfg.model.lora)
            role_log = train_log_of(history)
            if run.state.is_main_process:
                atomic_write_text(done, json.dumps(role_log))
        logs += [{**h, "role": role.name} for h in role_log]
    return SftTraining(fwm=Layout.checkpoint("sft", "fwm"), idm=Layout.checkpoint("sft", "idm"), train_log=logs)


def sft_from_base(run: SwirlRun, base: str, splits: Splits, data: list[Transition], role: Role, folder: str,
                  logs: str) -> tuple[str, TrainLog]:
    """The oracle's recipe for one role: SFT from the base model on ``data`` with the run's SFT settings, seed
    and early stopping on validation, into ``checkpoints/<folder>/<role>`` (logs under ``logs/<logs>``).
    Returns the run-relative checkpoint and the train log."""
    cfg = run.config
    target = Layout.checkpoint(folder, role.name)
    _, history = train_sft(base, run.path(target), run.path(Layout.logs(logs)), data, (role,), cfg.sft, cfg.seed,
                           run.prompt_format, splits.val, lora=cfg.model.lora)
    return target, train_log_of(history)


def self_training_stage(run: SwirlRun, base: str, start: Evaluation, splits: Splits,
                        iteration: int) -> SelfTraining:
    """``swirl.self_training`` (this project's addition, not the paper's; studies/phase1-objective): the FWM
    by :func:`sft_from_base` on the labelled split plus **every** unlabelled pair with a latent action.

    The pairs iteration ``iteration``'s Phase I labelled keep their labels (``data/latent/iter<k>.jsonl``: the
    IDM's latent actions, best-of-K with ``swirl.latent_action.candidates`` > 1); the pairs it did not reach
    (a Phase I shorter than an epoch over U) are labelled here the same way by the models ``start``
    evaluated: its IDM samples, its FWM picks. All of them go to ``data/latent/self-training.jsonl``. When
    Phase I ran a whole epoch this is exactly the ``baselines.pseudo_label_sft`` recipe the study measured.
    The IDM is the one ``start`` evaluated, unchanged.

    Raises:
        FileNotFoundError: iteration ``iteration``'s Phase I wrote no pseudo-labelled pairs.
    """
    cfg = run.config
    labelled_by_phase1 = read_transitions(run.path(Layout.latent(iteration)))
    reached = {(t.episode_id, t.step) for t in labelled_by_phase1}
    rest = [t for t in splits.unlabelled if (t.episode_id, t.step) not in reached]
    labelled_here: list[Transition] = []
    if rest:  # the scorers are freed on return, before SFT loads the base model
        labelled_here, _ = label_pairs(run, run.scorer(start.checkpoints["idm"]), start.checkpoints["fwm"], rest,
                                       cfg.seed + 8000)
    pairs = labelled_by_phase1 + labelled_here
    write_transitions(run.path(Layout.SELF_TRAINING_PAIRS), pairs)
    data = splits.labelled + pairs
    fwm, history = sft_from_base(run, base, splits, data, FWM, SELF_TRAINING, SELF_TRAINING)
    return SelfTraining(iteration=iteration, fwm=fwm, idm=start.checkpoints["idm"], transitions=len(data),
                        pairs_from_phase1=len(labelled_by_phase1), pairs_labelled_here=len(labelled_here),
                        train_log=history)


def _pairs_used(config: GRPOPhaseConfig) -> int | None:
    """Pairs one phase consumes: ``max_pairs``, or fewer when ``max_steps`` ends the epoch early."""
    if config.max_steps <= 0:
        return config.max_pairs
    per_step = config.per_device_train_batch_size * config.gradient_accumulation_steps // config.num_generations
    return min(config.max_steps * per_step, config.max_pairs or 10**12)


def phase_seed(seed: int, iteration: int, trained: Role | str) -> int:
    """The seed of one phase (pair order, latent actions, GRPO sampling): distinct per iteration and trained
    role (a :class:`~swirl_wm.records.Role` or its name).

    Raises:
        ValueError: unknown role.
    """
    return seed + 1000 * iteration + Role.of(trained).phase


def phase_pairs(unlabelled: list[Transition], config: GRPOPhaseConfig, seed: int) -> list[Transition]:
    """The unlabelled pairs one phase trains on, in its order: shuffled by the phase's seed
    (:func:`phase_seed`), then the first :func:`_pairs_used`."""
    pairs = list(unlabelled)
    random.Random(seed).shuffle(pairs)
    return pairs[: _pairs_used(config)]


def phase_stage(run: SwirlRun, name: str, trained: Role, start: Evaluation, splits: Splits,
                 iteration: int) -> PhaseTraining:
    """Phase I (``trained=FWM``) or Phase II (``trained=IDM``) of one iteration, from the checkpoints that
    ``start`` evaluated (the phase before, or SFT): the phase's unlabelled pairs (Phase I labels them with
    the frozen IDM's latent actions), the check of the reward signal before training
    (``swirl.warm_start_check``), then GRPO."""
    cfg = run.config
    phase_cfg = trained.phase_config(cfg.swirl)
    current, frozen = start.checkpoints, trained.other
    seed = phase_seed(cfg.seed, iteration, trained)
    pairs = phase_pairs(splits.unlabelled, phase_cfg, seed)  # label only the pairs the phase will train on
    scorer = run.scorer(current[frozen.name])
    latent_actions = warm_start_check = phase2_check = None
    if trained == FWM:
        pairs, latent_actions = _latent_actions(run, name, iteration, scorer, pairs, seed, splits.labelled,
                                                current["fwm"])
        warm_start_check = _warm_start_check(run, name, start, scorer, pairs, splits.labelled, seed)
    else:
        phase2_check = _phase2_check(run, name, current, scorer, pairs, seed)
    target = Layout.checkpoint(name, "shared" if cfg.model.shared else trained.name)
    _, history = train_grpo(str(run.path(current[trained.name])), phase_reward(run, trained, scorer), pairs,
                             phase_cfg, run.path(target), run.path(Layout.logs(name)), seed, cfg.model.lora,
                             run.frozen_adapter(current[frozen.name]), phase_nll_weight(run, trained))
    after = {"fwm": target, "idm": target} if cfg.model.shared else current | {trained.name: target}
    return PhaseTraining(latent_actions=latent_actions, warm_start_check=warm_start_check, phase2_check=phase2_check,
                         fwm=after["fwm"], idm=after["idm"], pairs=len(pairs), train_log=train_log_of(history),
                         nonfinite_scores=scorer.nonfinite)


def _latent_actions(run: SwirlRun, name: str, iteration: int, idm: Scorer, pairs: list[Transition], seed: int,
                    labelled: list[Transition], fwm: str) -> tuple[list[Transition], dict[str, float]]:
    """Phase I's pairs labelled with the frozen IDM's latent actions (method.md §1.3 step 1), also written to
    ``latent/iter<k>.jsonl`` (the bootstrap baseline's data), and their diagnostics. With
    ``swirl.latent_action.candidates`` > 1 the FWM at ``fwm`` (run-relative: the one the phase starts from)
    picks among each pair's sampled actions.

    Raises:
        RuntimeError: the threshold dropped every latent action.
    """
    la = run.config.swirl.latent_action
    pairs, stats = label_pairs(run, idm, fwm, pairs, seed)
    figures = asdict(stats) | {"gold_mean_words": _mean_words(labelled)}
    write_transitions(run.path(Layout.latent(iteration)), pairs)
    if not pairs:
        raise RuntimeError(f"{name}: every latent action was dropped by the threshold {la.threshold}; "
                           f"lower swirl.latent_action.threshold or use mode 'sample'")
    return pairs, figures


def label_pairs(run: SwirlRun, idm: Scorer, fwm: str, pairs: list[Transition], seed: int
                ) -> tuple[list[Transition], LatentActionStats]:
    """``pairs`` with latent actions sampled from ``idm`` at Phase I's temperature and top-p
    (:func:`~swirl_wm.objectives.latent.infer_latent_actions`, ``swirl.latent_action``); with
    ``candidates`` > 1 the FWM at ``fwm`` (run-relative checkpoint) keeps each pair's best of K by the
    observed next state's likelihood. Phase I and the self-training phase label their pairs here."""
    cfg = run.config
    la, phase1 = cfg.swirl.latent_action, cfg.swirl.phase1
    picker = run.scorer(fwm) if la.candidates > 1 else None
    return infer_latent_actions(idm, pairs, la, phase1.temperature, phase1.top_p, cfg.eval.batch_size, seed,
                                picker)


def phase_reward(run: SwirlRun, trained: Role, scorer: Scorer) -> SwirlReward:
    """The phase's reward on the frozen ``scorer``: Phase I's normalised over the action set when
    ``swirl.phase1_reward`` says so (the config allows that only where the registry lists the actions), plus
    ``α · F(ŷ, y)`` when ``swirl.phase1_fidelity_weight`` is α > 0."""
    swirl = run.config.swirl
    if trained == IDM:
        return SwirlReward(trained, scorer)
    env = env_spec(run.config.data.env)
    action_set = env.actions_of if swirl.phase1_reward == "normalised" else None
    fidelity = None
    if swirl.phase1_fidelity_weight:
        fidelity = state_fidelity(scorer.prompt_format.state_modality,
                                  env.fields_of if env is not None and env.state_fields else None)
    return SwirlReward(trained, scorer, action_set=action_set, fidelity=fidelity,
                       fidelity_weight=swirl.phase1_fidelity_weight)


def phase_nll_weight(run: SwirlRun, trained: Role) -> float:
    """λ of the observed next state's NLL in the phase's loss: ``swirl.phase1_nll_weight`` for Phase I, 0 for
    Phase II."""
    return run.config.swirl.phase1_nll_weight if trained == FWM else 0.0


def _warm_start_check(run: SwirlRun, name: str, start: Evaluation, idm: Scorer, pairs: list[Transition],
                      labelled: list[Transition], seed: int) -> dict[str, Any] | None:
    """Before Phase I: :func:`warm_start_figures` on the phase's first ``swirl.warm_start_check.pairs`` pairs
    (with their latent actions) from the evaluation the phase starts from (``start``). ``None`` when
    ``swirl.warm_start_check.pairs`` is 0.

    Raises:
        RuntimeError: a threshold of ``swirl.warm_start_check`` is set and not met (with the figures).
    """
    check = run.config.swirl.warm_start_check
    if not check.pairs:
        return None
    figures = warm_start_figures(run, start.checkpoints["fwm"], start.val, idm, pairs[: check.pairs], labelled,
                                 seed)
    key = next(iter(figures["idm_val"]))
    corr = figures["reward_signal"].get("corr_reward_quality")
    problems = []
    if check.min_correlation is not None and (corr is None or corr < check.min_correlation):
        problems.append(f"reward-quality correlation {corr} < swirl.warm_start_check.min_correlation "
                        f"{check.min_correlation}")
    value = figures["idm_val"].get(key)
    if check.min_idm_metric is not None and (value is None or value < check.min_idm_metric):
        problems.append(f"IDM val {key} {value} < swirl.warm_start_check.min_idm_metric {check.min_idm_metric}")
    run.announce(f"{name} warm-start check: {json.dumps(figures)}")
    if problems:
        raise RuntimeError(f"{name}: the warm start is not ready for RL: {'; '.join(problems)}. Train SFT longer "
                           f"(sft.num_train_epochs, early stopping) or with more labels, then re-run")
    return figures


def warm_start_figures(run: SwirlRun, fwm: str, idm_val: Metrics, idm: Scorer, pairs: list[Transition],
                       labelled: list[Transition], seed: int) -> dict[str, Any]:
    """Does the Phase I reward rank the FWM's samples by quality, and is the frozen IDM accurate enough?

    Args:
        fwm: the run-relative checkpoint of the FWM that Phase I starts from.
        idm_val: the validation metrics of the evaluation the phase starts from.
        idm: the frozen IDM's scorer (Phase I's reward, :func:`phase_reward`).
        pairs: the pairs to sample on, with their latent actions as ``z``.
        labelled: the labelled split (which IDM metric selects, :func:`~swirl_wm.evaluation.evaluate.selection_metric`).
        seed: the phase's seed (:func:`phase_seed`); sampling is seeded by it.

    Returns:
        ``reward_signal`` (:func:`~swirl_wm.evaluation.reward_signal.group_figures` of G samples per pair at
        Phase I's sampling settings), ``latent_grounded_accuracy`` where the environment executes actions, and
        ``idm_val``: the IDM's validation selection metric.
    """
    cfg = run.config
    phase1 = cfg.swirl.phase1
    groups = sample_groups(run.scorer(fwm), phase_reward(run, FWM, idm), pairs, phase1.num_generations,
                           phase1.temperature, phase1.top_p, phase1.max_completion_length, cfg.eval.batch_size, seed)
    figures: dict[str, Any] = {"reward_signal": group_figures(groups)}
    apply = APPLY.get(pairs[0].env) if pairs else None
    if apply is not None:
        figures["latent_grounded_accuracy"] = sum(grounded(apply, original_state(t, "x"), t.z, original_state(t, "y"))
                                                    for t in pairs) / len(pairs)
    key = selection_metric(IDM, IDM.select_by(cfg.eval), labelled, cfg.data.modality)
    figures["idm_val"] = {key: idm_val.get(key)}
    return figures


def _phase2_check(run: SwirlRun, name: str, current: Checkpoints, fwm: Scorer, pairs: list[Transition],
                  seed: int) -> dict[str, Any] | None:
    """Before Phase II: does the Phase II reward, the frozen FWM's ``log P_θ(y | x, ẑ)``, rank the IDM's sampled
    actions by whether they explain the transition (on the phase's first pairs; quality:
    :func:`~swirl_wm.evaluation.reward_signal.action_quality`)? Reported, not enforced; ``mean_quality`` is
    the IDM's sample accuracy on those pairs. ``None`` when ``swirl.warm_start_check.pairs`` is 0."""
    check = run.config.swirl.warm_start_check
    if not check.pairs:
        return None
    figures = {"reward_signal": group_figures(phase2_groups(run, current, fwm, pairs[: check.pairs], seed))}
    run.announce(f"{name} reward check: {json.dumps(figures)}")
    return figures


def phase2_groups(run: SwirlRun, current: Checkpoints, fwm: Scorer, pairs: list[Transition],
                  seed: int) -> list[Group]:
    """Phase II's groups on ``pairs`` as the phase samples them (``swirl.phase2``'s G, temperature, top-p and
    completion length): the IDM of ``current`` samples, the frozen ``fwm`` rewards
    (:func:`~swirl_wm.evaluation.reward_signal.sample_action_groups`)."""
    cfg = run.config
    phase2 = cfg.swirl.phase2
    return sample_action_groups(run.scorer(current["idm"]), phase_reward(run, IDM, fwm), pairs,
                                phase2.num_generations, phase2.temperature, phase2.top_p,
                                phase2.max_completion_length, cfg.eval.batch_size, seed)


def _mean_words(transitions: list[Transition]) -> float:
    """Mean words of the gold actions (the reference length for the latent-action diagnostics)."""
    actions = [t.z for t in transitions if t.z is not None]
    return sum(len(a.split()) for a in actions) / len(actions) if actions else 0.0


def eval_stage(run: SwirlRun, name: str, current: Checkpoints, previous: Evaluation | None,
                splits: Splits) -> Evaluation:
    """Evaluate both roles on val and test; a role whose checkpoint did not change reuses its numbers.

    The predictions go to ``predictions/<phase>/<split>-<role>.jsonl`` (x, reference, prediction), so a
    falling metric or a reward that rises for the wrong reason can be read, not only counted. The two roles
    together are then measured without labels (cycle consistency, ``cycle/...`` keys) and, with
    ``eval.rollout_steps``, by multi-step rollouts of the test episodes' gold plans (``rollout``).
    """
    cfg = run.config
    metrics: dict[str, Metrics] = {"val": {}, "test": {}}
    parts = {"val": splits.val[: cfg.eval.max_examples], "test": splits.test[: cfg.eval.max_examples]}
    joint = cfg.eval.cycle or bool(cfg.eval.rollout_steps)  # measures that need both roles loaded
    loaded: dict[str, Scorer] = {}  # by checkpoint folder: shared weights are loaded once

    def scorer_of(role: Role) -> Scorer:
        folder = current[role.name]
        if folder not in loaded:
            loaded[folder] = run.scorer(folder)
        return loaded[folder]

    for role in ROLES:
        if previous is not None and previous.checkpoints[role.name] == current[role.name]:
            before = {"val": previous.val, "test": previous.test}
            for split in parts:
                metrics[split] |= {k: v for k, v in before[split].items() if k.startswith(f"{role.name}/")}
            continue
        scorer = scorer_of(role)
        for split, transitions in parts.items():
            role_metrics, predictions = evaluate_role(role, scorer, transitions, cfg.eval)
            metrics[split] |= role_metrics
            save_predictions(run.path(Layout.predictions(name, split, role.name)), role.name,
                              transitions, predictions)
    rollout = None
    if joint:
        world_model = WorldModel(scorer_of(FWM), scorer_of(IDM), cfg.eval.max_new_tokens_state,
                                 cfg.eval.max_new_tokens_action)
        if cfg.eval.cycle:
            for split, transitions in parts.items():
                metrics[split] |= cycle_metrics(world_model, transitions, cfg.eval)[0]
        if cfg.eval.rollout_steps:
            episodes = group_episodes(splits.test)[: cfg.eval.max_examples]
            rollout = rollout_metrics(world_model, episodes, cfg.eval.rollout_steps, cfg.eval)
    return Evaluation(checkpoints=dict(current), val=metrics["val"], test=metrics["test"], rollout=rollout)
