"""The whole loop through the CLI on the tiny model: data → SFT → Phase I → Phase II → eval → report,
then resume, `swirl eval` and `swirl data generate`. Marked slow (about a minute on 2 cores).

The random tiny model scores every text near the default clamp (−10), which would make every reward in a
group equal and every advantage zero (no update at all, correctly); the clamp is lowered so that a
single GRPO step has a signal."""

import json

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.models.prompts import PromptFormat

CONFIG = """
name: e2e
seed: 0
output_dir: {out}
allow_cut_texts: true  # budgets of a few tokens keep the tiny model's generations short
data:
  env: physics
  physics: {{n_objects: 2, episode_length: 3, n_episodes: 12}}
model: {{name_or_path: tiny, torch_threads: 1}}
sft: {{learning_rate: 1.0e-3, max_steps: 2, per_device_train_batch_size: 4, eval_steps: 1, early_stopping_patience: 2,
      curve_examples: 2}}
swirl:
  iterations: 1
  phase1: {{learning_rate: 1.0e-3, num_generations: 2, per_device_train_batch_size: 4, max_steps: 1,
           max_completion_length: 8}}
  phase2: {{learning_rate: 1.0e-3, num_generations: 2, per_device_train_batch_size: 4, max_steps: 1,
           max_completion_length: 8}}
  latent_action: {{max_new_tokens: 8}}
  warm_start_check: {{pairs: 2}}
eval: {{max_examples: 3, max_new_tokens_state: 8, max_new_tokens_action: 8, min_logprob: -1000,
       embedding_similarity: false}}
"""


def _weights(folder):
    return load_file(str(folder / "model.safetensors"))


def _changed(a, b):
    return any(not a[k].equal(b[k]) for k in a)


