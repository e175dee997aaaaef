"""The typed shape of a run's results, in two parts.

**What each stage returns** (:class:`StageResult` and its subclasses): frozen dataclasses that the run's
ledger (``state.json``) records as JSON and a resumed run reads back. Their fields are the record's keys in
the file's order, so :meth:`StageResult.to_json` and :meth:`StageResult.from_json` round-trip a record
exactly; a run resumed from its ledger continues from the same values as the run that wrote it.

**``metrics.json``** (:class:`SwirlMetrics`, :class:`AgentMetrics`), written by the recipes and read by
reporting, the benchmark harness and the model cards. JSON-native on purpose (``TypedDict``: the file is the
contract and a reader never needs this package's classes). Every value a metric dict holds is keyed
``"<role>/<metric>"`` (:mod:`swirl_wm.glossary` lists the keys, units and directions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, NotRequired, Self, TypedDict

Metrics = dict[str, float]  # "<role>/<metric>" → value (fractions in [0, 1], nats per token, BLEU points)
Checkpoints = dict[str, str]  # role name ("fwm", "idm") → checkpoint folder, relative to the run folder
TrainLog = list[dict[str, Any]]  # per logged step: reward, kl, loss, eval_loss, curve/... (SFT: and the role)
# "model" / "copy" → per-step metrics of multi-step rollouts; "samples" → the first episodes' chains
Rollout = dict[str, list[dict[str, Any]]]

# Written by the run folder after the stage's own keys (RunFolder.stage), read back with them.
_PROVENANCE = ("wall_time_s", "git_commit")


def optional() -> Any:
    """A :class:`StageResult` field that the record leaves out while it is ``None``: a key only some runs
    write (a diagnostic that is switched off, a measure the config does not ask for)."""
    return field(default=None, metadata={"optional": True})


@dataclass(frozen=True, kw_only=True)
class StageResult:
    """What one stage of a run returns and the run's ledger records.

    A subclass declares its keys as fields, in the order the record has them; :func:`optional` fields are
    left out while ``None``. The run folder adds the stage's wall time (s) and the commit it ran at, written
    after the stage's own keys (:meth:`~swirl_wm.run_folder.RunFolder.stage`).
    """

    wall_time_s: float | None = optional()
    git_commit: str | None = optional()

    def to_json(self) -> dict[str, Any]:
        """The ledger's record of this result (JSON-native values, keys in declaration order, the wall time
        and commit last)."""
        ordered = sorted(fields(self), key=lambda f: f.name in _PROVENANCE)  # stable: declaration order
        return {f.name: getattr(self, f.name) for f in ordered
                if not (f.metadata.get("optional") and getattr(self, f.name) is None)}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Self:
        """The result a ledger record holds (the inverse of :meth:`to_json`). A key this version does not
        know stays in the ledger and is not read.

        Raises:
            TypeError: the record lacks a key the result needs.
        """
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in record.items() if key in names})


# The SWIRL loop's stages (recipes.data, recipes.stages).


@dataclass(frozen=True, kw_only=True)
class DataSummary(StageResult):
    """``data``: the transitions and episodes of each part of the split, and what was cut or left out.
    The record lists the parts' counts first, flat (``labelled``, ``labelled_episodes``, ...)."""

    parts: dict[str, int]  # "<part>": transitions, "<part>_episodes": episodes (Splits.counts)
    episodes: int
    truncated: int  # transitions with a state cut to max_state_chars
    max_state_chars: int
    dropped_long_episodes: int | None = optional()  # data.long_states: drop
    image_codec: dict[str, Any] | None = optional()  # image states: the codec's held-out reconstruction

    def to_json(self) -> dict[str, Any]:
        record = super().to_json()
        del record["parts"]
        return self.parts | record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Self:
        """As :meth:`StageResult.from_json`; every key that is not a field is a part's count."""
        names = {f.name for f in fields(cls)}
        return super().from_json({**record, "parts": {k: v for k, v in record.items() if k not in names}})


@dataclass(frozen=True, kw_only=True)
class SftTraining(StageResult):
    """``sft``: the warm start of both roles on the labelled split."""

    fwm: str  # checkpoint folders, relative to the run folder (one shared folder with model.shared)
    idm: str
    train_log: TrainLog  # with separate roles each entry names its role

    @property
    def checkpoints(self) -> Checkpoints:
        return {"fwm": self.fwm, "idm": self.idm}


