"""``swirl speed iteration`` end to end on the tiny model (one repeat of each pipeline, a few tokens: about
half a minute on 2 cores), its refusal of a dirty tree, and the measurements' file formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swirl_wm.cli.speed import speed_app
from swirl_wm.recipes import speed
from swirl_wm.recipes.speed import DirtyTreeError, clean_commit

TINY = ["--model", "tiny", "--pairs", "2", "--generations", "2", "--steps", "1", "--max-completion", "4",
        "--idm-completion", "4", "--threads", "1", "--repeats", "1"]


@pytest.mark.parametrize(("commit", "refused"), [("abc", False), ("abc+dirty", True), ("unknown", True)])
def test_a_dirty_tree_or_no_checkout_is_refused_unless_allowed(monkeypatch, commit: str, refused: bool) -> None:
    monkeypatch.setattr(speed, "git_commit", lambda: commit)
    assert clean_commit(allow_dirty=True) == commit
    if refused:
        with pytest.raises(DirtyTreeError, match="--allow-dirty"):
            clean_commit(allow_dirty=False)
    else:
        assert clean_commit(allow_dirty=False) == commit


def test_the_command_refuses_a_dirty_tree_before_loading_anything(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(speed, "git_commit", lambda: "abc+dirty")
    monkeypatch.setattr(speed, "resolve_model", lambda _: pytest.fail("loaded a model"))
    result = CliRunner().invoke(speed_app, ["iteration", *TINY, "--output", str(tmp_path / "it.json")])
    assert result.exit_code == 2 and "--allow-dirty" in result.output
    assert not (tmp_path / "it.json").exists()


def test_the_iteration_runs_both_pipelines_interleaved_and_reports_the_ratio(tmp_path: Path) -> None:
    output = tmp_path / "it.json"
    result = CliRunner().invoke(speed_app, ["iteration", *TINY, "--allow-dirty", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "swirl-wm over stock TRL: ×" in result.output
    d = json.loads(output.read_text(encoding="utf-8"))
    assert [(r["repeat"], r["position"], r["pipeline"]) for r in d["runs"]] == [(0, 0, "stock TRL"),
                                                                               (0, 1, "swirl-wm")]
    for run in d["runs"]:
        assert len(run["load_average_before"]) == len(run["load_average_after"]) == 3
        assert run["git_commit"] == d["git_commit"] and run["git_commit"] != "unknown"
        assert run["iteration_seconds"] == pytest.approx(sum(p["seconds"] for p in run["phases"].values()))
        for phase in run["phases"].values():
            assert phase["steps"] == 1 and phase["generated_tokens"] > 0
            assert {"generation", "reward", "reference", "policy_forward", "save"} <= phase["parts"].keys()
    ratio = d["speedup_vs_stock_trl"]
    stock, ours = (d["runs"][i]["iteration_seconds"] for i in (0, 1))
    assert ratio["ratios"] == [pytest.approx(stock / ours)] and ratio["interval"] == [ratio["median_ratio"]] * 2
    assert d["max_reward_difference"] <= 1e-3  # the same seed gives both pipelines the same rewards
    assert d["bf16"] is False and d["device"] == "cpu"
    assert d["pipelines"]["swirl-wm"]["iteration_seconds"] == ours  # the median run of one
