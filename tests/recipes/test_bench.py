"""``swirl bench`` (seeds × variants → JSON + Markdown into a study folder) and ``swirl diagnose`` (the reward-signal
checks of a finished run) through the command line on the tiny model, and the benchmark's pieces (linking the
base's SFT into a variant, running jobs in order) without a model. The end-to-end tests are marked slow (about
two minutes on 2 cores, one run of the benchmark shared by both)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.recipes.bench import parse_variant, run_many, seed_from_base
from swirl_wm.reporting.benchmark import bench_tables
from swirl_wm.reporting.study import read_blocks

CONFIG = """
name: tiny-bench
seed: 0
output_dir: runs/unused
allow_cut_texts: true  # budgets of a few tokens keep the tiny model's generations short
keep_checkpoints: all  # the variants start from the base's SFT; diagnose reads every phase's start
data:
  env: physics
  physics: {n_objects: 2, episode_length: 3, n_episodes: 12}
model: {name_or_path: tiny, torch_threads: 1}
sft: {learning_rate: 1.0e-3, max_steps: 2, per_device_train_batch_size: 4, eval_steps: 2, curve_examples: 0}
swirl:
  iterations: 1
  phase1: {learning_rate: 1.0e-3, num_generations: 2, per_device_train_batch_size: 4, max_steps: 1,
           max_completion_length: 8}
  phase2: {learning_rate: 1.0e-3, num_generations: 2, per_device_train_batch_size: 4, max_steps: 1,
           max_completion_length: 8}
  latent_action: {max_new_tokens: 8}
  warm_start_check: {pairs: 2}
eval: {max_examples: 3, max_new_tokens_state: 8, max_new_tokens_action: 8, min_logprob: -1000,
       embedding_similarity: false, rollout_steps: 0}
