"""Cost of playing agent episodes: one KV cache per episode vs re-encoding every episode each step.

Plays the config's first ``--tasks`` test tasks greedily with a policy, once per ``kv_cache`` mode
(``batch``: all active episodes re-encoded in one left-padded batch per step; ``episode``: each episode
keeps its KV cache and is decoded alone), alternating ``--repeats`` times. Greedy play makes both modes
play the same actions; the script checks that and records it. Writes JSON (config, seed, machine, git
commit, seconds per mode, steps played, actions identical) to ``--output``.

    python benchmarks/rollout_speed.py configs/paw-textworld-cpu.yaml --model smollm2 \\
        --output benchmarks/results/rollout_speed_textworld.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from swirl_wm.agent_pipeline import env_factory
from swirl_wm.config import AgentRunConfig, load_config
from swirl_wm.models.loading import load_model, load_tokenizer, resolve_model
from swirl_wm.reporting.run_info import git_commit, machine_info
from swirl_wm.training.rollouts import play_episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="an agent config (configs/paw-*.yaml)")
    parser.add_argument("--model", help="policy checkpoint or model name (default: the config's model)")
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.config, schema=AgentRunConfig)
    path = resolve_model(args.model or config.model.name_or_path).path
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer = load_model(path, device), load_tokenizer(path)
    make_env = env_factory(config)
    envs = [make_env() for _ in range(args.tasks)]
    tasks = envs[0].tasks("test")[: args.tasks]
    cfg = config.rollout
    seconds: dict[str, list[float]] = {"batch": [], "episode": []}
    actions: dict[str, list[list[str]]] = {}
    steps = 0
    try:
        for _ in range(args.repeats):
            for mode in seconds:
                start = time.perf_counter()
                rollouts = play_episodes(model, tokenizer, envs, tasks, max_steps=cfg.max_steps,
                                         max_action_tokens=cfg.max_action_tokens,
                                         max_observation_chars=cfg.max_observation_chars,
                                         max_context_tokens=cfg.max_context_tokens, temperature=0.0, top_p=1.0,
                                         kv_cache=mode)
                if device == "cuda":
                    torch.cuda.synchronize()
                seconds[mode].append(time.perf_counter() - start)
                actions[mode] = [r.actions for r in rollouts]
                steps = sum(len(r.actions) for r in rollouts)
    finally:
        for env in envs:
            env.close()
    median = {m: statistics.median(v) for m, v in seconds.items()}
    result = {"benchmark": "rollout_speed", "config_path": str(args.config), "config": config.model_dump(mode="json"),
              "model": args.model or config.model.name_or_path, "seed": config.seed, "tasks": len(tasks),
              "repeats": args.repeats, "device": device, "threads": torch.get_num_threads(),
              "git_commit": git_commit(), "machine": machine_info(), "steps_played": steps,
              "seconds": median, "seconds_all": seconds,
              "speedup_episode_over_batch": median["batch"] / median["episode"],
              "same_actions": actions["batch"] == actions["episode"]}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "config")}, indent=2))


if __name__ == "__main__":
    main()
