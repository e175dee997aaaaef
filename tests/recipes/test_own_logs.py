"""The README's "Train on your own logs" path, command by command, on the tiny model: a state-only log
with a few labelled episodes → `swirl train` → `swirl label` → `swirl predict` → `swirl rollout` →
`swirl eval --rollout-steps 6`. The config is configs/own-logs.yaml with the model and budgets shrunk (its own
budgets are checked against the log in test_budgets.py)."""

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from swirl_wm.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "examples/physics-state-logs.jsonl"
SMALL = {"allow_cut_texts": True,  # budgets of a few tokens keep the tiny model's generations short
         "model": {"name_or_path": "tiny", "torch_threads": 1},
         "sft": {"learning_rate": 1.0e-3, "max_steps": 2, "per_device_train_batch_size": 4},
         "eval": {"max_examples": 4, "max_new_tokens_state": 8, "max_new_tokens_action": 6, "min_logprob": -1000,
                  "embedding_similarity": False, "rollout_steps": 6}}
PHASE = {"learning_rate": 1.0e-3, "num_generations": 2, "per_device_train_batch_size": 4, "max_steps": 1,
         "max_completion_length": 8}


def _config(tmp_path: Path) -> tuple[Path, Path]:
    raw = yaml.safe_load((ROOT / "configs/own-logs.yaml").read_text(encoding="utf-8"))
    run = tmp_path / "run"
    raw |= SMALL | {"output_dir": str(run)}
    raw["data"]["path"] = str(LOGS)
    raw["swirl"] |= {"phase1": PHASE, "phase2": PHASE, "latent_action": {"max_new_tokens": 6}}
    path = tmp_path / "own-logs.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path, run


def _rows(text: str) -> list[dict]:
    # progress bars of the model loading may share the captured stream: take each line's JSON object
    return [json.loads(line[line.index('{"'):]) for line in text.splitlines() if '{"' in line]


@pytest.mark.slow
def test_train_on_own_logs_then_label_predict_rollout_eval(tmp_path):
    runner = CliRunner()
    config, run = _config(tmp_path)
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    data = json.loads((run / "metrics.json").read_text())["run"]["data"]
    # 18 labelled episodes (4 test and 3 val at 0.2 and 0.15, 11 SFT) and the 42 state-only ones for SWIRL
    assert (data["test_episodes"], data["val_episodes"], data["labelled_episodes"], data["unlabelled_episodes"]) == (
        4, 3, 11, 42)
    assert "Objects on a 1-D track" in (run / "checkpoints/sft/fwm/README.md").read_text()

    labelled = tmp_path / "labelled.jsonl"
    result = runner.invoke(app, ["label", "--run", str(run), "--input", str(LOGS), "--output", str(labelled)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in labelled.read_text().splitlines()]
    assert len(rows) == 360 and all(r["z"] is not None for r in rows)
    assert sum(r["meta"]["label_source"] == "idm" for r in rows) == 42 * 6
    assert all(r["meta"]["idm_logprob"] <= 0 for r in rows if r["meta"]["label_source"] == "idm")

    x = rows[0]["x"]
    result = runner.invoke(app, ["predict", "--run", str(run), "--x", x, "--z", "push the jar left", "--n", "2"])
    assert result.exit_code == 0, result.output
    assert len(_rows(result.output)[0]["predictions"]) == 2

    rolled = tmp_path / "rollouts.jsonl"
    result = runner.invoke(app, ["rollout", "--run", str(run), "--input", str(run / "data/test.jsonl"),
                                 "--steps", "6", "--output", str(rolled)])
    assert result.exit_code == 0, result.output
    chains = [json.loads(line) for line in rolled.read_text().splitlines()]
    assert len(chains) == 4 and all(len(c["predicted_states"]) == len(c["actions"]) == 6 for c in chains)

    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["eval", "--run", str(run), "--data", str(run / "data/test.jsonl"),
                                 "--rollout-steps", "6", "--output", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert [r["step"] for r in metrics["rollout"]["model"]] == [1, 2, 3, 4, 5, 6]
    assert {"fwm/field_accuracy", "idm/grounded_accuracy", "cycle/rouge_l", "cycle/log_likelihood"} <= metrics.keys()


def test_too_few_labels_is_a_clear_error(tmp_path):
    logs = tmp_path / "two-labelled.jsonl"
    lines = LOGS.read_text().splitlines()
    keep = [line for line in lines if '"actions": null' in line][:10] + [
        line for line in lines if '"actions": null' not in line][:2]
    logs.write_text("\n".join(keep) + "\n")
    config, _ = _config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["data"]["path"] = str(logs)
    config.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "2 labelled episode(s)" in result.output and "3 are needed" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["predict", "--x", "s", "--z", "a"], "--run RUN_FOLDER or with --fwm"),
    (["predict", "--run", "r", "--fwm", "f", "--x", "s", "--z", "a"], "not both"),
    (["predict", "--run", "r"], "give --x and --z, or --input FILE"),
    (["rollout", "--run", "r", "--x0", "s"], "at least one --action"),
    (["label", "--run", "r", "--input", "missing.jsonl", "--output", "o.jsonl"], "missing.jsonl"),
])
def test_use_commands_refuse_unclear_arguments(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and message in result.output


def test_model_folder_without_run_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["predict", "--run", str(tmp_path / "nope"), "--x", "s", "--z", "a"])
    assert result.exit_code == 2 and "nope" in result.output
