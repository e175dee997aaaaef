"""The typed shape of a run's results (``metrics.json``), written by the recipes and read by reporting, the
benchmark harness and the model cards. JSON-native on purpose (``TypedDict``: the file is the contract and a
reader never needs this package's classes); every value a metric dict holds is keyed ``"<role>/<metric>"``
(:mod:`swirl_wm.glossary` lists the keys, units and directions).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

Metrics = dict[str, float]  # "<role>/<metric>" → value (fractions in [0, 1], nats per token, BLEU points)


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
    data: NotRequired[dict[str, Any]]  # SWIRL runs: the data stage's counts per split
    stage_commits: NotRequired[dict[str, str]]  # stage → the commit it ran at (a resumed run may mix)
    checkpoints_removed: NotRequired[list[str]]  # folders pruned by keep_checkpoints


class PhaseResult(TypedDict):
    """One trained phase of the SWIRL loop (``sft``, ``iter<k>/phase<1|2>``), evaluated on val and test."""

    name: str
    iteration: int
    role: str  # "both" (SFT), "fwm" (Phase I) or "idm" (Phase II)
    train_log: list[dict[str, float]]  # per logged step: reward, kl, loss, eval_loss, curve/...
    val: Metrics
    test: Metrics
    checkpoints: dict[str, str]  # role → checkpoint folder, relative to the run folder
    rollout: NotRequired[dict[str, list[dict[str, float]]]]  # "model" / "copy" → per-step metrics
    nonfinite_scores: NotRequired[int]
    latent_actions: NotRequired[dict[str, float]]  # Phase I: the latent actions' diagnostics
    warm_start_check: NotRequired[dict[str, Any]]  # Phase I: IDM accuracy and the reward signal
    phase2_check: NotRequired[dict[str, Any]]  # Phase II: the reward signal on the IDM's sampled actions


class SwirlMetrics(TypedDict):
    """``metrics.json`` of a SWIRL run (``swirl train``, ``swirl demo``)."""

    run: RunInfo
    phases: list[PhaseResult]
    trivial_baselines: dict[str, dict[str, Metrics]]  # copy / noop / most_frequent_action → split → metrics
    best: dict[str, Any]  # role → the phase chosen on validation; "criterion": role → "val <key>"
    baselines: NotRequired[dict[str, dict[str, Any]]]  # bootstrap, bootstrap_phase1, oracle, best_of_n


class AgentMetrics(TypedDict):
    """``metrics.json`` of an agent run (``swirl paw``): stages sft, sft/eval, rl, rl/eval."""

    run: RunInfo
    data: dict[str, Any]
    stages: dict[str, dict[str, Any]]
