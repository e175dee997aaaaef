"""Does the Phase II reward rank the IDM's actions by whether they explain the transition?

Phase II (SWIRL §3.4) samples a group of G actions ``ẑ_1..ẑ_G ~ Q_φ(· | x, y)`` from the IDM for an
unlabelled pair and rewards each with the frozen FWM's ``log P_θ(y | x, ẑ_i)``; GRPO learns from the
reward's differences within the group. The IDM can only get better if, within a group, the actions that
explain ``(x, y)`` get the higher reward. For every Phase II of each run folder this script takes the
models that phase started from (the frozen FWM and the IDM before it, from the run's ``metrics.json``),
the first ``--pairs`` of the pairs that phase trained on (the run's own order, ``phase_seed``), samples G
actions per pair at the phase's temperature, scores them with the Phase II reward and measures, with
:func:`~swirl_wm.evaluation.reward_signal.group_figures`:

- ``mean_quality``: the share of sampled actions that reproduce the transition (physics: grounded; elsewhere
  ROUGE-L against the logged action) — the IDM's sample accuracy on those pairs;
- ``corr_reward_quality``: within-group correlation of reward and quality (groups where both vary);
- ``best_minus_mean``: quality of the highest-reward action minus the group's mean (> 0: the reward points
  the IDM at actions that explain the change).

The same figures as the ``phase2_check`` a run records before each Phase II when
``swirl.warm_start_check.pairs`` is set; this script measures them after the fact on runs that kept their
checkpoints, pooled over seeds (``swirl diagnose RUN`` gives one run's figures of both phases). The
unlabelled pairs are training data; nothing here is a test metric. Writes JSON (the runs, settings, machine,
git commit, per-seed and pooled figures per phase) to ``--output``.

    python benchmarks/phase2_signal.py runs/study-full/L20/physics-study/swirl/seed{0,1,2} --pairs 64 \\
        --output studies/label-efficiency/phase2-signal-L20.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from swirl_wm.config import RunConfig, load_config
from swirl_wm.data.jsonl import read_transitions
from swirl_wm.evaluation.reward_signal import Group, group_figures
from swirl_wm.files import atomic_write_text
from swirl_wm.recipes.diagnose import starting_points
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.recipes.stages import phase2_groups, phase_pairs, phase_seed
from swirl_wm.records import IDM
from swirl_wm.reporting.run_info import provenance


def run_seed(run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(run_dir / "config.yaml", schema=RunConfig).model_copy(update={"output_dir": run_dir})
    run = SwirlRun(config, lambda _: None)  # its scorers prompt as the run did (model.idm_diff, ...)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    unlabelled = read_transitions(run_dir / "data" / "unlabelled.jsonl")
    out: dict[str, Any] = {"run_dir": str(run_dir), "seed": config.seed, "phases": {}}
    for name, iteration, trained, start, _ in starting_points(metrics["phases"]):
        if trained != IDM:
            continue
        seed = phase_seed(config.seed, iteration, trained)
        pairs = phase_pairs(unlabelled, config.swirl.phase2, seed)[: args.pairs]  # the phase's own, in its order
        groups = phase2_groups(run, start, run.scorer(start["fwm"]), pairs, seed)
        out["phases"][name] = {"start": start, "groups": groups, "figures": group_figures(groups)}
    return out


def pooled(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Per phase name, :func:`group_figures` over the groups of every seed that has it."""
    names = dict.fromkeys(n for r in per_seed for n in r["phases"])
    return {n: group_figures([g for r in per_seed for g in r["phases"].get(n, {}).get("groups", [])])
            for n in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="finished run folders with a Phase II and checkpoints")
    parser.add_argument("--pairs", type=int, default=64, help="pairs per Phase II (its first ones)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.monotonic()
    per_seed = [run_seed(run, args) for run in args.runs]
    groups: list[Group] = [g for r in per_seed for p in r["phases"].values() for g in p["groups"]]
    result = provenance(start, runs=[str(r) for r in args.runs], pairs=args.pairs, groups=len(groups)) | {
        "pooled": pooled(per_seed), "per_seed": per_seed}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(result, indent=2))
    for name, figures in result["pooled"].items():
        print(f"{name} pooled: {json.dumps(figures)}")
        for r in per_seed:
            if name in r["phases"]:
                print(f"  seed {r['seed']}: {json.dumps(r['phases'][name]['figures'])}")


if __name__ == "__main__":
    main()