"""


def _checkpoint_times(runs: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in runs.glob("**/checkpoints/*/*/model.safetensors")}


@pytest.fixture(scope="module")
def benched(tmp_path_factory, tiny_path):
    """One ``swirl bench`` of 2 seeds × 2 variants into a study folder, then the same command again."""
    root = tmp_path_factory.mktemp("bench")
    config = root / "tiny-bench.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    study = root / "studies" / "q"
    study.mkdir(parents=True)
    (study / "README.md").write_text("# q\n\nThe question.\n", encoding="utf-8")
    args = ["bench", str(config), "--seeds", "0,1", "--variant", "lr2:swirl.phase1.learning_rate=2.0e-3",
            "--runs-dir", str(root / "runs"), "--study", str(study)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    times = _checkpoint_times(root / "runs")
    result = json.loads((study / "tiny-bench.json").read_text(encoding="utf-8"))
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    return {"root": root, "study": study, "result": result, "times": times, "second": second.output,
            "again": json.loads((study / "tiny-bench.json").read_text(encoding="utf-8"))}


@pytest.mark.slow
def test_bench_writes_rows_over_seeds_and_variants_into_the_study(benched) -> None:
    result, study, root = benched["result"], benched["study"], benched["root"]
    assert result["seeds"] == [0, 1] and list(result["variants"]) == ["swirl", "lr2"]
    assert result["variants"]["lr2"] == {"swirl.phase1.learning_rate": 2.0e-3}
    assert {"config_path", "config", "git_commit", "machine", "wall_time_s", "run_wall_time_s", "run_dirs", "rows",
            "val_rows", "latent_actions"} <= result.keys()
    assert result["run_dirs"]["lr2"] == [str(root / f"runs/tiny-bench/lr2/seed{k}") for k in (0, 1)]
    rows = {r["row"]: r for r in result["rows"]}
    assert {"sft", "swirl: iter1/phase1", "swirl: iter1/phase2", "lr2: iter1/phase1", "lr2: iter1/phase2",
            "copy the state (ŷ = x) (trivial)"} <= rows.keys()
    for row in result["rows"]:
        assert row["seeds"] == [0, 1]
        key = "idm/exact_match" if row["row"] == "most frequent action (trivial)" else "fwm/field_accuracy"
        assert len(row["metrics"][key]["values"]) == 2
    assert rows["lr2: iter1/phase1"]["delta_vs_sft"]["fwm/field_accuracy"]["values"] == pytest.approx(
        [a - b for a, b in zip(rows["lr2: iter1/phase1"]["metrics"]["fwm/field_accuracy"]["values"],
                               rows["sft"]["metrics"]["fwm/field_accuracy"]["values"], strict=True)])
    assert [r["row"] for r in result["val_rows"]] == [r["row"] for r in result["rows"]]
    # The variant took the base's SFT of its seed (hard links), so its SFT row is the base's.
    base_sft = root / "runs/tiny-bench/swirl/seed0/checkpoints/sft/fwm/model.safetensors"
    assert (root / "runs/tiny-bench/lr2/seed0/checkpoints/sft/fwm/model.safetensors").stat().st_ino \
        == base_sft.stat().st_ino
    table = bench_tables(result)
    assert read_blocks(study / "README.md") == {"tiny-bench": table}
    markdown = (study / "tiny-bench.json").with_suffix(".md")
    assert markdown.read_text(encoding="utf-8") == f"# Benchmark: tiny-bench\n\n{table}"
    assert "The question." in (study / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_second_bench_reads_the_finished_runs(benched) -> None:
    assert _checkpoint_times(benched["root"] / "runs") == benched["times"]  # no stage trained again
    assert benched["second"].count("[skip]") >= 4 * 6  # data, sft, sft/eval, the two phases and their evals
    for key in ("rows", "val_rows", "run_dirs", "config", "variants", "seeds"):
        assert benched["again"][key] == benched["result"][key]
    assert (benched["study"] / "README.md").read_text(encoding="utf-8").count("<!-- table:tiny-bench:start -->") == 1


@pytest.mark.slow
def test_diagnose_reproduces_the_runs_own_checks(benched, tmp_path) -> None:
    run = benched["root"] / "runs/tiny-bench/swirl/seed1"
    output = tmp_path / "diagnose.json"
    done = CliRunner().invoke(app, ["diagnose", str(run), "--output", str(output)])
    assert done.exit_code == 0, done.output
    result = json.loads(output.read_text(encoding="utf-8"))
    assert result["run_dir"] == str(run) and result["seed"] == 1 and result["pairs"] == 2
    assert {"git_commit", "machine", "wall_time_s", "config"} <= result.keys()
    phase1, phase2 = result["phases"]["iter1/phase1"], result["phases"]["iter1/phase2"]
    assert phase1["start"] == {"fwm": "checkpoints/sft/fwm", "idm": "checkpoints/sft/idm"}
    assert phase2["start"] == {"fwm": "checkpoints/iter1-phase1/fwm", "idm": "checkpoints/sft/idm"}
    # the same functions, pairs and seeds as the run's own checks: the same figures
    for phase in (phase1, phase2):
        assert phase["pairs"] == 2
        assert phase["reward_signal"] == pytest.approx(phase["in_run"]["reward_signal"], nan_ok=True)
    assert phase1["idm_val"] == phase1["in_run"]["idm_val"]
    assert phase1["latent_grounded_accuracy"] == phase1["in_run"]["latent_grounded_accuracy"]
    printed = CliRunner().invoke(app, ["diagnose", str(run), "--pairs", "1"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["phases"]["iter1/phase2"]["reward_signal"]["groups"] == 1


def test_diagnose_refuses_a_folder_that_is_no_finished_run(tmp_path) -> None:
    done = CliRunner().invoke(app, ["diagnose", str(tmp_path)])
    assert done.exit_code == 2 and "no config.yaml" in done.output


def test_bench_needs_a_study_or_an_output(tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    done = CliRunner().invoke(app, ["bench", str(config), "--seeds", "0"])
    assert done.exit_code == 2 and "--study" in done.output
    bad = CliRunner().invoke(app, ["bench", str(config), "--variant", "nobody", "--output", str(tmp_path / "o.json")])
    assert bad.exit_code == 2 and "NAME:key=value" in bad.output


def test_a_variant_is_a_name_and_dotted_yaml_values() -> None:
    assert parse_variant("beta1:swirl.phase1.beta=1.0,swirl.train_idm=false") == (
        "beta1", {"swirl.phase1.beta": 1.0, "swirl.train_idm": False})


def test_variants_link_the_base_checkpoints(tmp_path) -> None:
    base, variant = tmp_path / "base", tmp_path / "variant"
    (base / "checkpoints/sft/fwm").mkdir(parents=True)
    (base / "checkpoints/sft/fwm/model.safetensors").write_bytes(b"weights")
    (base / "data/latent").mkdir(parents=True)
    stages = {"data": {}, "sft": {"fwm": "checkpoints/sft/fwm"}, "sft/eval": {}, "iter1/phase1": {}}
    (base / "state.json").write_text(json.dumps({"stages": stages}))
    seed_from_base(base, variant)
    source, linked = base / "checkpoints/sft/fwm/model.safetensors", variant / "checkpoints/sft/fwm/model.safetensors"
    assert linked.read_bytes() == b"weights" and linked.stat().st_ino == source.stat().st_ino  # no second copy
    assert not (variant / "data/latent").exists()
    assert list(json.loads((variant / "state.json").read_text())["stages"]) == ["data", "sft", "sft/eval"]


def _fake_run(config: dict) -> dict:
    """A stand-in for a pipeline run: records its process, and with ``meet`` waits (up to 120 s) until the
    other run of the pair has started too — which only happens when both run at once."""
    import time

    print(f"running {config['name']}", flush=True)
    met = None
    if "meet" in config:
        Path(config["meet"], config["name"]).touch()
        deadline = time.monotonic() + 120
        while len(list(Path(config["meet"]).iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        met = len(list(Path(config["meet"]).iterdir())) == 2
    return {"name": config["name"], "pid": os.getpid(), "met": met}


def test_runs_jobs_at_a_time_in_fresh_processes_results_in_order(tmp_path) -> None:
    (tmp_path / "meet").mkdir()
    calls = [(f"run {i}", _fake_run, {"name": f"r{i}", "meet": str(tmp_path / "meet")}, tmp_path / f"seed{i}.log")
             for i in range(2)]
    results = run_many(calls, jobs=2)
    assert [r["name"] for r in results] == ["r0", "r1"]
    assert [r["met"] for r in results] == [True, True]  # both were running at once
    assert len({r["pid"] for r in results}) == 2 and os.getpid() not in {r["pid"] for r in results}
    assert (tmp_path / "seed1.log").read_text(encoding="utf-8") == "running r1\n"


def test_runs_one_after_another_in_this_process_by_default(tmp_path, capsys) -> None:
    calls = [(f"run {i}", _fake_run, {"name": f"r{i}"}, tmp_path / f"seed{i}.log") for i in range(2)]
    results = run_many(calls)
    assert {r["pid"] for r in results} == {os.getpid()}
    assert capsys.readouterr().out == "== run 0\nrunning r0\n== run 1\nrunning r1\n"
    assert not (tmp_path / "seed0.log").exists()
