"""`swirl paw` end to end on TextWorldExpress with the tiny model: walkthrough SFT → GRPO + PaW → eval."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.reporting.benchmark import agent_phases

pytest.importorskip("textworld_express", reason="textworld-express not installed (pip install textworld-express)")

CONFIG = """\
name: paw-e2e
seed: 0
output_dir: {out}
env:
  name: textworld_express
  textworld_express: {{game: cookingworld, train_tasks: 2, test_tasks: 1}}
model: {{name_or_path: tiny, torch_threads: 1}}
sft: {{learning_rate: 1.0e-3, max_steps: 1, per_device_train_batch_size: 8, max_length: 1024}}
rl: {{learning_rate: 1.0e-4, num_generations: 2, per_device_train_batch_size: 2, max_steps: 1, beta: 0.0}}
rollout: {{max_steps: 2, max_action_tokens: 4, max_observation_chars: 200, max_context_tokens: 768}}
paw: {{enabled: {paw}}}
eval: {{batch_size: 1, wm_max_examples: 2, max_new_tokens_observation: 8}}
"""


@pytest.mark.slow
@pytest.mark.java
def test_paw_run_resumes_and_reports(tmp_path) -> None:
    run = tmp_path / "run"
    config = tmp_path / "paw.yaml"
    config.write_text(CONFIG.format(out=run, paw="true"), encoding="utf-8")
    result = CliRunner().invoke(app, ["paw", str(config)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["train"]["tasks"] == 2 and metrics["data"]["test"]["tasks"] == 1
    for stage in ("sft/eval", "rl/eval"):
        test = metrics["stages"][stage]["test"]
        assert 0 <= test["agent/success_rate"] <= 1 and test["wm/examples"] == 2
    rl = metrics["stages"]["rl"]
    assert rl["paw"] and rl["train_log"] and "paw/wm_loss" in rl["train_log"][0]
    report = (run / "report.md").read_text()
    assert "GRPO + PaW" in report
    # the same provenance header as a SWIRL run's report (reporting/markdown.run_header)
    assert report.startswith("# Agent run report: ") and "| method | GRPO + PaW |" in report
    assert "| seed | 0 |" in report and "| git commit | `" in report
    evaluated = CliRunner().invoke(app, ["eval", "--run", str(run), "--phase", "sft",
                                         "--output", str(tmp_path / "eval.json")])
    assert evaluated.exit_code == 0, evaluated.output
    again_sft = json.loads((tmp_path / "eval.json").read_text())
    assert again_sft["phase"] == "sft" and again_sft["test"] == metrics["stages"]["sft/eval"]["test"]  # greedy
    missing = CliRunner().invoke(app, ["eval", "--run", str(run), "--phase", "iter1/phase1"])
    assert missing.exit_code == 2 and "has not finished" in missing.output
    again = CliRunner().invoke(app, ["paw", str(config)])  # a finished run: every stage is skipped
    assert again.exit_code == 0 and again.output.count("[skip]") == 6
    config.write_text(CONFIG.format(out=run, paw="false"), encoding="utf-8")
    refused = CliRunner().invoke(app, ["paw", str(config)])
    assert refused.exit_code == 2 and "different config" in refused.output


@pytest.mark.slow
@pytest.mark.java
def test_paw_run_with_lora_adapters(tmp_path) -> None:
    """model.lora in an agent run: walkthrough SFT and GRPO + PaW train adapters, saved merged (plain)."""
    from safetensors.torch import load_file

    run = tmp_path / "run"
    config = tmp_path / "paw.yaml"
    text = CONFIG.format(out=run, paw="true").replace("torch_threads: 1}", "torch_threads: 1, lora: {r: 2}}")
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["paw", str(config)])
    assert result.exit_code == 0, result.output
    sft, rl = (load_file(str(run / f"checkpoints/{s}/model.safetensors")) for s in ("sft", "rl"))
    assert sft.keys() == rl.keys() and not any("lora" in k for k in rl)
    assert any(not sft[k].equal(rl[k]) for k in rl if k.endswith("proj.weight"))
    assert all(sft[k].equal(rl[k]) for k in rl if "norm" in k)  # only the adapted matrices moved


@pytest.mark.slow
def test_paw_runs_on_alfworld(tmp_path) -> None:
    """The ALFWorld-style environment through the same CLI: GRPO + PaW, per-task-type success."""
    pytest.importorskip("alfworld", reason="alfworld not installed (make alfworld)")
    run = tmp_path / "run"
    config = tmp_path / "paw.yaml"
    text = CONFIG.format(out=run, paw="true").replace(
        "name: textworld_express\n  textworld_express: {game: cookingworld, train_tasks: 2, test_tasks: 1}",
        "name: alfworld\n  alfworld: {train_tasks: 2, test_tasks: 2,\n"
        "             task_types: [pick_and_place_simple, look_at_obj_in_light]}")
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["paw", str(config)])
    assert result.exit_code == 0, result.output
    test = json.loads((run / "metrics.json").read_text())["stages"]["rl/eval"]["test"]
    assert any(key.startswith("agent/success_rate/") for key in test)
    assert "paw/wm_loss" in json.loads((run / "metrics.json").read_text())["stages"]["rl"]["train_log"][0]


def test_paw_config_errors_name_the_field(tmp_path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("paw: {alpha: 2}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["paw", str(config)])
    assert result.exit_code == 2 and "paw.alpha" in result.output and ":1:" in result.output


PHYSICS_GOAL = """\
name: paw-physics-goal-e2e
seed: 0
output_dir: {out}
env:
  name: physics_goal
  physics_goal: {{train_tasks: 8, dev_tasks: 2, test_tasks: 4}}
