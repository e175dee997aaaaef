"""The stage results round-trip through the ledger's JSON exactly (values and key order), read the records the
previous, dict-returning stages wrote, and become metrics.json's phase entries in the file's key order."""

from __future__ import annotations

import json

import pytest

from swirl_wm.results import (
    AgentEvaluation,
    AgentRl,
    BestOfNBaseline,
    BootstrapBaseline,
    BootstrapPhase1Baseline,
    DataSummary,
    Evaluation,
    OracleBaseline,
    PhaseTraining,
    PseudoLabelSFTBaseline,
    SftTraining,
    StageResult,
    TrivialBaselines,
    phase_result,
)

COMMIT = {"wall_time_s": 1.5, "git_commit": "abc123"}
METRICS = {"fwm/exact_match": 0.25, "fwm/rouge_l": 80.5}
LOG = [{"loss": 1.0, "reward": 0.5}]

# Records as the stages wrote them when they returned dicts (keys in that order), wall time and commit last.
RECORDS: list[tuple[type[StageResult], dict]] = [
    (DataSummary, {"labelled": 60, "labelled_episodes": 15, "unlabelled": 60, "unlabelled_episodes": 15,
                   "val": 12, "val_episodes": 3, "test": 16, "test_episodes": 4, "episodes": 40, "truncated": 0,
                   "max_state_chars": 4000, **COMMIT}),
    (DataSummary, {"labelled": 2, "labelled_episodes": 1, "episodes": 1, "truncated": 0, "max_state_chars": 300,
                   "dropped_long_episodes": 0, "image_codec": {"psnr": 30.0, "held_out_frames": 4}, **COMMIT}),
    (SftTraining, {"fwm": "checkpoints/sft/fwm", "idm": "checkpoints/sft/idm",
                   "train_log": [{"loss": 2.0, "role": "fwm"}], **COMMIT}),
    (Evaluation, {"checkpoints": {"fwm": "checkpoints/sft/fwm", "idm": "checkpoints/sft/idm"}, "val": METRICS,
                  "test": METRICS, **COMMIT}),
    (Evaluation, {"checkpoints": {"fwm": "a", "idm": "b"}, "val": METRICS, "test": METRICS,
                  "rollout": {"model": [{"step": 1.0}], "copy": [{"step": 1.0}]}, **COMMIT}),
    (PhaseTraining, {"latent_actions": {"pairs": 4, "kept": 4}, "warm_start_check": {"idm_val": {"idm/x": None}},
                     "fwm": "checkpoints/iter1-phase1/fwm", "idm": "checkpoints/sft/idm", "pairs": 4,
                     "train_log": LOG, "nonfinite_scores": 0, **COMMIT}),
    (PhaseTraining, {"phase2_check": {"reward_signal": {"groups": 4}}, "fwm": "f", "idm": "i", "pairs": 4,
                     "train_log": LOG, "nonfinite_scores": 2, **COMMIT}),
    (PhaseTraining, {"fwm": "f", "idm": "i", "pairs": 4, "train_log": LOG, "nonfinite_scores": 0, **COMMIT}),
    (BestOfNBaseline, {"n": 2, "val": METRICS, "test": METRICS, **COMMIT}),
    (OracleBaseline, {"transitions": 120, "val": METRICS, "test": METRICS, "train_log": LOG, **COMMIT}),
    (BootstrapBaseline, {"checkpoint": "checkpoints/bootstrap/fwm", "pairs": 30, "learning_rate": 0.001,
                         "train_log": LOG, "val": METRICS, "test": METRICS, **COMMIT}),
    (BootstrapPhase1Baseline, {"checkpoint": "c", "pairs": 30, "train_log": LOG, "nonfinite_scores": 0,
                               "val": METRICS, "test": METRICS, **COMMIT}),
    (PseudoLabelSFTBaseline, {"checkpoint": "c", "transitions": 130, "train_log": LOG, "val": METRICS,
                              "test": METRICS, **COMMIT}),
    (TrivialBaselines, {"copy": {"val": METRICS, "test": METRICS}, "noop": {"val": METRICS, "test": METRICS},
                        **COMMIT}),
    (AgentEvaluation, {"test": METRICS, "train": METRICS, **COMMIT}),
    (AgentRl, {"checkpoint": "checkpoints/rl", "paw": False, "train_seconds": 10.0, "seconds_per_step": 5.0,
               "peak_rss_mb": 900.0, "peak_cuda_mb": None, "rollouts": [{"success_rate": 0.5, "mixed_groups": 0.5}],
               "train_log": LOG, "curve": [{"step": 0, "agent/success_rate": 0.25}], **COMMIT}),
    (AgentRl, {"checkpoint": "checkpoints/rl", "paw": True, "train_seconds": 10.0, "seconds_per_step": 5.0,
               "peak_rss_mb": 900.0, "peak_cuda_mb": None, "rollouts": [{"success_rate": 0.5}], "train_log": LOG,
               **COMMIT}),
]


