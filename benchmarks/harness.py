"""Seeded benchmark harness (issue #3): SFT vs SWIRL vs baselines vs ablations, mean ± 95 % CI over seeds.

For each variant (the base config, then each ``--variant NAME:key=value,key=value`` on top of it) and each
seed, runs (or resumes) the whole pipeline in ``<runs-dir>/<name>/<variant>/seed<k>``, then aggregates the
test metrics of every phase and baseline (``swirl_wm.reporting.benchmark``) into JSON (config, variants,
seeds, git commit, machine, wall time, rows) and a Markdown table. ``--readme`` replaces the block between
``<!-- harness:NAME:start -->`` and ``<!-- harness:NAME:end -->`` in that file with the table.

Variants that change only ``swirl`` / ``baselines`` settings start from the base variant's SFT checkpoints
of the same seed (copied with their ledger entries), so an ablation costs its phases only.

    python benchmarks/harness.py configs/physics-bench.yaml --seeds 0 1 2 \\
        --variant greedy:swirl.latent_action.mode=greedy --variant beta1:swirl.phase1.beta=1.0 \\
        --output benchmarks/results/harness-physics.json --readme README.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from swirl_wm.config import RunConfig, load_config
from swirl_wm.files import atomic_write_text
from swirl_wm.pipeline import run_swirl
from swirl_wm.reporting.benchmark import aggregate, benchmark_tables
from swirl_wm.reporting.run_info import git_commit, machine_info

# Settings an ablation may change while still sharing the base variant's data and SFT warm start.
_AFTER_SFT = ("name", "output_dir", "swirl", "baselines")
_SFT_STAGES = ("data", "sft", "sft/eval")


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``"beta1:swirl.phase1.beta=1.0,swirl.phase2.beta=1.0"`` → ``("beta1", {dotted key: YAML value})``."""
    name, _, body = text.partition(":")
    if not name or not body:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME:key=value[,key=value...]")
    overrides = {}
    for item in body.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"--variant {text!r}: {item!r} is not key=value")
        overrides[key.strip()] = yaml.safe_load(value)
    return name, overrides


def with_overrides(config: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    raw = config.model_dump(mode="json")
    for dotted, value in overrides.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node[part]
        if leaf not in node:
            raise KeyError(f"unknown config key {dotted!r}")
        node[leaf] = value
    return RunConfig.model_validate(raw)


def _shares_sft(a: RunConfig, b: RunConfig) -> bool:
    strip = lambda c: {k: v for k, v in c.model_dump(mode="json").items() if k not in _AFTER_SFT}  # noqa: E731
    return strip(a) == strip(b)


def seed_from_base(base_dir: Path, run_dir: Path) -> None:
    """Copy the base run's data, SFT checkpoints and their ledger entries into a fresh run folder."""
    if (run_dir / "state.json").exists() or not (base_dir / "state.json").exists():
        return
    stages = json.loads((base_dir / "state.json").read_text(encoding="utf-8"))["stages"]
    if not all(s in stages for s in _SFT_STAGES):
        return
    for sub in ("data", "checkpoints/sft", "predictions/sft"):
        if (base_dir / sub).exists():
            shutil.copytree(base_dir / sub, run_dir / sub, dirs_exist_ok=True)
    shutil.rmtree(run_dir / "data" / "latent", ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "state.json", json.dumps({"stages": {s: stages[s] for s in _SFT_STAGES}}, indent=2))


def splice_readme(readme: Path, name: str, table: str) -> None:
    start, end = f"<!-- harness:{name}:start -->", f"<!-- harness:{name}:end -->"
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{readme} has no {start} … {end} block to replace")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    atomic_write_text(readme, f"{head}{start}\n{table}{end}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variant", type=parse_variant, action="append", default=[])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/harness"))
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--render", action="store_true",
                        help="only re-render the Markdown (and --readme) from the existing --output JSON")
    args = parser.parse_args()

    base = load_config(args.config)
    if args.render:
        table = benchmark_tables(json.loads(args.output.read_text(encoding="utf-8"))["rows"])
        atomic_write_text(args.output.with_suffix(".md"), f"# Benchmark: {base.name}\n\n{table}")
        if args.readme:
            splice_readme(args.readme, base.name, table)
        print(table)
        return
    variants = [("swirl", {})] + args.variant
    start = time.monotonic()
    runs: dict[str, list[dict[str, Any]]] = {}
    for variant, overrides in variants:
        for seed in args.seeds:
            config = with_overrides(base, overrides | {"seed": seed})
            run_dir = args.runs_dir / base.name / variant / f"seed{seed}"
            config = config.model_copy(update={"output_dir": run_dir})
            base_dir = args.runs_dir / base.name / "swirl" / f"seed{seed}"
            if variant != "swirl" and _shares_sft(config, with_overrides(base, {"seed": seed})):
                seed_from_base(base_dir, run_dir)
            print(f"== {variant} seed {seed} → {run_dir}", flush=True)
            runs.setdefault(variant, []).append(run_swirl(config))
    rows = aggregate(runs)
    table = benchmark_tables(rows)
    result = {"config_path": str(args.config), "config": base.model_dump(mode="json"),
              "variants": {name: overrides for name, overrides in variants}, "seeds": args.seeds,
              "git_commit": git_commit(), "machine": machine_info(), "wall_time_s": time.monotonic() - start,
              "run_wall_time_s": {v: [m["run"]["wall_time_s"] for m in ms] for v, ms in runs.items()},
              "latent_actions": {v: [[p.get("latent_actions") for p in m["phases"] if "latent_actions" in p]
                                     for m in ms] for v, ms in runs.items()},
              "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(result, indent=2))
    atomic_write_text(args.output.with_suffix(".md"), f"# Benchmark: {base.name}\n\n{table}")
    if args.readme:
        splice_readme(args.readme, base.name, table)
    print(table)


if __name__ == "__main__":
    main()
