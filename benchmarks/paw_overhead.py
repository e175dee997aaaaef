"""PaW's cost over plain GRPO on the same batch (the paper reports about +2 %).

Plays one batch of rollouts (``tasks × G`` episodes of the config's agent environment) with an
``AgentGRPOTrainer`` that has PaW on, then times TRL's loss forward + backward (in micro-batches of
``rl.per_device_train_batch_size`` rows, as training runs them) on that SAME batch with
the PaW term switched off (plain GRPO) and on, alternating, ``--repeats`` times after one warm-up each.
Rollouts are identical for both, so the difference is the PaW term alone (its observation-token losses
reuse the log-probs of TRL's own forward pass). Writes JSON (config, seed, machine, git commit, rollout
seconds, loss seconds per mode, overhead of a whole RL step = rollout + loss) to ``--output``; on CUDA
also the peak memory of each mode.

    python benchmarks/paw_overhead.py configs/paw-textworld.yaml --model runs/…/checkpoints/sft \\
        --output studies/agents/paw-overhead-textworld.json
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import agent_bench
import torch
from datasets import Dataset
from trl.trainer.utils import split_tensor_dict

from swirl_wm.backend.args import grpo_args
from swirl_wm.backend.paw import AgentGRPOTrainer
from swirl_wm.models.loading import load_tokenizer
from swirl_wm.recipes.paw import env_factory


def main() -> None:
    args = agent_bench.parser(__doc__, tasks=2, repeats=5, tasks_help="tasks in the batch (each played G times)"
                              ).parse_args()
    config, model = agent_bench.setup(args)
    make_env = env_factory(config)
    with make_env() as env:
        tasks = {t.task_id: t for t in env.tasks("train")[: args.tasks]}
    g = config.rl.num_generations
    rl = config.rl.model_copy(update={"per_device_train_batch_size": g * len(tasks), "gradient_accumulation_steps": 1})
    trainer = AgentGRPOTrainer(env_factory=make_env, tasks=tasks, rollout=config.rollout,
                               paw=config.paw.model_copy(update={"enabled": True}), model=model,
                               args=grpo_args(rl, Path("/tmp/paw_overhead"), config.seed),
                               train_dataset=Dataset.from_list([{"prompt": t} for t in tasks]),
                               processing_class=load_tokenizer(model))
    torch.manual_seed(config.seed)
    start = time.perf_counter()
    batch = trainer._generate_and_score_completions([{"prompt": t} for t in tasks for _ in range(g)])
    rollout_s = time.perf_counter() - start
    trainer.close_environments()
    trainer.model.train()
    # as training runs them: TRL's own split into micro-batches of rl.per_device_train_batch_size rows
    chunks = max(1, len(batch["completion_ids"]) // config.rl.per_device_train_batch_size)
    micro_batches = split_tensor_dict(batch, chunks)
    trainer.current_gradient_accumulation_steps = len(micro_batches)  # set by Trainer's loop, bypassed here
    modes = {"grpo": config.paw.model_copy(update={"enabled": False}), "paw": trainer.paw}
    seconds: dict[str, list[float]] = {m: [] for m in modes}
    peak_mb: dict[str, float | None] = {m: None for m in modes}
    cuda = torch.cuda.is_available()
    for repeat in range(args.repeats + 1):
        for mode, paw in modes.items():
            trainer.paw = paw
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            for micro in micro_batches:
                loss = trainer._compute_loss(trainer.model, micro)
                loss.backward()
            if cuda:
                torch.cuda.synchronize()
                peak_mb[mode] = torch.cuda.max_memory_allocated() / 2**20
            trainer.model.zero_grad(set_to_none=True)
            if repeat:  # the first round warms up
                seconds[mode].append(time.perf_counter() - start)
    loss_s = {m: statistics.median(v) for m, v in seconds.items()}
    tokens = int(batch["completion_mask"].sum()) + int(batch["prompt_mask"].sum())
    agent_bench.write("paw_overhead", args, config, "cuda" if cuda else "cpu", {
        "tasks": len(tasks), "num_generations": g, "micro_batches": len(micro_batches), "tokens_in_batch": tokens,
        "rollout_s": rollout_s, "loss_backward_s": loss_s, "loss_backward_s_all": seconds, "peak_cuda_mb": peak_mb,
        "overhead_loss_pct": 100 * (loss_s["paw"] / loss_s["grpo"] - 1),
        "overhead_step_pct": 100 * (loss_s["paw"] - loss_s["grpo"]) / (rollout_s + loss_s["grpo"]),
    })


if __name__ == "__main__":
    main()