@pytest.mark.slow
def test_whole_loop_resume_and_eval(tmp_path, tiny_path):
    run = tmp_path / "run"
    config = tmp_path / "e2e.yaml"
    config.write_text(CONFIG.format(out=run), encoding="utf-8")
    runner = CliRunner()

    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert [p["name"] for p in metrics["phases"]] == ["sft", "iter1/phase1", "iter1/phase2"]
    # TensorBoard curves of every SFT role and GRPO phase, and the CLI says where
    logged = {p.parts[len(run.parts) + 1] for p in run.glob("logs/*/runs/*/events.out.tfevents.*")}
    assert {"sft-fwm", "sft-idm", "iter1-phase1", "iter1-phase2"} <= logged, logged
    assert f"tensorboard --logdir {run / 'logs'}" in " ".join(result.output.split())
    for phase in metrics["phases"]:
        for split in ("val", "test"):
            keys = set(phase[split])
            assert {"fwm/exact_match", "fwm/bleu", "fwm/rouge_l", "fwm/log_likelihood", "fwm/field_accuracy",
                    "idm/bleu", "idm/rouge_l", "idm/grounded_accuracy"} <= keys
    assert metrics["phases"][1]["latent_actions"]["pairs"] == 2
    # every stage records the commit it ran at (a resumed run's may differ); an HTML page beside report.md
    assert set(metrics["run"]["stage_commits"].values()) == {metrics["run"]["git_commit"]}
    assert {"sft", "iter1/phase1", "iter1/phase2"} <= metrics["run"]["stage_commits"].keys()
    assert (run / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert "fwm/effect_accuracy" in metrics["phases"][0]["test"]
    check = metrics["phases"][1]["warm_start_check"]
    assert check["reward_signal"]["groups"] == 2 and "idm/grounded_accuracy" in check["idm_val"]
    phase2 = metrics["phases"][2]["phase2_check"]["reward_signal"]  # Phase II's: the IDM's sampled actions
    assert phase2["groups"] == 2 and 0.0 <= phase2["mean_quality"] <= 1.0
    # trivial baselines beside the models, cycle consistency and per-step rollouts in every phase
    assert {"copy", "noop", "most_frequent_action"} <= metrics["trivial_baselines"].keys()
    assert "fwm/field_accuracy" in metrics["trivial_baselines"]["noop"]["test"]
    assert all({"cycle/rouge_l", "cycle/log_likelihood"} <= p["test"].keys() for p in metrics["phases"])
    rollout = metrics["phases"][0]["rollout"]
    assert [r["step"] for r in rollout["model"]] == [1, 2, 3] == [r["step"] for r in rollout["copy"]]
    assert metrics["best"]["criterion"] == {"fwm": "val fwm/field_accuracy", "idm": "val idm/grounded_accuracy"}
    # the SFT warm start is checked on validation: loss and generation metrics per evaluation, per role
    sft_log = metrics["phases"][0]["train_log"]
    assert {e["role"] for e in sft_log if "eval_loss" in e} == {"fwm", "idm"}
    assert any("curve/idm/grounded_accuracy" in e for e in sft_log)
    assert not list((run / "logs").glob("sft-*/checkpoint-*"))  # early stopping's checkpoints are cleaned up
    report = (run / "report.md").read_text()
    assert "SFT learning curve" in report and "Reward check before each Phase II" in report
    assert "*copy the state (ŷ = x)*" in report and "Multi-step rollouts" in report
    card = (run / "checkpoints/iter1-phase1/fwm/README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers") and "after iter1/phase1" in card
    assert metrics["phases"][1]["nonfinite_scores"] == metrics["phases"][2]["nonfinite_scores"] == 0
    assert all("reward" in e and "kl" in e for e in metrics["phases"][1]["train_log"])
    assert metrics["best"]["fwm"] in {"sft", "iter1/phase1", "iter1/phase2"}
    assert metrics["run"]["seed"] == 0 and metrics["run"]["git_commit"]
    assert (run / "plot.png").stat().st_size > 0 and "Test split" in (run / "report.md").read_text()
    assert '"z": null' in (run / "data/unlabelled.jsonl").read_text()
    predictions = (run / "predictions/iter1-phase1/test-fwm.jsonl").read_text().splitlines()
    assert len(predictions) == 3 and {"x", "reference", "prediction"} <= json.loads(predictions[0]).keys()
    assert not (run / "predictions/iter1-phase1/test-idm.jsonl").exists()  # the IDM did not change

    # the weights really changed, phase by phase
    base, ckpt = _weights(__import__("pathlib").Path(tiny_path)), run / "checkpoints"
    assert _changed(base, _weights(ckpt / "sft/fwm")) and _changed(base, _weights(ckpt / "sft/idm"))
    assert _changed(_weights(ckpt / "sft/fwm"), _weights(ckpt / "iter1-phase1/fwm"))
    assert _changed(_weights(ckpt / "sft/idm"), _weights(ckpt / "iter1-phase2/idm"))

    # the same command resumes: every stage is skipped and the metrics are unchanged
    again = runner.invoke(app, ["train", str(config)])
    assert again.exit_code == 0, again.output
    assert again.output.count("[skip]") == 8
    assert json.loads((run / "metrics.json").read_text())["phases"] == metrics["phases"]

    # a different config on the same folder is refused with a clear message
    config.write_text(CONFIG.format(out=run).replace("seed: 0", "seed: 1"), encoding="utf-8")
    refused = runner.invoke(app, ["train", str(config)])
    assert refused.exit_code == 2 and "different config" in refused.output

    evaluated = runner.invoke(app, ["eval", "--run", str(run), "--data", str(run / "data/test.jsonl"),
                                    "--phase", "sft", "--output", str(tmp_path / "eval.json")])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads((tmp_path / "eval.json").read_text())["checkpoints"]["fwm"] == "checkpoints/sft/fwm"


def test_data_generate_and_bad_input(tmp_path):
    runner = CliRunner()
    out = tmp_path / "physics.jsonl"
    result = runner.invoke(app, ["data", "generate", "--env", "physics", "--output", str(out), "--n-episodes", "3"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 3 * 6
    wrong = runner.invoke(app, ["data", "generate", "--env", "physic", "--output", str(out)])
    assert wrong.exit_code == 2 and "'physic' is not one of" in " ".join(wrong.output.split())
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 0\nsft:\n  learning_rat: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["train", str(bad)])
    assert result.exit_code == 2 and "bad.yaml:3: field 'sft.learning_rat'" in result.output


@pytest.mark.slow
def test_shared_weights_idm_diff_and_normalised_phase1_reward(tmp_path):
    run = tmp_path / "shared"
    config = tmp_path / "shared.yaml"
    text = CONFIG.format(out=run).replace("torch_threads: 1}", "torch_threads: 1, shared: true, idm_diff: true}")
    config.write_text(text.replace("iterations: 1", "iterations: 1\n  phase1_reward: normalised"))
    result = CliRunner().invoke(app, ["train", str(config)])  # paraphrased actions: refused before any work
    assert "normalised needs a finite set of canonical actions" in result.output and not run.exists()
    config.write_text(config.read_text().replace("n_episodes: 12}", "n_episodes: 12, paraphrased: false}"))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    state = json.loads((run / "state.json").read_text())["stages"]
    assert state["sft"]["fwm"] == state["sft"]["idm"] == "checkpoints/sft/shared"
    assert state["iter1/phase1"]["fwm"] == state["iter1/phase1"]["idm"] == "checkpoints/iter1-phase1/shared"
    assert state["iter1/phase2"]["idm"] == "checkpoints/iter1-phase2/shared"
    assert _changed(_weights(run / "checkpoints/sft/shared"), _weights(run / "checkpoints/iter1-phase2/shared"))
    for phase in ("sft", "iter1-phase1", "iter1-phase2"):  # every checkpoint is prompted as it was trained
        assert PromptFormat.load(run / f"checkpoints/{phase}/shared") == PromptFormat(idm_diff=True)
    rewards = [h["reward"] for h in state["iter1/phase1"]["train_log"] if "reward" in h]
    # a log posterior over 11 actions of a random model sits near −log 11, a raw log Q near −log |V| ≈ −10.8
    assert rewards and all(-6 < r <= 0 for r in rewards)


@pytest.mark.slow
def test_lora_run_saves_plain_checkpoints_with_low_rank_updates(tmp_path, tiny_path):
    """model.lora: each stage trains a rank-r adapter and saves it merged, so a checkpoint is a plain model
    whose change from its input has rank ≤ r in every adapted matrix (SFT from the base, Phase I from SFT)."""
    from pathlib import Path

    import torch

    run = tmp_path / "lora"
    config = tmp_path / "lora.yaml"
    config.write_text(CONFIG.format(out=run))
    # β = 0.1 (default): TRL's reference model is the base with the adapter disabled. Also: Phase I's
    # completions reach TensorBoard as a text table (log_completions)
    result = CliRunner().invoke(app, ["train", str(config), "--set", "model.lora={r: 2}",
                                      "--set", "swirl.phase1.log_completions=true"])
    assert result.exit_code == 0, result.output
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next((run / "logs/iter1-phase1/runs").iterdir())), size_guidance={"tensors": 0})
    events.Reload()
    assert "completions/text_summary" in events.Tags()["tensors"]
    table = events.Tensors("completions/text_summary")[0].tensor_proto.string_val[0].decode()
    assert table.startswith("| prompt | completion | log_Q | advantage |")
    base = _weights(Path(tiny_path))
    sft, phase1 = _weights(run / "checkpoints/sft/fwm"), _weights(run / "checkpoints/iter1-phase1/fwm")
    assert sft.keys() == base.keys() and not list((run / "checkpoints/sft/fwm").glob("adapter_*"))
    for before, after in ((base, sft), (sft, phase1)):
        changed = [k for k in after if k.endswith("proj.weight") and not after[k].equal(before[k])]
        assert changed  # the adapters trained
        assert all(torch.linalg.matrix_rank((after[k] - before[k]).double(), rtol=1e-6) <= 2 for k in changed)
        assert all(after[k].equal(before[k]) for k in after if "norm" in k)  # only adapted matrices move


