"""A broken file of the user's (a checkpoint, a model name, a table, a log) ends the command in one line
that names it and says what to change: never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import pytest
import yaml
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.data.jsonl import DataError, parse_record, read_transitions
from swirl_wm.data.tables import read_table
from swirl_wm.models.loading import ModelUnreadable, load_model, load_tokenizer

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "examples/physics-state-logs.jsonl"


def _one_line_error(result, *names: str) -> str:
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    text = result.output.strip().splitlines()[-1]  # after the stages' announcements, if any
    assert text.startswith("error:") and "Traceback" not in result.output, result.output
    for name in names:
        assert name in text, (name, text)
    return text


@pytest.fixture
def truncated(tmp_path: Path, tiny_path: str) -> Path:
    """A copy of the tiny model whose model.safetensors was cut in half (an interrupted copy)."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_path, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return folder


def test_a_truncated_checkpoint_under_predict_is_one_line_naming_it(truncated: Path) -> None:
    result = CliRunner().invoke(app, ["predict", "--fwm", str(truncated), "--x", "s", "--z", "a"])
    _one_line_error(result, str(truncated), "model.safetensors")


def test_a_truncated_checkpoint_under_eval_is_one_line_naming_it(tmp_path: Path, truncated: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(truncated, run / "checkpoints/sft/fwm")
    (run / "config.yaml").write_text(yaml.safe_dump({"name": "r", "eval": {"embedding_similarity": False}}))
    role = "checkpoints/sft/fwm"
    (run / "state.json").write_text(json.dumps({"stages": {"sft/eval": {"checkpoints": {"fwm": role, "idm": role}}}}))
    result = CliRunner().invoke(app, ["eval", "--run", str(run), "--data", str(LOGS), "--phase", "sft"])
    _one_line_error(result, str(run / role), "model.safetensors")


def test_a_folder_or_hub_id_without_a_model_names_it(tmp_path: Path) -> None:
    with pytest.raises(ModelUnreadable, match=rf"^{tmp_path}: cannot load the model \(ValueError"):
        load_model(str(tmp_path))
    with pytest.raises(ModelUnreadable, match=r"^owner/no-such-model: cannot load the tokenizer .*hub id"):
        load_tokenizer("owner/no-such-model")  # the tests run offline: as a download that cannot be made


def _train(tmp_path: Path, **sections) -> tuple[Path, Path]:
    raw = {"output_dir": str(tmp_path / "run"), "data": {"env": "jsonl", "path": str(LOGS)},
           "model": {"name_or_path": "tiny"}, "eval": {"embedding_similarity": False}}
    for section, values in sections.items():
        raw[section] = raw[section] | values
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path, tmp_path / "run"


def test_a_misspelt_model_name_fails_at_validation_before_any_folder(tmp_path: Path) -> None:
    config, run = _train(tmp_path, model={"name_or_path": "tinyy"})
    for command in (["config", "show"], ["train"]):
        result = CliRunner().invoke(app, [*command, str(config)])
        assert result.exit_code == 2, result.output
        assert "model.name_or_path" in result.output and "did you mean 'tiny'" in result.output
    assert not run.exists()
    result = CliRunner().invoke(app, ["demo", "--model", "smollm3", "--output-dir", str(run)])
    _one_line_error(result, "--model", "'smollm3'", "did you mean 'smollm2'")
    assert not run.exists()


@pytest.mark.parametrize("name", ["owner/model", "tiny", "smollm2", "small"])
def test_a_preset_or_hub_id_passes_validation(tmp_path: Path, name: str) -> None:
    config, _ = _train(tmp_path, model={"name_or_path": name})
    assert CliRunner().invoke(app, ["config", "show", str(config)]).exit_code == 0


def test_jsonl_given_as_parquet_names_the_file_and_the_setting(tmp_path: Path) -> None:
    config, _ = _train(tmp_path, data={"env": "parquet"})
    _one_line_error(CliRunner().invoke(app, ["train", str(config)]), str(LOGS), "not a Parquet file",
                    "data.env: jsonl")


def test_parquet_given_as_jsonl_names_the_setting(tmp_path: Path) -> None:
    table = tmp_path / "t.parquet"
    datasets.Dataset.from_list([{"episode_id": "e", "x": "a", "y": "b"}]).to_parquet(str(table))
    with pytest.raises(DataError, match=rf"^{table}:1: a Parquet file, not JSONL: set data.env: parquet$"):
        read_transitions(table)


def test_parquet_with_other_columns_lists_them_and_points_at_data_columns(tmp_path: Path) -> None:
    table = tmp_path / "t.parquet"
    datasets.Dataset.from_list([{"run": "e", "obs": "a", "act": "b", "next": "c"}]).to_parquet(str(table))
    with pytest.raises(DataError) as err:
        read_table(table)
    assert str(err.value).startswith(f"{table}:0: unknown column(s) 'run', 'obs', 'act', 'next'")
    assert "the table's columns are 'run', 'obs', 'act', 'next'" in str(err.value) and "data.columns" in str(err.value)
    from swirl_wm.data.jsonl import ColumnMap

    partial = ColumnMap(episode_id="run", x="obs", z="act", ignore=("next",))  # y forgotten
    with pytest.raises(DataError, match=r"neither states nor transitions, and no y: the table's columns are"):
        read_table(table, partial)
    assert len(read_table(table, ColumnMap(episode_id="run", x="obs", z="act", y="next"))) == 1


def test_a_broken_datasets_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    datasets.Dataset.from_list([{"episode_id": "e", "x": "a", "y": "b"}]).save_to_disk(str(folder))
    (folder / "state.json").write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{folder}:0: not a Hugging Face datasets folder"):
        read_table(folder)


def test_an_episode_without_states_says_states_is_missing() -> None:
    with pytest.raises(DataError, match=r"^f:3: field 'states': missing: a record with 'actions' is an episode"):
        parse_record({"episode_id": "e", "actions": ["a", "b"]}, ("f", 3))
