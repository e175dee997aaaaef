"""One agent GRPO(+PaW) step with TRL's log-probability pass against the shared-prompt one
(``rl.share_prompt_prefix``; :class:`~swirl_wm.backend.paw.AgentGRPOTrainer`), on the same fixed batch.

The G episodes of a task share its prompt (system message and ``o_0``) and diverge from their first action,
so the shared pass saves ``(G − 1)·(P − 1)`` of the ``G·(P + C)`` tokens of a group (prompt P, episode C
tokens), in the forward and in the backward pass. The script plays ``--tasks × G`` episodes of an agent
config's train tasks once (seeded) with PaW on, then, alternating the two settings ``--repeats`` times after
one warm-up round, times each part of a step:

- ``rollout_s``: ``_generate_and_score_completions`` with the same seed (the episodes and TRL's scoring;
  the setting does not touch them on CPU, where each episode keeps its own KV cache);
- ``forward_s``: TRL's loss with PaW's term (``_compute_loss``) over the micro-batches of
  ``rl.per_device_train_batch_size`` rows, as training runs them;
- ``backward_s``: its backward pass;
- ``prompt_prefill_s``: one prompt encoded alone, what sharing the prompt in sampling could save per
  episode (not done: each episode samples with its own KV cache).

It reports the median and range per part and setting, the token counts, the step time (the three parts'
sum; the optimizer step is the same for both and left out) and the shared setting's gain in % of the plain
step, and checks that both settings give the same loss. Prints JSON, also written to ``--output``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/paw_step_speed.py --config configs/paw-physics-goal.yaml \\
        --model small --tasks 2 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from trl.trainer.utils import split_tensor_dict

from swirl_wm.agents.chat import AGENT_SYSTEM_PROMPT, PLAIN_CHAT_TEMPLATE, PLAIN_CHAT_WORDS
from swirl_wm.backend.args import grpo_args
from swirl_wm.backend.paw import AgentGRPOTrainer
from swirl_wm.config import AgentRunConfig, load_config
from swirl_wm.models.loading import SMALL, build_small_model, load_tokenizer, resolve_model
from swirl_wm.recipes.paw import env_factory
from swirl_wm.reporting.speed import interleaved_order

MODES = {"trl": False, "shared": True}


def _walkthrough_texts(make_env, tasks) -> list[str]:
    """Observations and actions of the tasks' expert walkthroughs: the small tier's tokenizer text."""
    texts = []
    with make_env() as env:
        for task in tasks:
            texts.append(env.reset(task))
            for action in env.walkthrough(task):
                texts += [action, env.step(action).observation]
    return texts


def _model_path(spec: str, make_env, out: Path, seed: int) -> str:
    """A preset or folder; ``small`` is built here as an agent run builds it (on the train walkthroughs)."""
    if spec != SMALL:
        return resolve_model(spec).path
    with make_env() as env:
        train = env.tasks("train")
    texts = _walkthrough_texts(make_env, train) + [AGENT_SYSTEM_PROMPT, PLAIN_CHAT_WORDS]
    return build_small_model(out / "small", texts, seed, chat_template=PLAIN_CHAT_TEMPLATE).path


@torch.no_grad()
def _prefill_seconds(model, batch: dict[str, Any], repeats: int) -> float:
    """Median time of encoding the first row's prompt alone (batch 1, as each episode's first step does on
    CPU): what sharing the prompt in sampling could save, per episode after a group's first."""
    prompt = batch["prompt_ids"][:1, batch["prompt_mask"][0].bool()]
    model.eval()
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        model(input_ids=prompt, use_cache=True, logits_to_keep=1)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def step_speed(config_path: Path, model: str, tasks: int, repeats: int, threads: int) -> dict[str, Any]:
    """Time the parts of one agent RL step per setting (see the module docstring).

    Returns:
        ``seconds`` (per setting and part: median, min, max over ``repeats``, s), ``seconds_all``,
        ``step_s`` (median of the per-round sums), ``gain_step_pct``, ``saved_logps_of_step_pct`` (the
        forward + backward time saved, in % of the plain step: the rollouts' noise left out), ``gain_logps_pct``,
        ``prompt_prefill_s``,
        ``tokens`` (prompt / completion tokens of the batch, and what the shared pass feeds the model),
        ``loss`` per setting, and the setup.
    """
    torch.set_num_threads(threads)
    config = load_config(config_path, schema=AgentRunConfig)
    make_env = env_factory(config)
    rl = config.rl
    g = rl.num_generations
    with tempfile.TemporaryDirectory() as tmp:
        path = _model_path(model, make_env, Path(tmp), config.seed)
        with make_env() as env:
            chosen = {t.task_id: t for t in env.tasks("train")[:tasks]}
        batch_rl = rl.model_copy(update={"per_device_train_batch_size": g * len(chosen),
                                         "gradient_accumulation_steps": 1})
        trainer = AgentGRPOTrainer(env_factory=make_env, tasks=chosen, rollout=config.rollout,
                                   paw=config.paw.model_copy(update={"enabled": True}), model=path,
                                   args=grpo_args(batch_rl, Path(tmp) / "logs", config.seed),
                                   train_dataset=Dataset.from_list([{"prompt": t} for t in chosen]),
                                   processing_class=load_tokenizer(path))
        inputs = [{"prompt": t} for t in chosen for _ in range(g)]
        torch.manual_seed(config.seed)
        batch = trainer._generate_and_score_completions(inputs)
        micro_batches = split_tensor_dict(batch, max(1, len(inputs) // rl.per_device_train_batch_size))
        trainer.current_gradient_accumulation_steps = len(micro_batches)  # set by Trainer's loop, bypassed here
        prefill_s = _prefill_seconds(trainer.model, batch, repeats)
        seconds: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in MODES}
        losses: dict[str, float] = {}
        try:
            warm_up = [(False, m) for m in MODES]
            for timed, mode in warm_up + [(True, m) for _, m in interleaved_order(list(MODES), repeats)]:
                trainer.share_prompt_prefix = MODES[mode]
                torch.manual_seed(config.seed)
                start = time.perf_counter()
                trainer._generate_and_score_completions(inputs)
                parts = {"rollout_s": time.perf_counter() - start, "forward_s": 0.0, "backward_s": 0.0}
                trainer.model.train()
                total = 0.0
                for micro in micro_batches:
                    start = time.perf_counter()
                    loss = trainer._compute_loss(trainer.model, micro)
                    parts["forward_s"] += time.perf_counter() - start
                    start = time.perf_counter()
                    loss.backward()
                    parts["backward_s"] += time.perf_counter() - start
                    total += loss.item()
                trainer.model.zero_grad(set_to_none=True)
                losses[mode] = total
                if timed:
                    for part, value in parts.items():
                        seconds[mode][part].append(value)
        finally:
            trainer.close_environments()
    steps = {m: [sum(v) for v in zip(*seconds[m].values(), strict=True)] for m in MODES}
    logps = {m: [f + b for f, b in zip(seconds[m]["forward_s"], seconds[m]["backward_s"], strict=True)]
             for m in MODES}
    step_s = {m: statistics.median(v) for m, v in steps.items()}
    logps_s = {m: statistics.median(v) for m, v in logps.items()}
    prompt, completion = batch["prompt_mask"].sum(1), batch["completion_mask"].sum(1)
    rows, width = batch["prompt_ids"].shape
    distinct = torch.unique(torch.cat([batch["prompt_ids"], batch["prompt_mask"]], 1), dim=0).shape[0]
    return {"config": str(config_path), "model": model, "tasks": len(chosen), "num_generations": g,
            "micro_batches": len(micro_batches), "repeats": repeats, "threads": torch.get_num_threads(),
            "load_average": os.getloadavg(),
            "tokens": {"prompt_mean": prompt.float().mean().item(), "completion_mean": completion.float().mean().item(),
                       "padded_rows_x_width": rows * (width + batch["completion_ids"].shape[1]),
                       "shared_pass_width": distinct * (width - 1) + rows * (1 + batch["completion_ids"].shape[1])},
            "seconds": {m: {p: _summary(v) for p, v in parts.items()} for m, parts in seconds.items()},
            "seconds_all": {m: dict(parts) for m, parts in seconds.items()},
            "step_s": {m: _summary(v) for m, v in steps.items()},
            "logps_forward_backward_s": {m: _summary(v) for m, v in logps.items()},
            "gain_step_pct": 100 * (1 - step_s["shared"] / step_s["trl"]),
            "saved_logps_of_step_pct": 100 * (logps_s["trl"] - logps_s["shared"]) / step_s["trl"],
            "gain_logps_pct": 100 * (1 - logps_s["shared"] / logps_s["trl"]),
            "prompt_prefill_s": prefill_s, "loss": losses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/paw-physics-goal.yaml"))
    parser.add_argument("--model", default=SMALL, help="small (built from the train walkthroughs), tiny, a folder")
    parser.add_argument("--tasks", type=int, default=2, help="tasks per batch (× G episodes)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    result = step_speed(args.config, args.model, args.tasks, args.repeats, args.threads)
    text = json.dumps(result, indent=1)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
