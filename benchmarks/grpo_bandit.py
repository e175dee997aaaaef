"""Can GRPO on trajectories improve a fixed handful of tasks? The agent trainer's sanity check before a regime
search (method.md §2): if sampled success on the tasks it trains on does not rise, no setting of the whole
task distribution will.

From an agent run's walkthrough-SFT policy (``<run>/checkpoints/sft``), the script plays ``--probe`` train
tasks ``G`` times each (sampling, the run's ``rl.temperature``), keeps the ``--tasks`` whose sampled success is
nearest ``--target`` (where a group holds both outcomes, so the advantage is not zero), then runs GRPO
(``paw.enabled`` false) on those tasks only for ``--steps`` steps at ``--learning-rate``; every step's
generation batch holds each kept task ``rl.per_device_train_batch_size / G`` times over the steps. It prints
JSON: the kept tasks and their starting success, and per step the sampled success and the policy's mean
action-token entropy (TRL's ``entropy``; a rise to several nats means the policy is coming apart).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/grpo_bandit.py runs/paw-physics-goal --learning-rate 1e-4
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from swirl_wm.agents.rollouts import play_episodes
from swirl_wm.backend.paw import train_paw
from swirl_wm.config.loader import load_config
from swirl_wm.config.schema import AgentRunConfig
from swirl_wm.models.loading import load_tokenizer
from swirl_wm.recipes.paw import env_factory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="an agent run folder with checkpoints/sft and config.yaml")
    parser.add_argument("--tasks", type=int, default=2, help="tasks GRPO trains on")
    parser.add_argument("--probe", type=int, default=40, help="train tasks played to choose them")
    parser.add_argument("--target", type=float, default=0.4, help="sampled success the chosen tasks start nearest")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--share-prompt-prefix", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    cfg = load_config(args.run / "config.yaml", schema=AgentRunConfig)
    sft = str(args.run / "checkpoints" / "sft")
    make_env, g = env_factory(cfg), cfg.rl.num_generations
    with make_env() as env:
        candidates = env.tasks("train")[: args.probe]
    tokenizer, model = load_tokenizer(sft), AutoModelForCausalLM.from_pretrained(sft)
    torch.manual_seed(args.seed)
    envs = [make_env() for _ in range(g)]
    start = {}
    for task in candidates:
        played = play_episodes(model, tokenizer, envs, [task] * g, max_steps=cfg.rollout.max_steps,
                               max_action_tokens=cfg.rollout.max_action_tokens,
                               max_observation_chars=cfg.rollout.max_observation_chars,
                               max_context_tokens=cfg.rollout.max_context_tokens, temperature=cfg.rl.temperature,
                               top_p=cfg.rl.top_p)
        start[task.task_id] = sum(r.won for r in played) / g
    for env in envs:
        env.close()
    kept = sorted(start, key=lambda k: abs(start[k] - args.target))[: args.tasks]
    rl = cfg.rl.model_copy(update={"learning_rate": args.learning_rate, "max_steps": args.steps,
                                   "share_prompt_prefix": args.share_prompt_prefix})
    paw = cfg.paw.model_copy(update={"enabled": False})
    with tempfile.TemporaryDirectory() as tmp:
        trained = train_paw(sft, make_env, {t.task_id: t for t in candidates if t.task_id in kept}, cfg.rollout,
                            paw, rl, Path(tmp) / "policy", Path(tmp) / "logs", args.seed)
    entropy = [h["entropy"] for h in trained.log_history if "entropy" in h and "train_runtime" not in h]
    print(json.dumps({"run": str(args.run), "learning_rate": args.learning_rate, "steps": args.steps,
                      "share_prompt_prefix": args.share_prompt_prefix, "tasks": {k: start[k] for k in kept},
                      "success_per_step": [round(s["success_rate"], 4) for s in trained.rollout_stats],
                      "entropy_per_step": [round(e, 4) for e in entropy]}, indent=1))


if __name__ == "__main__":
    main()
