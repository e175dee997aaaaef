"""What an FWM that writes changes (``model.fwm_target: changes``) predicted, read from the predictions a run
saved (``predictions/<stage>/<split>-fwm.jsonl``, next states after the patch was applied): the share of
transitions where it left the state unchanged (a malformed or empty patch, read as ``ŷ = x``), where the next
state is exactly right, and where it changed the state wrongly; and, on the transitions where it changed the
state, JSON field F1 against copying the state on the same transitions (Phase I raised the share of
well-formed patches on BFCL; this says whether those patches are right). Writes JSON (runs, stages, split,
figures, git commit, machine).

    python benchmarks/patch_outcomes.py runs/bfcl/bfcl-study/swirl/seed{0,1,2} --stages sft iter1/phase1 \\
        bootstrap --split test --output studies/bfcl/patch-outcomes-test.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from swirl_wm.files import atomic_write_text
from swirl_wm.metrics import json_field_f1
from swirl_wm.reporting.run_info import provenance
from swirl_wm.run_folder import Layout, read_predictions


def outcomes(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Shares over the transitions (``unchanged``, ``exact``, ``changed_wrong``) and, over the changed ones,
    ``changed_f1`` / ``changed_copy_f1`` (JSON field F1 of the prediction / of ``x``, against ``y``).

    Raises:
        ValueError: no rows.
    """
    if not rows:
        raise ValueError("no predictions")
    changed = [r for r in rows if r["prediction"] != r["x"]]
    exact = sum(r["prediction"] == r["reference"] for r in rows)
    n = len(rows)
    figures = {"transitions": n, "unchanged": 1 - len(changed) / n, "exact": exact / n,
               "changed_wrong": (len(changed) - exact) / n}
    if changed:
        references = [r["reference"] for r in changed]
        figures["changed_f1"] = json_field_f1([r["prediction"] for r in changed], references)
        figures["changed_copy_f1"] = json_field_f1([r["x"] for r in changed], references)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--stages", nargs="+", default=["sft", "iter1/phase1", "bootstrap"])
    parser.add_argument("--split", choices=("val", "test"), default="test")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    result: dict[str, Any] = provenance(split=args.split, runs={})
    for run in args.runs:
        result["runs"][str(run)] = {}
        for stage in args.stages:
            path = run / Layout.predictions(stage, args.split, "fwm")
            rows = read_predictions(path)
            result["runs"][str(run)][stage] = figures = outcomes(rows)
            print(run, stage, {k: round(v, 3) for k, v in figures.items()})
    atomic_write_text(args.output, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
