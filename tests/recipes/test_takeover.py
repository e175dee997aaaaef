"""A run folder another config may take over: one where no stage finished (a data error stopped the first),
or where only the data stage finished and the new config changes nothing it read (a token budget raised
after a refusal). Anything else is refused, naming the fields that differ."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.config import RunConfig, load_config
from swirl_wm.data.jsonl import write_transitions
from swirl_wm.recipes.data import data_stage
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.records import Transition
from swirl_wm.results import DataSummary
from swirl_wm.run_folder import Layout, config_differences


def _config(tmp_path: Path, file: str = "t.jsonl", **sections) -> Path:
    transitions = [Transition(x=f"state {e}.{s}", z=f"act {s}", y=f"state {e}.{s + 1}", episode_id=f"ep{e}",
                              step=s, env="user") for e in range(12) for s in range(2)]
    write_transitions(tmp_path / "t.jsonl", transitions)
    (tmp_path / "broken.jsonl").write_text('{"episode_id": "e", "x": "s"}\n', encoding="utf-8")
    raw = {"output_dir": str(tmp_path / "run"), "data": {"env": "jsonl", "path": str(tmp_path / file)},
           "model": {"name_or_path": "tiny"}, "eval": {"embedding_similarity": False}}
    for section, values in sections.items():
        raw[section] = raw.get(section, {}) | values
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _start(config: RunConfig, messages: list[str]) -> SwirlRun:
    """What `swirl train` does up to and including the data stage."""
    run = SwirlRun(config, messages.append)
    with run.writing():
        run.stage("data", DataSummary, lambda: data_stage(run))
    return run


def test_a_malformed_data_file_stops_the_run_before_its_folder_exists(tmp_path: Path) -> None:
    refused = CliRunner().invoke(app, ["train", str(_config(tmp_path, file="broken.jsonl"))])
    assert refused.exit_code == 2 and "broken.jsonl:1: field 'y': missing" in refused.output
    assert not (tmp_path / "run").exists()


def test_a_data_stage_error_leaves_a_folder_the_corrected_command_takes_over(tmp_path: Path) -> None:
    every_label_kept = {"split": {"simulated_unlabelled_fraction": 0.0}}
    config = load_config(_config(tmp_path, data=every_label_kept))
    with pytest.raises(ValueError, match="no unlabelled transitions for the SWIRL phases"):
        _start(config, [])  # found by the data stage, after the folder was started
    assert (tmp_path / "run" / Layout.CONFIG).exists()
    messages: list[str] = []
    run = _start(load_config(_config(tmp_path)), messages)  # the corrected split
    assert run.ledger.done("data")
    assert any("no stage of the folder's run finished" in m and "data.split.simulated_unlabelled_fraction" in m
               for m in messages), messages


def test_a_folder_left_unstarted_loses_what_its_first_stage_wrote(tmp_path: Path) -> None:
    run = SwirlRun(load_config(_config(tmp_path, file="broken.jsonl")), lambda _: None)
    with run.writing():  # a data stage killed after training its image codec, before the ledger recorded it
        run.path(Layout.IMAGE_CODEC).mkdir()
        (run.path(Layout.IMAGE_CODEC) / "config.json").write_text("{}", encoding="utf-8")
    _start(load_config(_config(tmp_path)), [])
    assert not run.path(Layout.IMAGE_CODEC).exists()  # a codec found there would have been reused


def test_after_the_data_stage_a_budget_change_keeps_the_data_and_drops_later_outputs(tmp_path: Path) -> None:
    first = _start(load_config(_config(tmp_path)), [])
    interrupted = first.path(Layout.checkpoint("sft", "fwm"))  # an SFT killed after saving one role
    interrupted.mkdir(parents=True)
    splits = (first.path(Layout.DATA) / "labelled.jsonl").read_bytes()
    messages: list[str] = []
    again = _start(load_config(_config(tmp_path, eval={"max_new_tokens_state": 200, "embedding_similarity": False})),
                   messages)
    assert "[skip] data (done in an earlier run)" in messages
    assert any("only the data stage finished" in m and "eval.max_new_tokens_state: 96 in the folder, 200 now" in m
               for m in messages), messages
    assert not interrupted.exists() and (again.path(Layout.DATA) / "labelled.jsonl").read_bytes() == splits


@pytest.mark.parametrize(("change", "field"), [
    ({"data": {"split": {"val_fraction": 0.3}}}, "data.split.val_fraction: 0.1 in the folder, 0.3 now"),
    ({"seed": 1}, "seed: 0 in the folder, 1 now"),
])
def test_a_change_the_data_stage_read_is_refused_naming_the_field(tmp_path: Path, change, field: str) -> None:
    _start(load_config(_config(tmp_path)), [])
    raw = yaml.safe_load((tmp_path / "c.yaml").read_text(encoding="utf-8"))
    for key, value in change.items():
        raw[key] = raw[key] | value if isinstance(value, dict) else value
    with pytest.raises(ValueError, match="holds a different config") as refused:
        _start(RunConfig.model_validate(raw), [])
    assert field in str(refused.value) and "finished stages (data)" in str(refused.value)


def test_after_a_later_stage_any_change_is_refused_naming_the_fields(tmp_path: Path) -> None:
    run = _start(load_config(_config(tmp_path)), [])
    run.ledger.record("sft", {"fwm": "checkpoints/sft/fwm"})
    changed = load_config(_config(tmp_path, sft={"learning_rate": 1e-3}, eval={"max_new_tokens_state": 200,
                                                                                "embedding_similarity": False}))
    result = CliRunner().invoke(app, ["train", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2
    for text in ("holds a different config", "(data, sft)", "sft.learning_rate: 5e-05 in the folder, 0.001 now",
                 "eval.max_new_tokens_state: 96 in the folder, 200 now"):
        assert text in result.output, result.output
    assert changed.sft.learning_rate == 1e-3


def test_an_unreadable_folder_config_is_one_difference_saying_why(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    saved = tmp_path / "saved.yaml"
    saved.write_text("data: {env: jsonl, path: p}\nsft: {learning_rate: -1}\n", encoding="utf-8")
    [difference] = config_differences(saved, config)
    assert difference.key == "" and "no longer validates (sft.learning_rate" in difference.describe()
    saved.write_text("not: [yaml", encoding="utf-8")
    assert "not readable YAML" in config_differences(saved, config)[0].describe()


def test_a_finished_data_stage_does_not_read_its_file_again(tmp_path: Path) -> None:
    from swirl_wm.recipes.data import check_extras

    config = load_config(_config(tmp_path))
    _start(config, [])
    (tmp_path / "t.jsonl").unlink()  # a log moved away once its splits are in the run folder
    check_extras(config)  # the resumed run goes on from its splits


def test_a_folder_moved_elsewhere_resumes_there(tmp_path: Path) -> None:
    """The ledger's paths are relative to the folder, so ``output_dir`` is not part of what a stage computed."""
    import shutil

    run = _start(load_config(_config(tmp_path)), [])
    run.ledger.record("sft", {"fwm": "checkpoints/sft/fwm"})
    shutil.move(tmp_path / "run", tmp_path / "moved")
    messages: list[str] = []
    moved = _start(load_config(_config(tmp_path)).model_copy(update={"output_dir": tmp_path / "moved"}), messages)
    assert "[skip] data (done in an earlier run)" in messages and moved.ledger.done("sft")
    assert load_config(moved.path(Layout.CONFIG)).output_dir == tmp_path / "moved"
