"""Kill a real run (SIGKILL) at several points and resume it with the same command: no finished stage is
lost and the final metrics equal those of an uninterrupted run with the same seed."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.recipes.test_e2e import CONFIG

KILL_AT = ("[stage] sft", "[stage] iter1/phase1", "[stage] iter1/phase1/eval", "[stage] iter1/phase2")


def _command(config):
    return [sys.executable, "-u", "-m", "swirl_wm.cli.main", "train", str(config)]


def _env():
    return os.environ | {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _run_until(config, marker, delay_s=0.5):
    """Start the run, SIGKILL it ``delay_s`` after ``marker`` is printed; return whether it was killed."""
    process = subprocess.Popen(_command(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=_env())
    for line in process.stdout:
        if line.strip() == marker:
            time.sleep(delay_s)
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=600)
    return process.returncode == -signal.SIGKILL


def _phases(run):
    return json.loads((run / "metrics.json").read_text())["phases"]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_metrics(tmp_path):
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    for name, run in (("reference", reference), ("resumed", resumed)):
        (tmp_path / f"{name}.yaml").write_text(CONFIG.format(out=run), encoding="utf-8")
    subprocess.run(_command(tmp_path / "reference.yaml"), check=True, capture_output=True, env=_env(), timeout=600)

    killed = [_run_until(tmp_path / "resumed.yaml", marker) for marker in KILL_AT]
    assert killed.count(True) >= 3, killed  # each kill landed while the run was still going
    assert not (resumed / "metrics.json").exists()
    finished = subprocess.run(_command(tmp_path / "resumed.yaml"), capture_output=True, text=True, env=_env(),
                              timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert "[skip] sft" in finished.stdout  # finished stages were not redone
    assert _phases(resumed) == _phases(reference)


# Moments to kill at: a stage's start, and the inside of a checkpoint write (transformers prints its progress
# bar while the safetensors file is written into the temporary folder that atomic_dir renames).
TRIGGERS = ("[stage] sft", "Writing model shards", "[stage] sft/eval", "[stage] iter1/phase1",
            "[stage] iter1/phase1/eval", "[stage] iter1/phase2", "[stage] iter1/phase2/eval",
            "[stage] baselines/trivial")


def _kill_on(config, trigger, delay_s):
    """Run until a line containing ``trigger``, SIGKILL ``delay_s`` later; returns (killed, finished)."""
    process = subprocess.Popen(_command(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=_env())
    for line in process.stdout:
        if trigger in line:
            time.sleep(delay_s)
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=600)
    return process.returncode == -signal.SIGKILL, process.returncode == 0


@pytest.mark.slow
def test_random_kills_resume_to_the_same_metrics(tmp_path):
    """At least 10 SIGKILLs at seeded random moments (stage starts, checkpoint writes, evaluation outputs),
    each followed by a resume; the final metrics equal an uninterrupted run's."""
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    for name, run in (("reference", reference), ("resumed", resumed)):
        (tmp_path / f"{name}.yaml").write_text(CONFIG.format(out=run), encoding="utf-8")
    subprocess.run(_command(tmp_path / "reference.yaml"), check=True, capture_output=True, env=_env(), timeout=600)

    rng = random.Random(18)
    draws = []
    while sum(d["killed"] for d in draws) < 10 and len(draws) < 40:
        trigger = rng.choice(TRIGGERS)
        # a checkpoint write of the tiny model lasts milliseconds: kill within it, or just after it
        delay = round(rng.uniform(0.0, 0.02 if trigger == "Writing model shards" else 1.5), 3)
        killed, finished = _kill_on(tmp_path / "resumed.yaml", trigger, delay)
        draws.append({"trigger": trigger, "delay_s": delay, "killed": killed})
        if finished:  # the draw's moment had passed: the run completed; start the interrupted run afresh
            shutil.rmtree(resumed)
    print(json.dumps(draws))  # the draws, recorded in the test log (-s / on failure)
    assert sum(d["killed"] for d in draws) >= 10, draws
    assert any(d["killed"] and d["trigger"] == "Writing model shards" for d in draws), draws
    finished = subprocess.run(_command(tmp_path / "resumed.yaml"), capture_output=True, text=True, env=_env(),
                              timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert _phases(resumed) == _phases(reference)
    assert not list(resumed.rglob(".*.tmp")) and not list((resumed / "checkpoints").rglob(".fwm.*"))


@pytest.mark.slow
def test_an_sft_role_saved_before_an_interruption_is_not_trained_again(tmp_path):
    run = tmp_path / "run"
    config = tmp_path / "sft.yaml"
    config.write_text(CONFIG.format(out=run).replace("iterations: 1", "iterations: 0"), encoding="utf-8")
    subprocess.run(_command(config), check=True, capture_output=True, env=_env(), timeout=600)
    log = _phases(run)[0]["train_log"]
    # as if killed while the IDM trained: the stage unfinished, the FWM's checkpoint and log kept
    state = json.loads((run / "state.json").read_text())
    state["stages"] = {k: v for k, v in state["stages"].items() if k == "data"}
    (run / "state.json").write_text(json.dumps(state))
    shutil.rmtree(run / "checkpoints/sft/idm")
    (run / "metrics.json").unlink()
    fwm_weights = (run / "checkpoints/sft/fwm/model.safetensors").stat().st_mtime_ns
    finished = subprocess.run(_command(config), capture_output=True, text=True, env=_env(), timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert "[skip] sft fwm" in finished.stdout and "[skip] sft idm" not in finished.stdout
    assert (run / "checkpoints/sft/fwm/model.safetensors").stat().st_mtime_ns == fwm_weights
    assert (run / "checkpoints/sft/idm/model.safetensors").exists()
    assert _phases(run)[0]["train_log"] == log  # the same seed retrains the IDM to the same log
