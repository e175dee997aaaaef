"""What an FWM gets right in a JSON next state, field by field (BFCL): from each run folder's
saved test predictions, per arm (SFT, Phase I, bootstrap, ...), over the transitions of all given runs
pooled per run (a run = a seed):

- **valid JSON**: the share of predictions that parse;
- **return F1**: leaf F1 of the ``return`` part (the tool's answer: what the call decided);
- **state effect recall**: of the state leaves the call changed or added (in y's ``state`` but not in x's),
  the share the prediction has, with the same value — the analogue of the physics world's effect accuracy;
  copying x scores 0 there;
- **state kept**: of the state leaves the call left alone (in both), the share the prediction keeps —
  the analogue of passive accuracy; copying x scores 100 % there.

Leaves are :func:`swirl_wm.metrics.json_leaves` ``(path, value)`` pairs; a prediction that does not parse
has none. Mean ± 95 % CI over runs; ``copy`` is copying x's state with an empty return. Writes JSON
(inputs, per run and arm the figures and counts, the summary, machine, git commit) and prints a table.

    python benchmarks/json_fields.py runs/bfcl-study/bfcl-study/swirl/seed* \\
        --output studies/bfcl/fields.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from swirl_wm.files import atomic_write_text
from swirl_wm.metrics import json_leaves, summarise
from swirl_wm.reporting.run_info import provenance
from swirl_wm.run_folder import Layout, read_predictions

ARMS = ("sft", "iter1-phase1", "iter1-phase2", "bootstrap")
FIGURES = ("valid_json", "return_f1", "state_effect_recall", "state_kept")


def _leaves(text: str) -> set[tuple[str, str]] | None:
    try:
        return json_leaves(json.loads(text))
    except ValueError:
        return None


def _part(leaves: set[tuple[str, str]], key: str) -> set[tuple[str, str]]:
    return {(p, v) for p, v in leaves if p == key or p.startswith((f"{key}.", f"{key}["))}


def field_figures(rows: list[dict], copy: bool = False) -> dict[str, float]:
    """:data:`FIGURES` over saved FWM prediction rows (``x``, ``reference``, ``prediction``); ``copy``
    scores x's state with an empty return instead of the prediction. Recalls are pooled over the rows'
    leaves; return F1 and valid JSON are means over rows."""
    valid = f1 = 0.0
    changed_hit = changed = kept_hit = kept = 0
    for row in rows:
        x_state = {(p.removeprefix("state"), v) for p, v in _part(json_leaves(json.loads(row["x"])), "state")}
        reference = json_leaves(json.loads(row["reference"]))
        prediction = ({("state" + p, v) for p, v in x_state} if copy else _leaves(row["prediction"]))
        valid += prediction is not None
        prediction = prediction or set()
        ref_return, pred_return = _part(reference, "return"), _part(prediction, "return")
        both = len(ref_return) + len(pred_return)
        f1 += 2 * len(ref_return & pred_return) / both if both else 1.0
        ref_state = {(p.removeprefix("state"), v) for p, v in _part(reference, "state")}
        pred_state = {(p.removeprefix("state"), v) for p, v in _part(prediction, "state")}
        changed += len(ref_state - x_state)
        changed_hit += len((ref_state - x_state) & pred_state)
        kept += len(ref_state & x_state)
        kept_hit += len(ref_state & x_state & pred_state)
    n = max(len(rows), 1)
    return {"valid_json": valid / n, "return_f1": f1 / n,
            "state_effect_recall": changed_hit / changed if changed else float("nan"),
            "state_kept": kept_hit / kept if kept else float("nan"), "transitions": len(rows),
            "changed_leaves": changed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="run folders (one per seed)")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for run in args.runs:
        for arm in ARMS:
            path = run / Layout.predictions(arm, "test", "fwm")
            if path.exists():
                rows = read_predictions(path)
                results.setdefault(str(run), {})[arm] = field_figures(rows)
                if arm == "sft":
                    results[str(run)]["copy"] = field_figures(rows, copy=True)
    summary = {}
    for arm in ("copy", *ARMS):
        per_run = [r[arm] for r in results.values() if arm in r]
        if per_run:
            summary[arm] = {k: summarise([100 * r[k] for r in per_run]) for k in FIGURES}
            summary[arm]["runs"] = len(per_run)
    print("| arm | runs | " + " | ".join(FIGURES) + " |")
    for arm, figures in summary.items():
        print(f"| {arm} | {figures['runs']} | " + " | ".join(f"{m:.1f} ± {h:.1f}" for m, h in
                                                             (figures[k] for k in FIGURES)) + " |")
    out = provenance(inputs=[str(r) for r in args.runs], results=results, summary=summary)
    atomic_write_text(args.output, json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
