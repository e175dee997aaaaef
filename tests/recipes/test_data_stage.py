"""The run's data stage: the state budget (truncation with a warning and a count) and episode sampling."""

from __future__ import annotations

from pathlib import Path

import pytest

from swirl_wm.config import RunConfig
from swirl_wm.data.jsonl import write_transitions
from swirl_wm.data.splits import Splits
from swirl_wm.recipes.data import data_stage as _data_stage
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.records import Transition
from swirl_wm.reporting.markdown import write_report


def _config(tmp_path: Path, **data) -> RunConfig:
    transitions = [Transition(x=("long " * 400 if e == 0 and s == 0 else f"state {e}.{s}"), z=f"act {s}",
                              y=f"state {e}.{s + 1}", episode_id=f"ep{e}", step=s, env="user")
                   for e in range(12) for s in range(2)]
    write_transitions(tmp_path / "t.jsonl", transitions)
    return RunConfig.model_validate({"output_dir": str(tmp_path / "run"), "seed": 3,
                                     "data": {"env": "jsonl", "path": str(tmp_path / "t.jsonl"), **data}})


def test_long_states_are_cut_counted_and_announced(tmp_path: Path) -> None:
    messages: list[str] = []
    run = SwirlRun(_config(tmp_path, max_state_chars=300), messages.append)
    result = _data_stage(run)
    assert result.truncated == 1 and result.max_state_chars == 300
    assert any("warning: 1 of 24 transitions" in m for m in messages)
    splits = Splits.load(run.path("data"))
    everything = [*splits.labelled, *splits.unlabelled, *splits.val, *splits.test]
    cut = [t for t in everything if t.meta.get("truncated")]
    assert len(cut) == 1 and len(cut[0].x) <= 300 and "chars cut" in cut[0].x
    # the report says how many states were cut
    metrics = {"run": {"name": "r", "data": result.to_json()}, "phases": [], "best": {}}
    report = write_report(metrics, tmp_path / "report.md", None).read_text(encoding="utf-8")
    assert "1 with a state cut to 300 chars" in report


def test_long_states_drop_leaves_out_the_whole_episode(tmp_path: Path) -> None:
    messages: list[str] = []
    run = SwirlRun(_config(tmp_path, max_state_chars=300, long_states="drop"), messages.append)
    result = _data_stage(run)
    assert result.truncated == 0 and result.episodes == 11 and result.dropped_long_episodes == 1
    assert any("kept 11 of 12 episodes" in m for m in messages)
    splits = Splits.load(run.path("data"))
    ids = {t.episode_id for part in (splits.labelled, splits.unlabelled, splits.val, splits.test) for t in part}
    assert "ep0" not in ids and len(ids) == 11


def test_long_states_drop_of_every_episode_is_an_error(tmp_path: Path) -> None:
    config = _config(tmp_path, max_state_chars=300, long_states="drop")
    long = [Transition(x="long " * 400, z="a", y="b", episode_id="e", step=0, env="user")]
    write_transitions(tmp_path / "t.jsonl", long)
    with pytest.raises(ValueError, match=r"t.jsonl: no episode has every state within data.max_state_chars = 300"):
        _data_stage(SwirlRun(config, lambda _: None))


def test_states_within_budget_are_untouched(tmp_path: Path) -> None:
    messages: list[str] = []
    run = SwirlRun(_config(tmp_path), messages.append)
    assert _data_stage(run).truncated == 0 and not any("warning" in m for m in messages)


def test_max_episodes_keeps_a_seeded_subset(tmp_path: Path) -> None:
    run = SwirlRun(_config(tmp_path, max_episodes=5), lambda _: None)
    result = _data_stage(run)
    assert result.episodes == 5
    splits = Splits.load(run.path("data"))
    ids = {t.episode_id for part in (splits.labelled, splits.unlabelled, splits.val, splits.test) for t in part}
    assert len(ids) == 5
    (tmp_path / "again").mkdir()
    again = SwirlRun(_config(tmp_path / "again", max_episodes=5), lambda _: None)
    _data_stage(again)
    assert {t.episode_id for t in Splits.load(again.path("data")).test} == {t.episode_id for t in splits.test}


