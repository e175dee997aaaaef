"""What the speed measurements (``swirl speed``, :mod:`swirl_wm.recipes.speed`) need of TRL's trainers: the
stock-TRL reference pipeline of one GRPO phase, the timers of a trainer's parts, one SFT step through TRL,
and PaW's loss on a fixed batch. Kept in the backend, where every use of TRL lives (docs/design.md).

Source: studies/speed/README.md (the questions these measure).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from trl import GRPOTrainer, SFTTrainer
from trl.trainer.utils import split_tensor_dict

from swirl_wm.backend import grpo
from swirl_wm.backend.args import grpo_args, sft_args
from swirl_wm.backend.grpo import phase_examples
from swirl_wm.backend.paw import AgentGRPOTrainer
from swirl_wm.config import GRPOPhaseConfig, PaWConfig, RolloutConfig, SFTConfig
from swirl_wm.models.loading import load_model, load_tokenizer
from swirl_wm.models.prompts import fwm_prompt, idm_prompt
from swirl_wm.records import Role, Transition

PARTS = {"generation": "_generate", "reward": "_calculate_rewards", "logps": "_get_per_token_logps_and_entropies"}


class PlainReward:
    """A reward callable as usually written for TRL: the frozen model scores each completion alone, through a
    full ``(T, V)`` log-softmax; the reward is the mean log-probability (nats/token) of the target span with
    its EOS, clamped below at −10.

    Source: method.md §1.6 (the paper's released code scores this way); the stock-TRL side of the speed
    comparison.
    """

    def __init__(self, trained_role: Role | str, model, tokenizer) -> None:
        self.trained_role, self.model, self.tokenizer = Role.of(trained_role), model, tokenizer
        self.__name__ = "plain_reward"

    @torch.no_grad()
    def __call__(self, prompts, completions, x, **columns) -> list[float]:
        writes_state = self.trained_role.writes_state
        rewards = []
        for xi, completion, target in zip(x, completions, columns["z" if writes_state else "y"], strict=True):
            prompt = (idm_prompt(self.tokenizer, xi, completion) if writes_state
                      else fwm_prompt(self.tokenizer, xi, completion))
            head = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
            tail = self.tokenizer(target, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
            ids = torch.tensor([head + tail], device=self.model.device)
            logp = torch.log_softmax(self.model(ids).logits[0, :-1].float(), dim=-1)
            picked = logp[len(head) - 1:].gather(-1, ids[0, len(head):].unsqueeze(-1)).squeeze(-1)
            rewards.append(max(float(picked.mean()), -10.0))
        return rewards


def timed(seconds: dict[str, float], part: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, adding its wall time (s) to ``seconds[part]``."""
    start = time.perf_counter()
    try:
        return function(*args, **kwargs)
    finally:
        seconds[part] += time.perf_counter() - start


@contextlib.contextmanager
def timed_parts(seconds: dict[str, float]) -> Iterator[None]:
    """Within the block, every outermost call of a :data:`PARTS` method of ``GRPOTrainer`` or swirl-wm's
    subclass adds its wall time (s) to ``seconds``: ``generation``, ``reward``, and the log-probability
    passes split by whether they build a graph (``policy_forward``) or not (``reference``). The subclass's
    call of TRL's method for a micro-batch without a shared prompt is not counted twice; the save is timed
    as ``save``. ``seconds`` must be a ``defaultdict(float)``."""
    classes = (GRPOTrainer, grpo.SharedPrefixGRPOTrainer)
    originals = {(cls, name): cls.__dict__[method] for cls in classes for name, method in PARTS.items()
                 if method in cls.__dict__}
    depth = [0]

    def wrap(name, method):
        def wrapped(self, *args, **kwargs):
            if depth[0]:
                return method(self, *args, **kwargs)
            part = name if name != "logps" else ("policy_forward" if torch.is_grad_enabled() else "reference")
            depth[0] += 1
            try:
                return timed(seconds, part, method, self, *args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapped

    save = grpo.save_trained
    for (cls, name), method in originals.items():
        setattr(cls, PARTS[name], wrap(name, method))
    grpo.save_trained = lambda *a, **k: timed(seconds, "save", save, *a, **k)
    try:
        yield
    finally:
        grpo.save_trained = save
        for (cls, name), method in originals.items():
            setattr(cls, PARTS[name], method)


def train_stock_grpo(policy_path: str, reward: PlainReward, transitions: Sequence[Transition],
                     config: GRPOPhaseConfig, output_dir: Path, log_dir: Path, seed: int,
                     seconds: dict[str, float]) -> list[dict]:
    """One GRPO phase through stock ``trl.GRPOTrainer`` with ``reward`` (the reference of the speed
    comparison: the same prompts, seed and settings as :func:`~swirl_wm.backend.grpo.train_grpo`, without
    the shared prompt prefix or the batched scorer); the save is timed into ``seconds["save"]``.

    Returns:
        TRL's log history (per step: ``reward``, ``num_tokens``, ``completions/mean_length``...).
    """
    dataset = Dataset.from_list(phase_examples(reward.trained_role, transitions, reward.tokenizer))
    trainer = GRPOTrainer(model=policy_path, reward_funcs=[reward], args=grpo_args(config, log_dir, seed),
                          train_dataset=dataset, processing_class=reward.tokenizer)
    trainer.train()
    timed(seconds, "save", trainer.save_model, str(output_dir))
    return trainer.state.log_history


def sft_step_seconds(path: str, examples: Sequence[Mapping[str, str]], batch: int, steps: int, seed: int,
                     log_dir: Path) -> dict[str, float]:
    """Seconds per SFT optimizer step on ``examples`` (``prompt`` / ``completion`` rows): a plain
    transformers forward and backward (loss on the completion only, as TRL's ``completion_only_loss``; the
    first step warms up and is not counted), and TRL's ``SFTTrainer`` over ``steps + 1`` steps, its set-up
    included.

    Returns:
        ``{"plain_s_per_step", "trl_s_per_step_incl_setup"}``.

    Raises:
        ValueError: fewer than ``batch × (steps + 1)`` examples.
    """
    if len(examples) < batch * (steps + 1):
        raise ValueError(f"sft_step_seconds: {len(examples)} examples, need {batch * (steps + 1)}")
    tokenizer = load_tokenizer(path)
    model = load_model(path).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    plain = []
    for step in range(steps + 1):
        rows = examples[step * batch:(step + 1) * batch]
        enc = tokenizer([e["prompt"] + e["completion"] for e in rows], return_tensors="pt", padding=True,
                        add_special_tokens=False)
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        for row, e in enumerate(rows):
            labels[row, : len(tokenizer(e["prompt"], add_special_tokens=False)["input_ids"])] = -100
        start = time.perf_counter()
        model(**enc, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:
            plain.append(time.perf_counter() - start)
    config = SFTConfig(max_steps=steps + 1, per_device_train_batch_size=batch, learning_rate=1e-5,
                       checkpoint_steps=None)  # timed without checkpoint writes
    trainer = SFTTrainer(model=load_model(path), args=sft_args(config, log_dir, seed),
                         train_dataset=Dataset.from_list(list(examples)), processing_class=tokenizer)
    start = time.perf_counter()
    trainer.train()
    return {"plain_s_per_step": statistics.fmean(plain),
            "trl_s_per_step_incl_setup": (time.perf_counter() - start) / (steps + 1)}


def paw_loss_seconds(make_env: Callable[[], Any], tasks: Mapping[str, Any], rollout: RolloutConfig, rl: GRPOPhaseConfig,
                     paw: PaWConfig, model: str, seed: int, repeats: int, log_dir: Path) -> dict[str, Any]:
    """PaW's cost over plain GRPO on one batch: plays ``len(tasks) × G`` episodes once with PaW on, then times
    TRL's loss forward + backward on that same batch, in micro-batches of ``rl.per_device_train_batch_size``
    rows as training runs them, with the PaW term off (``grpo``) and on (``paw``), alternating, ``repeats``
    times after one warm-up round. The rollouts are the same for both, so the difference is the PaW term.

    Returns:
        ``rollout_s``, ``loss_backward_s`` (median per mode), ``loss_backward_s_all``, ``peak_cuda_mb`` (per
        mode; ``None`` on CPU), ``micro_batches``, ``tokens_in_batch``, ``overhead_loss_pct``,
        ``overhead_step_pct`` (of a whole RL step, rollouts included).
    """
    g = rl.num_generations
    batch_rl = rl.model_copy(update={"per_device_train_batch_size": g * len(tasks), "gradient_accumulation_steps": 1})
    trainer = AgentGRPOTrainer(env_factory=make_env, tasks=dict(tasks), rollout=rollout,
                               paw=paw.model_copy(update={"enabled": True}), model=model,
                               args=grpo_args(batch_rl, log_dir, seed),
                               train_dataset=Dataset.from_list([{"prompt": t} for t in tasks]),
                               processing_class=load_tokenizer(model))
    torch.manual_seed(seed)
    start = time.perf_counter()
    batch = trainer._generate_and_score_completions([{"prompt": t} for t in tasks for _ in range(g)])
    rollout_s = time.perf_counter() - start
    trainer.close_environments()
    trainer.model.train()
    micro_batches = split_tensor_dict(batch, max(1, len(batch["completion_ids"]) // rl.per_device_train_batch_size))
    trainer.current_gradient_accumulation_steps = len(micro_batches)  # set by Trainer's loop, bypassed here
    modes = {"grpo": paw.model_copy(update={"enabled": False}), "paw": trainer.paw}
    seconds: dict[str, list[float]] = defaultdict(list)
    peak_mb: dict[str, float | None] = dict.fromkeys(modes)
    cuda = torch.cuda.is_available()
    for repeat in range(repeats + 1):
        for mode, setting in modes.items():
            trainer.paw = setting
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            for micro in micro_batches:
                trainer._compute_loss(trainer.model, micro).backward()
            if cuda:
                torch.cuda.synchronize()
                peak_mb[mode] = torch.cuda.max_memory_allocated() / 2**20
            trainer.model.zero_grad(set_to_none=True)
            if repeat:  # the first round warms up
                seconds[mode].append(time.perf_counter() - start)
    loss_s = {m: statistics.median(v) for m, v in seconds.items()}
    return {"num_generations": g, "micro_batches": len(micro_batches),
            "tokens_in_batch": int(batch["completion_mask"].sum()) + int(batch["prompt_mask"].sum()),
            "rollout_s": rollout_s, "loss_backward_s": loss_s, "loss_backward_s_all": dict(seconds),
            "peak_cuda_mb": peak_mb, "overhead_loss_pct": 100 * (loss_s["paw"] / loss_s["grpo"] - 1),
            "overhead_step_pct": 100 * (loss_s["paw"] - loss_s["grpo"]) / (rollout_s + loss_s["grpo"])}
