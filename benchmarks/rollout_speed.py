"""Cost of playing agent episodes: one KV cache per episode vs re-encoding every episode each step.

Plays the config's first ``--tasks`` test tasks greedily with a policy, once per ``kv_cache`` mode
(``batch``: all active episodes re-encoded in one left-padded batch per step; ``episode``: each episode
keeps its KV cache and is decoded alone), alternating ``--repeats`` times. Greedy play makes both modes
play the same actions; the script checks that and records it. Writes JSON (config, seed, machine, git
commit, seconds per mode, steps played, actions identical) to ``--output``.

    python benchmarks/rollout_speed.py configs/paw-textworld-cpu.yaml --model smollm2 \\
        --output studies/agents/rollout-speed-textworld.json
"""

from __future__ import annotations

import statistics
import time

import agent_bench
import torch

from swirl_wm.agents.rollouts import play_episodes
from swirl_wm.models.loading import load_model, load_tokenizer
from swirl_wm.recipes.paw import env_factory


def main() -> None:
    args = agent_bench.parser(__doc__, tasks=10, repeats=2).parse_args()
    config, path = agent_bench.setup(args)
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
    agent_bench.write("rollout_speed", args, config, device, {
        "tasks": len(tasks), "steps_played": steps, "seconds": median, "seconds_all": seconds,
        "speedup_episode_over_batch": median["batch"] / median["episode"],
        "same_actions": actions["batch"] == actions["episode"]})


if __name__ == "__main__":
    main()
