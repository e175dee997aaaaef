"""How a swirl-wm SWIRL iteration's time scales with G, prompts per step and state length, from
``benchmarks/iteration_speed.py`` JSON files (one setting each; ``--pipelines swirl-wm`` runs). The cores'
load moves every figure, so each iteration's seconds are also given as *normalised* seconds: seconds ×
(the file's measured matmul GFLOP/s) / (the reference file's), the time at the reference run's speed of
the machine. Prints a Markdown table; writes JSON (inputs, rows, machine, git commit).

    python benchmarks/speed_scaling.py studies/speed/iteration-smollm2.json \\
        studies/speed/scaling/*.json --output studies/speed/scaling.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from swirl_wm.files import atomic_write_text
from swirl_wm.reporting.run_info import provenance


def scaling_rows(files: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per ``iteration_speed.py`` result (by its path; the first is the reference), sorted by objects,
    G and pairs: the setting, measured and normalised seconds, each phase's normalised seconds."""
    reference_peak = next(iter(files.values()))["matmul_peak_gflops"]
    rows = []
    for path, d in files.items():
        run, config = d["pipelines"]["swirl-wm"], d["config"]
        scale = d["matmul_peak_gflops"] / reference_peak
        phases = run["phases"]
        rows.append({"file": path, "G": config["generations"], "pairs": config["pairs"],
                     "prompts_per_step": max(1, config["pairs"] // config["steps"]),
                     "objects": config.get("objects", 2), "prompt_tokens": d.get("prompt_tokens"),
                     "peak_gflops": d["matmul_peak_gflops"], "seconds": run["iteration_seconds"],
                     "normalised_seconds": run["iteration_seconds"] * scale,
                     "phase1_normalised": phases["fwm"]["seconds"] * scale,
                     "phase2_normalised": phases["idm"]["seconds"] * scale,
                     "completions": config["generations"] * config["pairs"],
                     "train_tokens": phases["fwm"]["train_tokens"] + phases["idm"]["train_tokens"]})
    rows.sort(key=lambda r: (r["objects"], r["G"], r["pairs"]))
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """:func:`scaling_rows` as a Markdown table."""
    lines = ["| objects | G | prompts / step | completions | measured s | GFLOP/s then | normalised s | Phase I | "
             "Phase II | normalised s per completion |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['objects']} | {r['G']} | {r['prompts_per_step']} | {2 * r['completions']} | "
                     f"{r['seconds']:.1f} | {r['peak_gflops']:.1f} | {r['normalised_seconds']:.1f} | "
                     f"{r['phase1_normalised']:.1f} | {r['phase2_normalised']:.1f} | "
                     f"{r['normalised_seconds'] / (2 * r['completions']):.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="+", help="iteration_speed.py JSON; the first is the reference")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    rows = scaling_rows({str(path): json.loads(path.read_text(encoding="utf-8")) for path in args.files})
    print(markdown(rows), end="")
    atomic_write_text(args.output, json.dumps(provenance(inputs=[str(f) for f in args.files], rows=rows), indent=2)
                      + "\n")


if __name__ == "__main__":
    main()