@pytest.mark.slow
def test_lora_shared_base_run_saves_two_adapters_on_one_frozen_base(tmp_path, tiny_path):
    """model.lora.shared_base: every checkpoint is an adapter on the untouched base; each phase goes on
    training its role's adapter (so TRL's reference is that adapter's copy) while the frozen role is scored
    as a second adapter on the same base; evaluation and WorldModel read the adapter folders."""
    from pathlib import Path

    from swirl_wm.models.loading import adapter_base
    from swirl_wm.models.world_model import WorldModel

    run = tmp_path / "adapters"
    config = tmp_path / "adapters.yaml"
    config.write_text(CONFIG.format(out=run))
    result = CliRunner().invoke(app, ["train", str(config), "--set", "model.lora={r: 2, shared_base: true}"])
    assert result.exit_code == 0, result.output
    folders = {name: run / "checkpoints" / name for name in ("sft/fwm", "sft/idm", "iter1-phase1/fwm",
                                                               "iter1-phase2/idm")}
    adapters = {}
    for name, folder in folders.items():
        assert not (folder / "model.safetensors").exists(), name
        assert adapter_base(folder) == str(Path(tiny_path).resolve())
        adapters[name] = load_file(str(folder / "adapter_model.safetensors"))
        assert adapters[name] and all("lora_" in k for k in adapters[name])  # the adapter alone, no 'ref' copy
    assert _changed(adapters["sft/fwm"], adapters["iter1-phase1/fwm"])
    assert _changed(adapters["sft/idm"], adapters["iter1-phase2/idm"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert [p["name"] for p in metrics["phases"]] == ["sft", "iter1/phase1", "iter1/phase2"]
    assert all("fwm/field_accuracy" in p["test"] for p in metrics["phases"])
    wm = WorldModel.from_pretrained(str(folders["iter1-phase1/fwm"]), str(folders["iter1-phase2/idm"]),
                                    max_new_tokens_state=4, max_new_tokens_action=4)
    assert len(wm.predict("ball: x=1", "push ball right")) == 1  # one sample of the next state


@pytest.mark.slow
def test_the_shapes_world_feeds_the_loop_from_its_registry_line(tmp_path, tiny_path):
    """data.env: shapes (the visual environment, as text scenes; test_e2e_images.py: as frames): SFT, Phase I
    and evaluation with the environment's own checks (field accuracy per cell, grounded accuracy by apply)."""
    run = tmp_path / "shapes"
    config = tmp_path / "shapes.yaml"
    config.write_text(CONFIG.format(out=run).replace(
        "physics: {n_objects: 2, episode_length: 3, n_episodes: 12}",
        "shapes: {n_objects: 2, episode_length: 3, n_episodes: 12}").replace("env: physics", "env: shapes"))
    result = CliRunner().invoke(app, ["train", str(config), "--set", "swirl.train_idm=false"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert [p["name"] for p in metrics["phases"]] == ["sft", "iter1/phase1"]
    test = metrics["phases"][1]["test"]
    assert 0 <= test["fwm/field_accuracy"] <= 1 and 0 <= test["idm/grounded_accuracy"] <= 1


@pytest.mark.slow
def test_greedy_latent_actions_all_dropped_is_a_clear_error(tmp_path):
    # the barely trained tiny IDM writes only whitespace: greedy mode keeps no pair, and says why
    run = tmp_path / "greedy"
    config = tmp_path / "greedy.yaml"
    config.write_text(CONFIG.format(out=run).replace(
        "latent_action: {max_new_tokens: 8}", "latent_action: {max_new_tokens: 8, mode: greedy}"))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 2 and "every latent action was dropped" in result.output
    assert json.loads((run / "state.json").read_text())["stages"].keys() == {"data", "sft", "sft/eval"}


@pytest.mark.slow
@pytest.mark.parametrize("lora", [False, True])
def test_two_process_job_on_cpu(tmp_path, tiny_path, lora):
    """`accelerate launch` with 2 CPU processes (gloo): both train, only the main one builds data,
    evaluates and writes (trl-notes.md: --cpu would silently run one process); with ``model.lora`` too
    (DDP over the adapter's parameters; saved merged, rank ≤ r updates)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import torch

    run = tmp_path / "mp"
    config = tmp_path / "mp.yaml"
    config.write_text(CONFIG.format(out=run), encoding="utf-8")
    launcher = Path(sys.executable).with_name("accelerate")
    result = subprocess.run(
        [str(launcher), "launch", "--multi_gpu", "--num_processes", "2", "--num_cpu_threads_per_process", "1",
         "-m", "swirl_wm.cli.main", "train", str(config), *(["--set", "model.lora={r: 2}"] if lora else [])],
        capture_output=True, text=True, timeout=600, env=os.environ | {"OMP_NUM_THREADS": "1"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert output.count("[stage] data") == 1 and output.count("[stage] sft/eval") == 1
    assert output.count("[stage] sft\n") == 2 and output.count("[stage] iter1/phase1\n") == 2
    assert json.loads((run / "metrics.json").read_text())["best"]["fwm"]
    if lora:
        base, sft = _weights(Path(tiny_path)), _weights(run / "checkpoints/sft/fwm")
        changed = [k for k in sft if k.endswith("proj.weight") and not sft[k].equal(base[k])]
        assert changed and sft.keys() == base.keys()
        assert all(torch.linalg.matrix_rank((sft[k] - base[k]).double(), rtol=1e-6) <= 2 for k in changed)
        return
    # a different config on the same folder: every rank refuses (none is left waiting for the others)
    config.write_text(CONFIG.format(out=run).replace("seed: 0", "seed: 1"), encoding="utf-8")
    refused = subprocess.run(
        [str(launcher), "launch", "--multi_gpu", "--num_processes", "2", "--num_cpu_threads_per_process", "1",
         "-m", "swirl_wm.cli.main", "train", str(config)],
        capture_output=True, text=True, timeout=180, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert refused.returncode != 0
    assert (refused.stdout + refused.stderr).count("holds a different config") == 2


def test_out_of_memory_gives_an_actionable_message(tmp_path, monkeypatch):
    import torch

    import swirl_wm.recipes.swirl

    def oom(*_args, **_kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(swirl_wm.recipes.swirl, "run_swirl", oom)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "run"), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "out of memory" in result.output and "per_device_train_batch_size" in result.output


@pytest.mark.slow
def test_warm_start_check_stops_before_phase1(tmp_path):
    run = tmp_path / "check"
    config = tmp_path / "check.yaml"
    config.write_text(CONFIG.format(out=run).replace("warm_start_check: {pairs: 2}",
                                                     "warm_start_check: {pairs: 2, min_idm_metric: 1.01}"))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 2 and "warm start is not ready for RL" in result.output
    assert "IDM val idm/grounded_accuracy" in result.output
    assert "iter1/phase1" not in json.loads((run / "state.json").read_text())["stages"]


@pytest.mark.parametrize(("keep", "left"), [
    ("all", {"sft/fwm", "sft/idm", "iter1-phase1/fwm", "iter1-phase2/idm", "bootstrap/fwm"}),
    ("best", {"iter1-phase1/fwm", "sft/idm"}),
    ("last", {"iter1-phase1/fwm", "iter1-phase2/idm"})])
def test_prune_checkpoints(tmp_path, keep, left):
    from swirl_wm.recipes.swirl import prune_checkpoints

    for folder in ("sft/fwm", "sft/idm", "iter1-phase1/fwm", "iter1-phase2/idm", "bootstrap/fwm"):
        (tmp_path / "checkpoints" / folder).mkdir(parents=True)
    phases = [{"name": "sft", "checkpoints": {"fwm": "checkpoints/sft/fwm", "idm": "checkpoints/sft/idm"}},
              {"name": "iter1/phase1", "checkpoints": {"fwm": "checkpoints/iter1-phase1/fwm",
                                                       "idm": "checkpoints/sft/idm"}},
              {"name": "iter1/phase2", "checkpoints": {"fwm": "checkpoints/iter1-phase1/fwm",
                                                       "idm": "checkpoints/iter1-phase2/idm"}}]
    metrics = {"phases": phases, "best": {"fwm": "iter1/phase1", "idm": "sft"}}
    removed = prune_checkpoints(tmp_path, metrics, keep)
    now = {p.relative_to(tmp_path / "checkpoints").as_posix() for p in (tmp_path / "checkpoints").glob("*/*")}
    assert now == left and len(removed) == 5 - len(left)
    assert all(not (tmp_path / r).exists() for r in removed)
    assert not (keep == "best" and (tmp_path / "checkpoints/bootstrap").exists())  # empty parents go too


def test_eval_of_a_pruned_phase_is_a_clear_error(tmp_path):
    from swirl_wm.evaluation.run_eval import load_world_model

    (tmp_path / "config.yaml").write_text("keep_checkpoints: best\neval: {}\n")
    stages = {"sft/eval": {"checkpoints": {"fwm": "checkpoints/sft/fwm", "idm": "checkpoints/sft/idm"}}}
    (tmp_path / "state.json").write_text(json.dumps({"stages": stages}))
    with pytest.raises(FileNotFoundError, match="is gone: the run kept only keep_checkpoints='best'"):
        load_world_model(tmp_path, "sft")


def test_best_fwm_is_chosen_among_every_phase_self_training_included():
    from swirl_wm.recipes.swirl import _best

    def phase(name, accuracy):
        return {"name": name, "val": {"fwm/field_accuracy": accuracy}}

    phases = [phase("sft", 0.6), phase("iter1/phase1", 0.7), phase("iter1/phase2", 0.7), phase("self-training", 0.8)]
    assert _best(phases, "fwm/field_accuracy") == "self-training"
    phases[-1]["val"]["fwm/field_accuracy"] = 0.7  # a tie goes to the earlier phase
    assert _best(phases, "fwm/field_accuracy") == "iter1/phase1"


@pytest.mark.slow
def test_phase1_from_the_bootstrap_fwm_and_the_pseudo_label_sft(tmp_path):
    """``baselines.bootstrap_phase1``: Phase I on iteration 1's pairs and latent actions, from the bootstrap
    FWM; ``baselines.pseudo_label_sft``: the oracle's FWM recipe on L + those pairs; ``swirl.self_training``:
    the same recipe as a phase; a finished run takes all three as added stages, and a rerun skips them."""
    from swirl_wm.evaluation.run_eval import phase_checkpoints
    from swirl_wm.reporting.benchmark import aggregate

    run = tmp_path / "run"
    config = tmp_path / "boot.yaml"
    text = CONFIG.format(out=run).replace("  iterations: 1\n", "  iterations: 1\n  train_idm: false\n")
    config.write_text(text + "baselines: {bootstrap: true}\n", encoding="utf-8")
    runner = CliRunner()
    assert (result := runner.invoke(app, ["train", str(config)])).exit_code == 0, result.output
    more = ["--set", "baselines.bootstrap_phase1=true", "--set", "baselines.pseudo_label_sft=true",
            "--set", "baselines.oracle=true", "--set", "swirl.self_training=true"]
    extended = runner.invoke(app, ["train", str(config), *more])
    assert extended.exit_code == 0, extended.output
    assert "[stage] self-training\n" in extended.output and "[stage] self-training/eval" in extended.output
    assert "[stage] baselines/bootstrap_phase1" in extended.output and "[skip] baselines/bootstrap" in extended.output
    metrics = json.loads((run / "metrics.json").read_text())
    arm = metrics["baselines"]["bootstrap_phase1"]
    assert arm["pairs"] == metrics["phases"][1]["latent_actions"]["kept"]
    assert "fwm/field_accuracy" in arm["test"] and all("reward" in e for e in arm["train_log"])
    ckpt = run / "checkpoints"
    assert _changed(_weights(ckpt / "bootstrap/fwm"), _weights(ckpt / "bootstrap-phase1/fwm"))
    assert len((run / "predictions/bootstrap-phase1/test-fwm.jsonl").read_text().splitlines()) == 3
    rows = {r["row"] for r in aggregate({"swirl": [metrics]})}
    assert "swirl: bootstrap → Phase I" in rows
    assert "bootstrap → Phase I" in (run / "report.md").read_text()
    pseudo = metrics["baselines"]["pseudo_label_sft"]  # L + the kept pseudo-labelled pairs, from the base
    data = json.loads((run / "state.json").read_text())["stages"]["data"]
    assert pseudo["transitions"] == data["labelled"] + arm["pairs"]
    assert "fwm/field_accuracy" in pseudo["test"] and (run / "checkpoints/pseudo-label-sft/fwm").is_dir()
    assert "swirl: pseudo-label SFT (the oracle's recipe, IDM actions)" in rows
    oracle = metrics["baselines"]["oracle"]  # the same recipe for both roles on L + U with the true actions
    assert oracle["transitions"] == data["labelled"] + data["unlabelled"]
    assert {r["role"] for r in oracle["train_log"]} == {"fwm", "idm"}
    assert (run / "checkpoints/oracle/fwm").is_dir() and (run / "checkpoints/oracle/idm").is_dir()
    # self-training: the last phase, a new FWM trained on L + every unlabelled pair with a latent action (Phase
    # I's 2 labelled pairs, the rest labelled by the stage) beside Phase I's IDM (here the SFT one: train_idm is
    # false); the IDM's numbers carried over, the FWM's its own
    *earlier, trained = metrics["phases"]
    assert [p["name"] for p in metrics["phases"]] == ["sft", "iter1/phase1", "self-training"]
    assert (trained["role"], trained["iteration"]) == ("fwm", 1)
    assert trained["checkpoints"] == {"fwm": "checkpoints/self-training/fwm", "idm": earlier[-1]["checkpoints"]["idm"]}
    phase1_pairs = (run / "data/latent/iter1.jsonl").read_text().splitlines()
    all_pairs = (run / "data/latent/self-training.jsonl").read_text().splitlines()
    stage = json.loads((run / "state.json").read_text())["stages"]["self-training"]
    assert stage["pairs_from_phase1"] == len(phase1_pairs) == 2  # max_steps 1 × 4 rollouts / G 2
    assert stage["pairs_labelled_here"] == data["unlabelled"] - 2 > 0  # sample mode drops none
    assert all_pairs[:2] == phase1_pairs and len(all_pairs) == data["unlabelled"]
    assert all(json.loads(line)["z"] for line in all_pairs)
    assert trained["transitions"] == data["labelled"] + data["unlabelled"] > pseudo["transitions"]
    assert trained["train_log"] and not any("reward" in e for e in trained["train_log"])
    for split in ("val", "test"):
        idm = {k: v for k, v in trained[split].items() if k.startswith("idm/")}
        assert idm and idm == {k: v for k, v in earlier[-1][split].items() if k.startswith("idm/")}
        assert "fwm/field_accuracy" in trained[split] and "cycle/rouge_l" in trained[split]
    assert len((run / "predictions/self-training/test-fwm.jsonl").read_text().splitlines()) == 3
    # the best FWM is chosen among every phase, self-training included (ties to the earlier phase)
    key = metrics["best"]["criterion"]["fwm"].partition(" ")[2]
    scores = [p["val"][key] for p in metrics["phases"]]
    assert metrics["best"]["fwm"] == metrics["phases"][scores.index(max(scores))]["name"]
    assert phase_checkpoints(run, "self-training") == trained["checkpoints"]
    assert "self-training" in (run / "checkpoints/self-training/fwm/README.md").read_text()
    assert "self-training" in (run / "report.md").read_text() and "swirl: self-training" in rows
    # a rerun resumes: every stage is done
    rerun = runner.invoke(app, ["train", str(config), *more])
    assert rerun.exit_code == 0, rerun.output
    assert "[skip] self-training (done" in rerun.output and "[skip] self-training/eval" in rerun.output
    assert "[stage]" not in rerun.output
    assert json.loads((run / "metrics.json").read_text())["phases"][-1]["val"] == trained["val"]


# The whole-loop config on BFCL's JSON states, the FWM writing only the changes (model.fwm_target).
BFCL_CHANGES = CONFIG.replace(
    "  env: physics\n  physics: {{n_objects: 2, episode_length: 3, n_episodes: 12}}\n",
    "  env: bfcl\n  bfcl: {{categories: [multi_turn_base], max_episodes: 40}}\n  max_state_chars: 1000\n"
    "  long_states: drop\n  split: {{val_fraction: 0.2, test_fraction: 0.2, simulated_unlabelled_fraction: 0.5}}\n",
).replace("torch_threads: 1}", "torch_threads: 1, fwm_target: changes, idm_diff: true}")


@pytest.mark.slow
def test_the_changes_target_runs_the_loop_on_json_states(tmp_path):
    # model.fwm_target: changes — the FWM writes patches of x; checkpoints say so, predictions are next states
    run = tmp_path / "run"
    config = tmp_path / "bfcl.yaml"
    config.write_text(BFCL_CHANGES.format(out=run), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert [p["name"] for p in metrics["phases"]] == ["sft", "iter1/phase1", "iter1/phase2"]
    for phase in ("sft", "iter1-phase1", "iter1-phase2"):
        for role in ("fwm", "idm"):
            if (run / f"checkpoints/{phase}/{role}").exists():
                assert PromptFormat.load(run / f"checkpoints/{phase}/{role}").fwm_target == "changes"
    assert {"fwm/json_field_f1", "fwm/well_formed"} <= metrics["phases"][0]["test"].keys()
    rows = [json.loads(line) for line in (run / "predictions/sft/test-fwm.jsonl").read_text().splitlines()]
    assert all(json.loads(r["reference"]) for r in rows)  # the references are whole next states
    assert all("reward" in e for e in metrics["phases"][2]["train_log"] if "loss" in e)


@pytest.mark.slow
def test_phase1_with_the_fidelity_reward_the_nll_term_and_the_confidence_filter(tmp_path):
    """``swirl.phase1_fidelity_weight`` and ``swirl.phase1_nll_weight`` through the CLI: Phase I logs the
    combined reward and the observed state's NLL, the FWM changes; the filter keeps pairs above its
    threshold only (every sampled action of the random model is below 0); the FWM picks among two sampled
    latent actions per pair."""
    run = tmp_path / "run"
    config = tmp_path / "objective.yaml"
    text = CONFIG.format(out=run).replace(
        "  iterations: 1\n", "  iterations: 1\n  train_idm: false\n  phase1_fidelity_weight: 4.0\n"
                             "  phase1_nll_weight: 0.5\n")
    config.write_text(text.replace("latent_action: {max_new_tokens: 8}",
                                   "latent_action: {max_new_tokens: 8, filter_samples: true, threshold: 0.0}"))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 2 and "every latent action was dropped by the threshold" in result.output
    config.write_text(config.read_text().replace("threshold: 0.0", "threshold: -1.0e9, candidates: 2"))
    result = CliRunner().invoke(app, ["train", str(config), "--output-dir", str(tmp_path / "run2")])
    assert result.exit_code == 0, result.output
    state = json.loads((tmp_path / "run2" / "state.json").read_text())["stages"]
    assert state["iter1/phase1"]["latent_actions"]["candidates"] == 2  # the FWM picked among 2 per pair
    log = state["iter1/phase1"]["train_log"]
    assert any("rewards/log_Q+fidelity/mean" in h for h in log) and all(h["nll"] > 0 for h in log if "nll" in h)
    assert any("nll" in h for h in log)
    ckpt = tmp_path / "run2" / "checkpoints"
    assert _changed(_weights(ckpt / "sft/fwm"), _weights(ckpt / "iter1-phase1/fwm"))