@pytest.mark.parametrize(("kind", "record"), RECORDS, ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_a_ledger_record_reads_back_and_writes_out_byte_for_byte(kind: type[StageResult], record: dict) -> None:
    result = kind.from_json(json.loads(json.dumps(record)))
    assert json.dumps(result.to_json(), indent=2) == json.dumps(record, indent=2)
    assert kind.from_json(result.to_json()) == result
    assert (result.wall_time_s, result.git_commit) == (1.5, "abc123")


def test_optional_keys_are_left_out_while_none_and_the_stage_adds_its_time_and_commit_last() -> None:
    done = PhaseTraining(fwm="f", idm="i", pairs=3, train_log=[], nonfinite_scores=0)
    assert list(done.to_json()) == ["fwm", "idm", "pairs", "train_log", "nonfinite_scores"]
    assert done.checkpoints == {"fwm": "f", "idm": "i"} and done.diagnostics() == {}
    timed = PhaseTraining.from_json(done.to_json() | COMMIT)
    assert list(timed.to_json())[-2:] == ["wall_time_s", "git_commit"]
    assert AgentRl.from_json(RECORDS[-1][1]).to_json()["peak_cuda_mb"] is None  # a plain field keeps its null


def test_an_unknown_key_is_not_read_and_a_missing_one_is_an_error() -> None:
    record = {"n": 2, "val": {}, "test": {}, "written_by_a_newer_version": 1}
    assert BestOfNBaseline.from_json(record).to_json() == {"n": 2, "val": {}, "test": {}}
    with pytest.raises(TypeError, match="nonfinite_scores"):
        PhaseTraining.from_json({"fwm": "f", "idm": "i", "pairs": 1, "train_log": []})


def test_phase_entries_keep_the_order_of_metrics_json() -> None:
    evaluation = Evaluation(checkpoints={"fwm": "f", "idm": "i"}, val=METRICS, test=METRICS,
                            rollout={"model": [], "copy": []})
    sft = SftTraining(fwm="f", idm="i", train_log=LOG)
    assert list(phase_result("sft", 0, "both", sft, evaluation)) == [
        "name", "iteration", "role", "train_log", "val", "test", "checkpoints", "rollout"]
    phase1 = PhaseTraining.from_json(RECORDS[5][1])
    entry = phase_result("iter1/phase1", 1, "fwm", phase1, evaluation)
    assert list(entry) == ["name", "iteration", "role", "train_log", "val", "test", "checkpoints", "nonfinite_scores",
                           "rollout", "latent_actions", "warm_start_check"]
    without_rollout = Evaluation(checkpoints={"fwm": "f", "idm": "i"}, val=METRICS, test=METRICS)
    assert "rollout" not in phase_result("iter1/phase1", 1, "fwm", phase1, without_rollout)
