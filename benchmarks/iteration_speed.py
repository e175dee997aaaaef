"""One SWIRL iteration (Phase I, then Phase II) timed part by part: swirl-wm's GRPO path beside a reference
built from stock TRL with a plain callable reward, on the same pairs, seed, G and steps.

- **swirl-wm**: ``backend.grpo.train_grpo`` with :class:`~swirl_wm.objectives.rewards.SwirlReward` (the frozen
  role in a batched :class:`~swirl_wm.models.scoring.Scorer`, TRL's ``selective_log_softmax``).
- **stock TRL**: ``trl.GRPOTrainer`` with a plain callable reward that holds the frozen model and scores one
  completion at a time with a full-vocabulary log-softmax, the way a reward function is usually written for
  TRL (and as the paper's released code scores: mean log-probability of the span, clamped at −10).

Both roles start from the same base model (no SFT: speed does not depend on it, and an untrained model
writes the longest completions, the worst case); Phase I's latent actions are the pairs' true actions.
Parts: generation (TRL ``_generate``), reward (``_calculate_rewards``), reference / old log-probs (forward
passes without gradient), policy forward (with gradient), and the rest of the step (backward, optimizer,
bookkeeping). Achieved training throughput is 6 · parameters · tokens / seconds of forward + backward,
against this machine's fp32 matmul peak measured here. Writes JSON (config, seed, machine, git commit,
per pipeline and phase: seconds by part, steps, pairs per hour, mean reward per step) and prints the ratio.

    python benchmarks/iteration_speed.py --model smollm2 --pairs 8 --generations 8 --steps 2 \\
        --output studies/speed/iteration.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import torch
from datasets import Dataset
from trl import GRPOTrainer

from swirl_wm.backend import grpo
from swirl_wm.backend.args import grpo_args
from swirl_wm.backend.grpo import phase_examples, train_grpo
from swirl_wm.config import GRPOPhaseConfig
from swirl_wm.envs import physics
from swirl_wm.models.loading import load_model, load_tokenizer, resolve_model
from swirl_wm.models.prompts import fwm_prompt, idm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.reporting.run_info import provenance

PARTS = {"generation": "_generate", "reward": "_calculate_rewards", "logps": "_get_per_token_logps_and_entropies"}


class PlainReward:
    """A reward callable as usually written for TRL: the frozen model scores each completion alone, through a
    full (T, V) log-softmax; mean log-probability of the target span, clamped below at −10 (method.md §1.6)."""

    def __init__(self, trained_role: str, model, tokenizer) -> None:
        self.trained_role, self.model, self.tokenizer = trained_role, model, tokenizer
        self.__name__ = "plain_reward"

    @torch.no_grad()
    def __call__(self, prompts, completions, x, **columns) -> list[float]:
        rewards = []
        for xi, completion, target in zip(x, completions, columns["z" if self.trained_role == "fwm" else "y"],
                                          strict=True):
            prompt = (idm_prompt(self.tokenizer, xi, completion) if self.trained_role == "fwm"
                      else fwm_prompt(self.tokenizer, xi, completion))
            head = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
            tail = self.tokenizer(target, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
            ids = torch.tensor([head + tail])
            logp = torch.log_softmax(self.model(ids).logits[0, :-1].float(), dim=-1)
            picked = logp[len(head) - 1:].gather(-1, ids[0, len(head):].unsqueeze(-1)).squeeze(-1)
            rewards.append(max(float(picked.mean()), -10.0))
        return rewards


@contextlib.contextmanager
def timed_parts(seconds: dict[str, float]) -> Iterator[None]:
    """Wrap the methods of :data:`PARTS` of GRPOTrainer and of swirl-wm's subclass of it so that each
    outermost call adds its wall time to ``seconds`` (forward passes split by whether they build a graph:
    the policy's loss forward, or reference / old log-probs; the subclass's call of TRL's method for a
    micro-batch without a shared prompt is not counted twice)."""
    classes = (GRPOTrainer, grpo.SharedPrefixGRPOTrainer)
    originals = {(cls, name): cls.__dict__[method] for cls in classes for name, method in PARTS.items()
                 if method in cls.__dict__}
    depth = [0]

    def wrap(name, method):
        def timed(self, *args, **kwargs):
            if depth[0]:
                return method(self, *args, **kwargs)
            part = name if name != "logps" else ("policy_forward" if torch.is_grad_enabled() else "reference")
            depth[0] += 1
            try:
                return _timed(seconds, part, method, self, *args, **kwargs)
            finally:
                depth[0] -= 1
        return timed

    for (cls, name), method in originals.items():
        setattr(cls, PARTS[name], wrap(name, method))
    try:
        yield
    finally:
        for (cls, name), method in originals.items():
            setattr(cls, PARTS[name], method)


def _timed(seconds: dict[str, float], part: str, function, *args, **kwargs):
    start = time.perf_counter()
    try:
        return function(*args, **kwargs)
    finally:
        seconds[part] += time.perf_counter() - start


def _phase(pipeline: str, role: str, policy: str, frozen, tokenizer, pairs, config: GRPOPhaseConfig, out: Path,
           seed: int) -> dict:
    seconds: dict[str, float] = defaultdict(float)
    start = time.perf_counter()
    with timed_parts(seconds):
        if pipeline == "swirl-wm":
            scorer = Scorer(frozen, tokenizer, batch_size=16)
            save = grpo.save_trained
            grpo.save_trained = lambda *a, **k: _timed(seconds, "save", save, *a, **k)
            try:
                _, history = train_grpo(policy, SwirlReward(role, scorer), pairs, config, out / "model",
                                        out / "logs", seed)
            finally:
                grpo.save_trained = save
        else:
            dataset = Dataset.from_list(phase_examples(role, pairs, tokenizer))
            trainer = GRPOTrainer(model=policy, reward_funcs=[PlainReward(role, frozen, tokenizer)],
                                  args=grpo_args(config, out / "logs", seed), train_dataset=dataset,
                                  processing_class=tokenizer)
            trainer.train()
            _timed(seconds, "save", trainer.save_model, str(out / "model"))
            history = trainer.state.log_history
    total = time.perf_counter() - start
    steps = [h for h in history if "reward" in h]
    parts = dict(seconds)
    parts["rest_of_step"] = total - sum(parts.values())  # backward, optimizer, TRL bookkeeping, model loading
    tokens = max((h.get("num_tokens", 0) for h in history), default=0)
    return {"seconds": total, "parts": parts, "steps": len(steps), "pairs": len(pairs),
            "pairs_per_hour": 3600 * len(pairs) / total, "train_tokens": tokens,
            "rewards": [h["reward"] for h in steps]}


def _matmul_peak_gflops(threads: int) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    start, runs = time.perf_counter(), 10
    for _ in range(runs):
        a @ b
    return 2 * 1024**3 * runs / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--max-completion", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--objects", type=int, default=2, help="objects per physics state (the state's length)")
    parser.add_argument("--pipelines", nargs="+", default=["stock TRL", "swirl-wm"],
                        choices=["stock TRL", "swirl-wm"], help="one alone for scaling runs (no ratio then)")
    parser.add_argument("--output", type=Path, default=Path("studies/speed/iteration.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = resolve_model(args.model).path
    tokenizer = load_tokenizer(path)
    frozen = load_model(path, "cpu")
    episodes = physics.generate_episodes(physics.PhysicsWorldConfig(n_objects=args.objects, n_episodes=20), args.seed)
    pairs = [t for e in episodes for t in e.transitions][: args.pairs]
    prompts_per_step = max(1, args.pairs // args.steps)
    result = provenance(config=vars(args) | {"output": str(args.output), "model_path": path}, seed=args.seed) | {
        "matmul_peak_gflops": _matmul_peak_gflops(args.threads),
        "parameters": sum(p.numel() for p in frozen.parameters()), "pipelines": {}}
    for pipeline in args.pipelines:
        phases = {}
        for role, length in (("fwm", args.max_completion), ("idm", 10)):
            config = GRPOPhaseConfig(learning_rate=1e-5, num_generations=args.generations,
                                     per_device_train_batch_size=args.generations * prompts_per_step,
                                     max_steps=args.steps, max_completion_length=length)
            with tempfile.TemporaryDirectory() as tmp:
                phases[role] = _phase(pipeline, role, path, frozen, tokenizer, pairs, config, Path(tmp), args.seed)
        flops = 6 * result["parameters"] * sum(p["train_tokens"] for p in phases.values())
        train_s = sum(p["parts"].get("policy_forward", 0) + p["parts"]["rest_of_step"] for p in phases.values())
        result["pipelines"][pipeline] = {"phases": phases,
                                         "iteration_seconds": sum(p["seconds"] for p in phases.values()),
                                         "training_gflops": flops / max(train_s, 1e-9) / 1e9}
        print(pipeline, json.dumps({r: {k: round(v, 1) for k, v in p["parts"].items()} for r, p in phases.items()}))
    result["prompt_tokens"] = {role: statistics.fmean(len(ids) for ids in tokenizer(
        [row["prompt"] for row in phase_examples(role, pairs, tokenizer)], add_special_tokens=False).input_ids)
        for role in ("fwm", "idm")}
    if len(args.pipelines) == 2:
        stock, ours = (result["pipelines"][k]["iteration_seconds"] for k in ("stock TRL", "swirl-wm"))
        result["speedup_vs_stock_trl"] = stock / ours
        result["max_reward_difference"] = max(
            (abs(a - b) for role in ("fwm", "idm") for a, b in zip(
                result["pipelines"]["stock TRL"]["phases"][role]["rewards"],
                result["pipelines"]["swirl-wm"]["phases"][role]["rewards"], strict=False)), default=None)
        print(f"iteration: stock TRL {stock:.1f} s, swirl-wm {ours:.1f} s, speed-up {stock / ours:.2f}x; "
              f"max |reward difference| per step {result['max_reward_difference']}")
    result["fraction_of_peak"] = {k: v["training_gflops"] / result["matmul_peak_gflops"]
                                  for k, v in result["pipelines"].items()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