@dataclass(frozen=True, kw_only=True)
class PhaseTraining(StageResult):
    """``iter<k>/phase<1|2>``: one GRPO phase, with what was measured before it trained."""

    latent_actions: dict[str, float] | None = optional()  # Phase I: the latent actions' diagnostics
    warm_start_check: dict[str, Any] | None = optional()  # Phase I: the reward signal and the IDM's accuracy
    phase2_check: dict[str, Any] | None = optional()  # Phase II: the reward signal on the IDM's samples
    fwm: str  # both roles' checkpoints after the phase (the frozen role's unchanged)
    idm: str
    pairs: int  # unlabelled pairs trained on
    train_log: TrainLog
    nonfinite_scores: int  # frozen-model scores that were not finite (clamped to eval.min_logprob)

    @property
    def checkpoints(self) -> Checkpoints:
        return {"fwm": self.fwm, "idm": self.idm}

    def diagnostics(self) -> dict[str, Any]:
        """The checks made before training, by their keys (those that were made)."""
        made = {"latent_actions": self.latent_actions, "warm_start_check": self.warm_start_check,
                "phase2_check": self.phase2_check}
        return {key: value for key, value in made.items() if value is not None}


SELF_TRAINING = "self-training"  # the phase of swirl.self_training (its stage, checkpoint and log folder)


@dataclass(frozen=True, kw_only=True)
class SelfTraining(StageResult):
    """``self-training`` (``swirl.self_training``): SFT of the FWM from the base model on the labelled split
    plus every unlabelled pair with a latent action (the last Phase I's labels, the rest labelled by the
    stage), the IDM carried over from the phase before."""

    iteration: int  # whose pseudo-labelled pairs it trained on (``data/latent/iter<k>.jsonl``)
    fwm: str  # checkpoint folders, relative to the run folder (the IDM's unchanged)
    idm: str
    transitions: int  # labelled transitions plus pseudo-labelled pairs trained on
    pairs_from_phase1: int  # pseudo-labelled pairs whose labels the last Phase I drew
    pairs_labelled_here: int  # the unlabelled pairs that Phase I did not reach, labelled by the stage
    train_log: TrainLog

    @property
    def checkpoints(self) -> Checkpoints:
        return {"fwm": self.fwm, "idm": self.idm}


@dataclass(frozen=True, kw_only=True)
class Evaluation(StageResult):
    """``<phase>/eval``: both roles after a phase, on validation and test."""

    checkpoints: Checkpoints
    val: Metrics  # with eval.cycle also the two roles' cycle/... keys
    test: Metrics
    rollout: Rollout | None = optional()  # eval.rollout_steps > 0


# The baselines' stages (recipes.baselines).


@dataclass(frozen=True, kw_only=True)
class BestOfNBaseline(StageResult):
    """``baselines/best_of_n``: the SFT IDM picks the best of ``n`` samples of the SFT FWM."""

    n: int
    val: Metrics  # with fwm/idm_score, the mean IDM score of the picked samples
    test: Metrics


@dataclass(frozen=True, kw_only=True)
class OracleBaseline(StageResult):
    """``baselines/oracle``: SFT of both roles on the labelled and the unlabelled split with its true actions."""

    transitions: int
    val: Metrics
    test: Metrics
    train_log: TrainLog


@dataclass(frozen=True, kw_only=True)
class BootstrapBaseline(StageResult):
    """``baselines/bootstrap``: SFT of the SFT FWM on iteration 1's pseudo-labelled pairs."""

    checkpoint: str
    pairs: int
    learning_rate: float
    train_log: TrainLog
    val: Metrics
    test: Metrics


@dataclass(frozen=True, kw_only=True)
class BootstrapPhase1Baseline(StageResult):
    """``baselines/bootstrap_phase1``: iteration 1's Phase I started from the bootstrap FWM."""

    checkpoint: str
    pairs: int
    train_log: TrainLog
    nonfinite_scores: int
    val: Metrics
    test: Metrics


@dataclass(frozen=True, kw_only=True)
class PseudoLabelSFTBaseline(StageResult):
    """``baselines/pseudo_label_sft``: SFT of the FWM from the base model on the labelled split plus iteration
    1's pseudo-labelled pairs (the oracle's recipe, the IDM's actions)."""

    checkpoint: str
    transitions: int
    train_log: TrainLog
    val: Metrics
    test: Metrics


Baseline = BestOfNBaseline | OracleBaseline | BootstrapBaseline | BootstrapPhase1Baseline | PseudoLabelSFTBaseline


@dataclass(frozen=True, kw_only=True)
class TrivialBaselines(StageResult):
    """``baselines/trivial``: each trivial baseline's metrics per split; the record keys them flat by
    baseline name (copy, noop, most_frequent_action)."""

    baselines: dict[str, dict[str, Metrics]]  # baseline → split → metrics

    def to_json(self) -> dict[str, Any]:
        record = super().to_json()
        del record["baselines"]
        return self.baselines | record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Self:
        """As :meth:`StageResult.from_json`; every key but the wall time and commit is a baseline."""
        return super().from_json({**record, "baselines": {k: v for k, v in record.items() if k not in _PROVENANCE}})


# An agent run's stages (recipes.paw).


@dataclass(frozen=True, kw_only=True)
class AgentData(StageResult):
    """``data`` of an agent run: per split, its tasks, the expert walkthroughs' transitions and their mean
    length (steps)."""

    train: dict[str, float]  # tasks, transitions, mean_walkthrough
    test: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class AgentSft(StageResult):
    """``sft`` of an agent run: the base model trained on the train walkthroughs."""

    checkpoint: str
    examples: int
    train_log: TrainLog


