"""How much the Phase I reward says about the quality of a sampled next state (a diagnostic of the benchmark).

Phase I (SWIRL §3.3) samples a group of G next states ``ŷ_1..ŷ_G ~ P_θ(· | x, z)`` from the FWM and
rewards each with the frozen IDM's ``log Q_φ(z | x, ŷ_i)``; GRPO's advantage is that reward centred (and
scaled) within the group. The FWM can only get better at predicting the true ``y`` if, within a group, the
reward ranks samples closer to ``y`` higher. For each seed's run folder this script takes the run's SFT
FWM and IDM and ``--pairs`` pairs of its unlabelled split, labels them as Phase I does
(``infer_latent_actions`` with the config's latent-action settings), samples G next states per pair at
each ``--temperature``, scores them with the Phase I reward, and measures against the true ``y``:

- ``distinct_fraction``: distinct samples per group / G (1/G = all samples identical);
- ``reward_std``: within-group standard deviation of the reward (nats per token);
- ``corr_reward_quality``: within-group Pearson correlation of reward and the sample's quality (field
  accuracy for the physics world, else ROUGE-L), averaged over groups where both vary, with their count;
- ``best_minus_mean``: quality of the group's highest-reward sample minus the group's mean quality (what
  Phase I pushes towards, per pair; > 0 means the reward points the FWM at the true state);
- the same split by whether the latent action reproduces the transition (``grounded``, physics only), and
  once more with the logged action (``meta.action``, where the importer kept it) in place of the latent
  one: the reward's signal if the IDM's pseudo-labels were right.

The unlabelled split is training data; nothing here is a test metric. Writes JSON (config, seeds, machine,
git commit, figures per seed and pooled) to ``--output``.

    python benchmarks/reward_signal.py runs/harness/physics-bench/swirl/seed0 runs/harness/physics-bench/swirl/seed1 \\
        --pairs 32 --temperature 0.7 1.0 --output studies/label-efficiency/reward-signal-physics-bench.json
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from swirl_wm.config import RunConfig, load_config
from swirl_wm.data.jsonl import read_transitions
from swirl_wm.evaluation.evaluate import APPLY, grounded
from swirl_wm.evaluation.reward_signal import Group, group_figures, sample_groups
from swirl_wm.files import atomic_write_text
from swirl_wm.objectives.latent import infer_latent_actions
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.reporting.run_info import provenance


def run_seed(run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(run_dir / "config.yaml", schema=RunConfig).model_copy(update={"output_dir": run_dir})
    torch.manual_seed(config.seed)
    run = SwirlRun(config, lambda _: None)  # its scorers prompt as the run did (model.idm_diff, ...)
    scorers = {role: run.scorer(f"checkpoints/sft/{role}") for role in ("fwm", "idm")}
    phase1 = config.swirl.phase1
    unlabelled = read_transitions(run_dir / "data" / "unlabelled.jsonl")[: args.pairs]
    latent, stats = infer_latent_actions(scorers["idm"], unlabelled, config.swirl.latent_action,
                                         phase1.temperature, phase1.top_p, config.eval.batch_size, config.seed)
    # The logged action (held back from the unlabelled split, kept in ``meta``) in the latent one's place.
    gold = [replace(t, z=t.meta["action"]) for t in latent if (t.meta or {}).get("action")]
    apply = APPLY.get(latent[0].env) if latent else None
    result: dict[str, Any] = {"run_dir": str(run_dir), "seed": config.seed, "pairs": stats.pairs, "kept": stats.kept,
                              "latent_distinct_fraction": stats.distinct_fraction}
    if apply is not None:
        hits = [grounded(apply, t.x, t.z, t.y) for t in latent]
        result["grounded"] = hits
        result["latent_grounded_accuracy"] = sum(hits) / len(hits)
    for temperature in args.temperature:
        sampling = (args.num_generations, temperature, phase1.top_p, phase1.max_completion_length,
                    config.eval.batch_size, config.seed)
        reward = SwirlReward("fwm", scorers["idm"])
        groups = sample_groups(scorers["fwm"], reward, latent, *sampling)
        gold_groups = sample_groups(scorers["fwm"], reward, gold, *sampling) if gold else []
        result[f"T={temperature}/groups"] = {"latent": groups, "gold": gold_groups}
        result[f"T={temperature}"] = _figures(result[f"T={temperature}/groups"], result.get("grounded"))
    return result


def _figures(groups: dict[str, list[Group]], hits: list[bool] | None) -> dict[str, Any]:
    figures = {"latent": group_figures(groups["latent"]),
               "gold": group_figures(groups["gold"]) if groups["gold"] else None}
    if hits is not None:  # the environment executes actions: split by whether z reproduces (x, y)
        pairs = list(zip(groups["latent"], hits, strict=True))
        figures["latent_grounded"] = group_figures([g for g, ok in pairs if ok])
        figures["latent_wrong"] = group_figures([g for g, ok in pairs if not ok])
    return figures


def pooled(per_seed: list[dict[str, Any]], temperature: float) -> dict[str, Any]:
    key = f"T={temperature}/groups"
    out = {}
    for source in ("latent", "gold"):
        out[source] = group_figures([g for r in per_seed for g in r[key][source]])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="run folders with checkpoints/sft/{fwm,idm}")
    parser.add_argument("--pairs", type=int, default=32, help="unlabelled pairs per run (first ones)")
    parser.add_argument("--num-generations", type=int, default=8, help="G, samples per pair")
    parser.add_argument("--temperature", type=float, nargs="+", default=[0.7])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--render", action="store_true",
                        help="only recompute the figures from the groups stored in the existing --output JSON")
    args = parser.parse_args()
    if args.render:
        result = json.loads(args.output.read_text(encoding="utf-8"))
        per_seed, args.temperature = result["per_seed"], result["temperatures"]
        for r in per_seed:
            for t in args.temperature:
                r[f"T={t}"] = r[f"T={t}"] | _figures(r[f"T={t}/groups"], r.get("grounded"))
    else:
        if args.threads:
            torch.set_num_threads(args.threads)
        start = time.monotonic()
        per_seed = [run_seed(run, args) for run in args.runs]
        result = provenance(start, runs=[str(r) for r in args.runs], pairs=args.pairs,
                            num_generations=args.num_generations, temperatures=args.temperature)
    result |= {"pooled": {f"T={t}": pooled(per_seed, t) for t in args.temperature}, "per_seed": per_seed}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(result, indent=2))
    for t in args.temperature:
        for source in ("latent", "gold"):
            print(f"T={t} {source}: {json.dumps(result['pooled'][f'T={t}'][source])}")
        for r in per_seed:
            print(f"  seed {r['seed']}: latent grounded {r.get('latent_grounded_accuracy')}, "
                  + ", ".join(f"{k}: {json.dumps(v)}" for k, v in r[f"T={t}"].items() if k.startswith("latent_")))


if __name__ == "__main__":
    main()
