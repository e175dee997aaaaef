"""RunFolder.stage: a stage's typed result is recorded once and read back from the ledger by a resumed run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from swirl_wm.results import BestOfNBaseline, PhaseTraining
from swirl_wm.run_folder import RunFolder


class _Config(BaseModel):
    output_dir: Path


def _work(calls: list[int]) -> BestOfNBaseline:
    calls.append(1)
    return BestOfNBaseline(n=2, val={"fwm/exact_match": 0.5}, test={"fwm/exact_match": 0.25})


def test_a_stage_runs_once_and_a_resumed_run_gets_the_same_result(tmp_path: Path) -> None:
    calls: list[int] = []
    first = RunFolder(_Config(output_dir=tmp_path), lambda _: None)
    done = first.stage("baselines/best_of_n", BestOfNBaseline, lambda: _work(calls))
    assert done.n == 2 and done.wall_time_s is not None and done.git_commit is not None
    record = json.loads((tmp_path / "state.json").read_text())["stages"]["baselines/best_of_n"]
    assert list(record) == ["n", "val", "test", "wall_time_s", "git_commit"]

    messages: list[str] = []
    resumed = RunFolder(_Config(output_dir=tmp_path), messages.append)
    assert resumed.stage("baselines/best_of_n", BestOfNBaseline, lambda: _work(calls)) == done
    assert calls == [1] and messages == ["[skip] baselines/best_of_n (done in an earlier run)"]


def test_a_record_that_does_not_read_as_the_stage_result_names_the_ledger_and_stage(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"stages": {"iter1/phase1": {"fwm": "f"}}}))
    run = RunFolder(_Config(output_dir=tmp_path), lambda _: None)
    with pytest.raises(ValueError, match=r"state.json: stage 'iter1/phase1' does not read as PhaseTraining"):
        run.stage("iter1/phase1", PhaseTraining, lambda: pytest.fail("a finished stage ran again"))