def test_resume_accepts_a_config_written_before_new_options_existed(tmp_path: Path) -> None:
    import yaml

    from swirl_wm.recipes.run import EXTENDABLE
    from swirl_wm.run_folder import EXECUTION_ONLY, same_config

    def _same_config(saved, config):
        return same_config(saved, config, EXECUTION_ONLY + EXTENDABLE)

    config = _config(tmp_path)
    raw = config.model_dump(mode="json")
    del raw["data"]["max_state_chars"], raw["eval"]["embedding_similarity"]  # as an older version wrote it
    saved = tmp_path / "config.yaml"
    saved.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert _same_config(saved, config)
    raw["model"]["torch_threads"] = 1  # the thread count changes speed only: still the same run
    saved.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert _same_config(saved, config)
    raw["swirl"]["iterations"] += 1  # more iterations or another baseline only add stages: still the same run
    raw["baselines"]["oracle"] = not raw["baselines"]["oracle"]
    saved.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert _same_config(saved, config)
    raw["seed"] = 4  # a changed value is still refused
    saved.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert not _same_config(saved, config)
    saved.write_text("not: [valid", encoding="utf-8")
    assert not _same_config(saved, config)


def test_budget_warnings_name_the_budget_that_cuts() -> None:
    from swirl_wm.recipes.data import budget_warnings

    lengths = {"state": [10, 40, 41], "action": [3, 4]}
    warnings = budget_warnings(lengths, [("state", "eval.max_new_tokens_state", 40),
                                         ("action", "eval.max_new_tokens_action", 4),
                                         ("state", "swirl.phase1.max_completion_length", 8)])
    end = "end of text included): a cut state cannot be right; raise"
    assert warnings == [
        f"warning: eval.max_new_tokens_state = 40 tokens cuts 1 of 3 states (the longest: 41 tokens, {end} "
        "eval.max_new_tokens_state",
        f"warning: swirl.phase1.max_completion_length = 8 tokens cuts 3 of 3 states (the longest: 41 tokens, {end} "
        "swirl.phase1.max_completion_length"]
    assert budget_warnings({"state": []}, [("state", "k", 1)]) == []


def test_a_run_warns_about_the_budgets_its_texts_exceed(tmp_path: Path, tiny_path: str) -> None:
    from swirl_wm.models.loading import BaseModelRef
    from swirl_wm.recipes.data import check_generation_budgets

    config = _config(tmp_path, max_state_chars=300)
    config = config.model_copy(update={"allow_cut_texts": True,
                                       "sft": config.sft.model_copy(update={"max_length": 40}),
                                       "eval": config.eval.model_copy(update={"max_new_tokens_state": 2})})
    messages: list[str] = []
    run = SwirlRun(config, messages.append)
    _data_stage(run)
    warnings = check_generation_budgets(run, BaseModelRef(tiny_path, "tiny"), Splits.load(run.path("data")))
    keys = [w.split(" = ")[0].removeprefix("warning: ") for w in warnings]
    assert keys == ["sft.max_length", "sft.max_length", "eval.max_new_tokens_state"] and warnings == messages[-3:]
    assert "FWM examples" in warnings[0] and "IDM examples" in warnings[1]


def test_the_changes_target_needs_json_states_and_names_the_first_that_is_not(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config = config.model_copy(update={"model": config.model.model_copy(update={"fwm_target": "changes"})})
    with pytest.raises(ValueError, match=r"t.jsonl: episode 'ep0' step 0: model.fwm_target: changes .*x is not JSON"):
        _data_stage(SwirlRun(config, lambda _: None))
    json_steps = [Transition(x=f'{{"n":{e},"s":{s}}}', z=f"act {s}", y=f'{{"n":{e},"s":{s + 1}}}', episode_id=f"ep{e}",
                             step=s, env="user") for e in range(12) for s in range(2)]
    write_transitions(tmp_path / "t.jsonl", json_steps)
    _data_stage(SwirlRun(config, lambda _: None))  # whole JSON states: accepted


def test_sft_examples_of_the_changes_target_are_patches(tiny_path: str) -> None:
    from swirl_wm.backend.sft import sft_examples
    from swirl_wm.models.loading import load_tokenizer
    from swirl_wm.models.prompts import PromptFormat

    tokenizer = load_tokenizer(tiny_path)
    t = Transition(x='{"cwd":"/a","n":1}', z="cd(b)", y='{"cwd":"/b","n":1}', episode_id="e", step=0, env="user")
    fwm, idm = sft_examples([t], tokenizer, ("fwm", "idm"), PromptFormat(fwm_target="changes"))
    eos = tokenizer.eos_token
    assert fwm["completion"] == '{"cwd":"/b"}' + eos and idm["completion"] == "cd(b)" + eos
