"""Where an image-state FWM is right and wrong, cell by cell: for each run folder and phase, from
its saved test predictions (``predictions/<phase>/test-fwm.jsonl``), by action kind (the first word of the
gold action: ``move`` / ``paint`` in the shapes world):

- ``changed_right``: of the code cells the action changed (``y`` differs from ``x``), the fraction predicted
  right, averaged over the transitions that change a cell — copying ``x`` scores 0, so this says whether the
  FWM applies the action at all (``fwm/changed_cell_accuracy`` of a run's evaluation, by action kind);
- ``unchanged_broken``: code cells the action left alone that the prediction changed, per frame
  (``fwm/unchanged_cells_broken``);
- ``exact``: frames with every code right.

Then the mean over seeds per phase. JSON with the run folders, their commits and the machine.

    python benchmarks/image_cells.py runs/visual/seed0 runs/visual/seed1 runs/visual/seed2 \\
        --output studies/visual/cells.json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path
from typing import Any

from swirl_wm.files import atomic_write_text
from swirl_wm.modality.image import cells
from swirl_wm.reporting.run_info import provenance
from swirl_wm.run_folder import Layout, read_predictions

_CODE = re.compile(r"<v(\d+)>")


def cell_figures(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``{kind: {changed_right, unchanged_broken, exact, n}}`` (and ``"all"``) over prediction rows."""
    per: dict[str, list[tuple[float | None, int, bool]]] = {}
    for row in rows:
        changed, right, broken = cells(row["x"], row["prediction"], row["reference"])
        exact = _CODE.findall(row["prediction"]) == _CODE.findall(row["reference"])
        for kind in (str(row["given"]).split()[0], "all"):
            per.setdefault(kind, []).append((right / changed if changed else None, broken, exact))
    return {kind: {"changed_right": statistics.fmean([r for r, _, _ in v if r is not None] or [0.0]),
                   "unchanged_broken": statistics.fmean(b for _, b, _ in v),
                   "exact": statistics.fmean(e for _, _, e in v), "n": len(v)} for kind, v in per.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    runs: dict[str, dict[str, Any]] = {}
    for folder in args.runs:
        metrics = json.loads((folder / Layout.METRICS).read_text(encoding="utf-8"))
        runs[str(folder)] = {"git_commit": metrics["run"]["git_commit"], "phases": {}}
        for phase in metrics["phases"]:
            path = folder / Layout.predictions(phase["name"], "test", "fwm")
            if path.is_file():
                rows = read_predictions(path)
                runs[str(folder)]["phases"][phase["name"]] = cell_figures(rows)
        sft = read_predictions(folder / Layout.predictions("sft", "test", "fwm"))
        copies = [{**r, "prediction": r["x"]} for r in sft]
        runs[str(folder)]["phases"]["copy the state"] = cell_figures(copies)
    names = list(next(iter(runs.values()))["phases"])
    mean = {name: {kind: {k: statistics.fmean(r["phases"][name][kind][k] for r in runs.values())
                          for k in ("changed_right", "unchanged_broken", "exact")}
                   for kind in next(iter(runs.values()))["phases"][name]} for name in names}
    result = provenance(runs=runs, mean_over_seeds=mean)
    atomic_write_text(args.output, json.dumps(result, indent=2))
    table = cells_markdown(mean)
    atomic_write_text(args.output.with_suffix(".md"), table)
    print(table, end="")


def cells_markdown(mean: dict[str, dict[str, dict[str, float]]]) -> str:
    """The mean over seeds (``{phase: {kind: figures}}``, the JSON's ``mean_over_seeds``) as a Markdown table."""
    lines = ["| phase | kind | changed cells right | unchanged cells broken / frame | exact frames |",
             "|---|---|---:|---:|---:|"]
    for name, kinds in mean.items():
        for kind, f in sorted(kinds.items()):
            lines.append(f"| {name} | {kind} | {100 * f['changed_right']:.1f} % | {f['unchanged_broken']:.2f} | "
                         f"{100 * f['exact']:.1f} % |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
