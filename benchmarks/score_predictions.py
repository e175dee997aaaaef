"""Score a stage's saved FWM predictions again, without its model, and set its gain over SFT beside the other
arms': for each run folder, ``predictions/<stage>/{val,test}-fwm.jsonl`` (what the stage's evaluation wrote)
scored against the run's own split with the run's eval settings (:func:`prediction_metrics`: the same
metrics as the stage's evaluation, less the log-likelihood, which needs the model). Then, per seed, the
change over SFT of the stage, of ``--arm`` baselines of the same run, and the fraction of the stage's gap
each arm closes; mean ± 95 % CI over seeds, the fraction only where the stage's gain has a CI excluding 0.

Use: a stage whose metrics never reached ``metrics.json`` (a baseline stage stopped after its FWM was
trained and evaluated, e.g. the oracle's, whose IDM half is the slow one). Writes JSON (inputs, per run the
figures, the summary, machine, git commit) and prints a Markdown table.

    python benchmarks/score_predictions.py runs/p1obj/L40/physics-study/swirl/seed* --stage oracle \\
        --arm pseudo_label_sft --arm bootstrap --output studies/phase1-objective/oracle-L40.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from swirl_wm.config import load_config
from swirl_wm.data.splits import Splits
from swirl_wm.evaluation.evaluate import prediction_metrics
from swirl_wm.files import atomic_write_text
from swirl_wm.records import FWM
from swirl_wm.reporting.benchmark import seed_stats
from swirl_wm.reporting.run_info import provenance
from swirl_wm.run_folder import Layout, read_predictions

KEYS = ("fwm/field_accuracy", "fwm/effect_accuracy", "fwm/passive_accuracy", "fwm/exact_match")


def score_stage(run_dir: Path, stage: str) -> dict[str, dict[str, float]]:
    """``stage``'s FWM metrics per split (``val``, ``test``) from its saved predictions.

    Raises:
        FileNotFoundError: no predictions of ``stage`` in ``run_dir``.
        ValueError: a prediction row's state or action differs from the split's transition at its position.
    """
    config = load_config(run_dir / "config.yaml")
    if config.data.modality != "text":
        raise ValueError(f"{run_dir}: {config.data.modality} states need the run's codec; text states only")
    splits = Splits.load(run_dir / Layout.DATA)
    result = {}
    for split in ("val", "test"):
        rows = read_predictions(run_dir / Layout.predictions(stage, split, FWM.name))
        transitions = getattr(splits, split)[: len(rows)]
        for number, (row, t) in enumerate(zip(rows, transitions, strict=True), 1):
            if (row["x"], row["given"], row["reference"]) != (t.x, t.z, t.y):
                raise ValueError(f"{run_dir}/{Layout.predictions(stage, split, FWM.name)}:{number}: not the "
                                 f"split's transition {number}")
        result[split] = prediction_metrics(FWM, transitions, [r["prediction"] for r in rows], config.eval)
    return result


def compare(run_dirs: list[Path], stage: str, arms: list[str], split: str = "test") -> dict[str, Any]:
    """Per run the stage's and the arms' ``split`` metrics and changes over the run's SFT; over runs the mean ±
    95 % CI of each change, and of each arm's fraction of the stage's gap (field accuracy) where that gap's
    CI excludes 0."""
    runs, changes = [], {name: {k: [] for k in KEYS} for name in [stage, *arms]}
    for run_dir in run_dirs:
        metrics = json.loads((run_dir / Layout.METRICS).read_text(encoding="utf-8"))
        sft = next(p for p in metrics["phases"] if p["name"] == "sft")[split]
        rows = {stage: score_stage(run_dir, stage)[split]}
        rows |= {arm: metrics["baselines"][arm][split] for arm in arms}
        for name, values in rows.items():
            for key in KEYS:
                changes[name][key].append(values[key] - sft[key])
        runs.append({"run": str(run_dir), "seed": metrics["run"]["seed"], "sft": {k: sft[k] for k in KEYS},
                     **{name: {k: values[k] for k in KEYS} for name, values in rows.items()}})
    summary: dict[str, Any] = {name: {k: seed_stats(v) for k, v in per_key.items()}
                               for name, per_key in changes.items()}
    gap = summary[stage]["fwm/field_accuracy"]
    if len(run_dirs) > 1 and math.isfinite(gap["ci95"]) and gap["mean"] - gap["ci95"] > 0:
        head = KEYS[0]
        for arm in arms:
            summary[arm]["gap_closed"] = seed_stats([a / g for a, g in zip(changes[arm][head],
                                                                           changes[stage][head], strict=True)])
    return {"stage": stage, "arms": arms, "split": split, "runs": runs, "change_over_sft": summary}


def table(result: dict[str, Any]) -> str:
    """Markdown: per row (the stage, then each arm) the mean change over SFT ± 95 % CI in pp, and the gap."""
    header = ["arm", *(f"Δ {k.removeprefix('fwm/')}" for k in KEYS), f"gap of {result['stage']} closed"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for name, figures in result["change_over_sft"].items():
        cells = [f"{100 * figures[k]['mean']:+.1f} ± {100 * figures[k]['ci95']:.1f}" for k in KEYS]
        gap = figures.get("gap_closed")
        cells.append(f"{gap['mean']:.2f} ± {gap['ci95']:.2f}" if gap else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--stage", required=True, help="the predictions folder, e.g. oracle")
    parser.add_argument("--arm", action="append", default=[], help="a baseline of metrics.json, e.g. bootstrap")
    parser.add_argument("--split", default="test", choices=["val", "test"])
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    result = compare(args.runs, args.stage, args.arm, args.split)
    print(table(result))
    if args.output:
        result = provenance(inputs=[str(r) for r in args.runs], stage=args.stage, arms=args.arm) | result
        atomic_write_text(args.output, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
