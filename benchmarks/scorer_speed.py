"""Time of the frozen scorer on SWIRL rewards, output layer at every position vs only at the targets'
positions (``Scorer(trim_logits=...)``, transformers' ``logits_to_keep``). Both in one process on
the same pairs, alternating, best of ``--repeats``; the scores must agree to float tolerance. Writes JSON
(config, seed, machine, git commit, seconds, speed-up, max score difference) to --output.

Phase I's reward scores a short action given a long prompt (``log Q(z | x, ŷ)``); Phase II's a next state
given a prompt about as long (``log P(y | x, ẑ)``): the first gains most.

    python benchmarks/scorer_speed.py --model smollm2 --output studies/speed/scorer-speed-smollm2.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from swirl_wm.envs import physics
from swirl_wm.models.loading import load_model, load_tokenizer, resolve_model
from swirl_wm.models.prompts import PromptFormat, fwm_prompt, idm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.reporting.run_info import provenance


def _time(scorer: Scorer, prompts: list[str], targets: list[str]) -> tuple[float, list[float]]:
    start = time.perf_counter()
    scores = scorer(prompts, targets)
    return time.perf_counter() - start, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--pairs", type=int, default=64, help="scored pairs per reward (G × prompts of a step)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = resolve_model(args.model).path
    tokenizer, model = load_tokenizer(path), load_model(path)
    episodes = physics.generate_episodes(physics.PhysicsWorldConfig(n_objects=2, n_episodes=40), args.seed)
    pairs = [t for e in episodes for t in e.transitions][: args.pairs]
    fmt = PromptFormat(idm_diff=True)
    rewards = {  # the prompt and target of each phase's reward, on true transitions
        "phase1 log Q(z|x,y)": ([idm_prompt(tokenizer, t.x, t.y, fmt) for t in pairs], [t.z for t in pairs]),
        "phase2 log P(y|x,z)": ([fwm_prompt(tokenizer, t.x, t.z, fmt) for t in pairs], [t.y for t in pairs]),
    }
    results = {}
    for name, (prompts, targets) in rewards.items():
        scorers = {trim: Scorer(model, tokenizer, batch_size=args.batch, prompt_format=fmt, trim_logits=trim)
                   for trim in (False, True)}
        _time(scorers[True], prompts[: args.batch], targets[: args.batch])  # warm-up
        seconds: dict[bool, list[float]] = {False: [], True: []}
        scores: dict[bool, list[float]] = {}
        for _ in range(args.repeats):
            for trim in (False, True):
                elapsed, scores[trim] = _time(scorers[trim], prompts, targets)
                seconds[trim].append(elapsed)
        prompt_tokens = sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts) / len(prompts)
        target_tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in targets) / len(targets)
        results[name] = {
            "seconds_every_position": min(seconds[False]), "seconds_target_positions": min(seconds[True]),
            "speedup": min(seconds[False]) / min(seconds[True]),
            "max_score_difference": max(abs(a - b) for a, b in zip(scores[False], scores[True], strict=True)),
            "mean_prompt_tokens": prompt_tokens, "mean_target_tokens": target_tokens + 1,  # + EOS
            "all_seconds": {"every_position": seconds[False], "target_positions": seconds[True]},
        }
        print(name, json.dumps({k: v for k, v in results[name].items() if k != "all_seconds"}))
    out = provenance(config=vars(args) | {"output": str(args.output), "model_path": path}, seed=args.seed) | {
        "results": results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