model: {{name_or_path: small, torch_threads: 1}}
sft: {{learning_rate: 1.0e-3, max_steps: 2, per_device_train_batch_size: 8, max_length: 512}}
rl: {{learning_rate: 1.0e-3, num_generations: 8, per_device_train_batch_size: 8, max_steps: 2, beta: 0.0,
     temperature: 1.0, top_p: 1.0}}
rollout: {{max_steps: 6, max_action_tokens: 6, max_observation_chars: 200, max_context_tokens: 512}}
paw: {{enabled: true}}
eval: {{batch_size: 4, wm_max_examples: 2, max_new_tokens_observation: 8, train_tasks: 4, curve_every: 1}}
"""


def test_paw_runs_on_physics_goals_with_the_small_tier(tmp_path) -> None:
    """`swirl paw` on the embedded goal-reaching tasks with the small tier (its tokenizer trained on the train
    walkthroughs, a plain chat template): every stage runs, the RL step moves the weights, and the run
    records what decides whether GRPO can learn (SFT's train-task success, mixed groups, the dev curve)
    beside the random admissible baseline."""
    from safetensors.torch import load_file

    run = tmp_path / "run"
    config = tmp_path / "paw.yaml"
    config.write_text(PHYSICS_GOAL.format(out=run), encoding="utf-8")
    result = CliRunner().invoke(app, ["paw", str(config)])
    assert result.exit_code == 0, result.output
    assert (run / "base/tokenizer_config.json").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    stages = metrics["stages"]
    assert metrics["data"]["train"]["tasks"] == 8 and metrics["run"]["model_source"].startswith("small Llama")
    for stage in ("sft/eval", "rl/eval", "baseline/random"):
        assert set(stages[stage]["train"]) >= {"agent/success_rate", "agent/success_rate/pos", "agent/mean_steps"}
        assert 0 <= stages[stage]["test"]["agent/success_rate"] <= 1
    rl = stages["rl"]
    assert len(rl["rollouts"]) == 2 and all(0 <= r["mixed_groups"] <= 1 for r in rl["rollouts"])
    assert [p["step"] for p in rl["curve"]] == [0, 1, 2] and "agent/success_rate" in rl["curve"][0]
    bench = agent_phases(metrics)  # what `swirl bench` aggregates keeps these records
    assert {"agent/train_success_rate", "rl/mixed_groups"} <= bench["phases"][1]["test"].keys()
    assert (bench["trivial_baselines"]["random"]["test"]["agent/train_success_rate"]
            == stages["baseline/random"]["train"]["agent/success_rate"])
    assert bench["curve"] == rl["curve"]
    sft, trained = (load_file(str(run / f"checkpoints/{s}/model.safetensors")) for s in ("sft", "rl"))
    assert any(not sft[k].equal(trained[k]) for k in trained)
    report = (run / "report.md").read_text()
    assert "| random admissible action |" in report and "## Can GRPO learn here?" in report
    assert "mixed outcomes" in report and "| 0 (SFT) |" in report
