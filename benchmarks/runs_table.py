"""Aggregate finished SWIRL run folders (one per seed) into the harness's tables, plus rollouts per step.

For runs started by hand or in the background (``swirl train CONFIG --output-dir runs/X/seedK --seed K``):
reads each folder's ``metrics.json`` and writes the same JSON + Markdown as ``benchmarks/harness.py`` (test
metrics of every phase and trivial baseline, mean ± 95 % CI over seeds, the change over SFT paired by
seed), with the multi-step rollout metric of every phase and of the copy baseline per step (mean ± 95 %
CI over seeds), the runs' wall times, git commits and machine.

    python benchmarks/runs_table.py runs/visual/seed0 runs/visual/seed1 runs/visual/seed2 \\
        --keys fwm/code_match fwm/code_accuracy fwm/psnr fwm/ssim fwm/well_formed idm/exact_match \\
        idm/grounded_accuracy \\
        --output studies/visual/visual.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

from scipy import stats

from swirl_wm.files import atomic_write_text
from swirl_wm.reporting.benchmark import TABLE_KEYS, aggregate, benchmark_tables
from swirl_wm.reporting.markdown import format_value, rollout_metric
from swirl_wm.reporting.run_info import provenance


def mean_ci(values: list[float]) -> dict[str, float]:
    """Mean and the half-width of its 95 % t interval (nan for one value)."""
    n = len(values)
    mean = statistics.fmean(values)
    ci = stats.t.ppf(0.975, n - 1) * statistics.stdev(values) / math.sqrt(n) if n > 1 else math.nan
    return {"mean": mean, "ci95": ci, "n": n}


def rollout_table(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per phase (and the copy baseline), the rollout metric per step over seeds."""
    first = next((p["rollout"]["model"] for p in runs[0]["phases"] if p.get("rollout")), None)
    if first is None:
        return {}
    key = rollout_metric(first)
    steps = [r["step"] for r in first]
    out: dict[str, Any] = {"key": key, "steps": steps, "rows": {}}
    names = [p["name"] for p in runs[0]["phases"] if p.get("rollout")]
    for name in names:
        per_step = []
        for i in range(len(steps)):
            per_step.append(mean_ci([next(p for p in m["phases"] if p["name"] == name)["rollout"]["model"][i][key]
                                     for m in runs]))
        out["rows"][name] = per_step
    out["rows"]["copy x0"] = [mean_ci([next(p for p in m["phases"] if p.get("rollout"))["rollout"]["copy"][i][key]
                                       for m in runs]) for i in range(len(steps))]
    return out


def rollout_markdown(rollout: dict[str, Any]) -> str:
    if not rollout:
        return ""
    key = rollout["key"]
    lines = [f"\nMulti-step rollouts (test episodes, {key} per step, mean ± 95 % CI over seeds).\n",
             "| model | " + " | ".join(f"t = {s}" for s in rollout["steps"]) + " |",
             "|---|" + "---:|" * len(rollout["steps"])]
    for name, cells in rollout["rows"].items():
        shown = [format_value(key, c["mean"]) + ("" if not math.isfinite(c["ci95"]) else
                                                 f" ± {format_value(key, c['ci95']).replace(' %', '')}")
                 for c in cells]
        lines.append(f"| {name} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="run folders, one per seed, each with metrics.json")
    parser.add_argument("--keys", nargs="+", default=list(TABLE_KEYS), help="metric columns of the tables")
    parser.add_argument("--variant", default="swirl", help="the row label's variant name")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    runs = [json.loads((folder / "metrics.json").read_text(encoding="utf-8")) for folder in args.runs]
    rows = aggregate({args.variant: runs})
    rollout = rollout_table(runs)
    result = provenance(run_dirs=[str(f) for f in args.runs], seeds=[m["run"]["seed"] for m in runs],
                        run_git_commits=[m["run"]["git_commit"] for m in runs],
                        run_wall_time_s=[m["run"]["wall_time_s"] for m in runs],
                        data=runs[0]["run"].get("data")) | {"rows": rows, "rollout": rollout}
    table = benchmark_tables(rows, args.keys) + rollout_markdown(rollout)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(result, indent=2))
    atomic_write_text(args.output.with_suffix(".md"), table)
    print(table)


if __name__ == "__main__":
    main()