@dataclass(frozen=True, kw_only=True)
class AgentEvaluation(StageResult):
    """``sft/eval``, ``rl/eval``: the policy on the held-out tasks and its world model on expert transitions;
    ``baseline/random``: the uniform admissible policy on the same tasks."""

    test: Metrics
    train: Metrics | None = optional()  # the first eval.train_tasks train tasks, played the same way


@dataclass(frozen=True, kw_only=True)
class AgentRl(StageResult):
    """``rl``: GRPO on trajectories (± PaW), with the cost figures PaW's overhead is measured by."""

    checkpoint: str
    paw: bool
    train_seconds: float
    seconds_per_step: float
    peak_rss_mb: float
    peak_cuda_mb: float | None  # None without CUDA
    rollouts: list[dict[str, float]]  # per generation step: success_rate, mean_return, mean_steps, mixed_groups
    train_log: TrainLog
    curve: list[dict[str, float]] | None = optional()  # eval.curve_every: step and dev-task agent/ metrics


# metrics.json


class RunInfo(TypedDict):
    """Provenance of a run: what ran, where, at which commit, for how long (s)."""

    name: str
    seed: int
    git_commit: str
    env: str
    model: str
    model_source: str
    machine: dict[str, Any]
    wall_time_s: float
    shared_weights: NotRequired[bool]  # SWIRL runs: one model for both roles
    paw: NotRequired[bool]  # agent runs: GRPO + PaW (else GRPO)
    data: NotRequired[dict[str, Any]]  # SWIRL runs: the data stage's record (DataSummary)
    stage_commits: NotRequired[dict[str, str]]  # stage → the commit it ran at (a resumed run may mix)
    checkpoints_removed: NotRequired[list[str]]  # folders pruned by keep_checkpoints


class PhaseResult(TypedDict):
    """One trained phase of the SWIRL loop (``sft``, ``iter<k>/phase<1|2>``, ``self-training``), evaluated on
    val and test."""

    name: str
    iteration: int  # self-training: the iteration whose pseudo-labelled pairs it trained on
    role: str  # "both" (SFT), "fwm" (Phase I, self-training) or "idm" (Phase II)
    train_log: TrainLog
    val: Metrics
    test: Metrics
    checkpoints: Checkpoints
    rollout: NotRequired[Rollout]
    nonfinite_scores: NotRequired[int]
    latent_actions: NotRequired[dict[str, float]]  # Phase I: the latent actions' diagnostics
    warm_start_check: NotRequired[dict[str, Any]]  # Phase I: IDM accuracy and the reward signal
    phase2_check: NotRequired[dict[str, Any]]  # Phase II: the reward signal on the IDM's sampled actions
    transitions: NotRequired[int]  # self-training: labelled transitions plus pseudo-labelled pairs trained on


def grpo_phase(phase: Mapping[str, Any]) -> bool:
    """Whether an entry of ``metrics.json``'s ``phases`` was trained by GRPO (Phase I or II), so that it has a
    reward and a frozen role to check; SFT and self-training are supervised."""
    return phase.get("role") not in (None, "both") and phase.get("name") != SELF_TRAINING


def phase_result(name: str, iteration: int, role: str, training: SftTraining | PhaseTraining | SelfTraining,
                 evaluation: Evaluation) -> PhaseResult:
    """The entry of ``metrics.json``'s ``phases`` for a trained phase and its evaluation (``role``: ``"both"``
    for SFT, else the trained role's name)."""
    phase = training if isinstance(training, PhaseTraining) else None
    result: PhaseResult = {"name": name, "iteration": iteration, "role": role, "train_log": training.train_log,
                           "val": evaluation.val, "test": evaluation.test, "checkpoints": evaluation.checkpoints}
    if isinstance(training, SelfTraining):
        result["transitions"] = training.transitions
    if phase is not None:
        result["nonfinite_scores"] = phase.nonfinite_scores
    if evaluation.rollout is not None:
        result["rollout"] = evaluation.rollout
    if phase is not None:
        result.update(phase.diagnostics())  # type: ignore[typeddict-item]
    return result


class SwirlMetrics(TypedDict):
    """``metrics.json`` of a SWIRL run (``swirl train``, ``swirl demo``)."""

    run: RunInfo
    phases: list[PhaseResult]
    trivial_baselines: dict[str, dict[str, Metrics]]  # copy / noop / most_frequent_action → split → metrics
    baselines: NotRequired[dict[str, dict[str, Any]]]  # each trained baseline's record
    best: dict[str, Any]  # role → the phase chosen on validation; "criterion": role → "val <key>"


class AgentMetrics(TypedDict):
    """``metrics.json`` of an agent run (``swirl paw``): stages sft, sft/eval, rl, rl/eval."""

    run: RunInfo
    data: dict[str, Any]
    stages: dict[str, dict[str, Any]]
