"""Kill a real run (SIGKILL) at several points and resume it with the same command: no finished stage is
lost and the final metrics equal those of an uninterrupted run with the same seed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.test_e2e import CONFIG

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
