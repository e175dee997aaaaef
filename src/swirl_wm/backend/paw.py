"""GRPO on agent trajectories, with PaW's auxiliary world-model loss (arXiv 2606.02388; method.md §2).

:class:`AgentGRPOTrainer` extends TRL's ``GRPOTrainer`` rather than writing a second RL loop:

- **Rollouts** come from TRL's ``rollout_func`` hook: each prompt row names a task; its G copies (TRL's
  sampler repeats a prompt G times, consecutively) are played as G episodes (:mod:`swirl_wm.agents.rollouts`). A
  trajectory is one completion; ``env_mask`` = the action tokens, so TRL's GRPO loss trains action
  tokens only. The reward of a completion is its episode return; advantages are TRL's group advantages.
- **PaW** (when ``PaWConfig.enabled``) adds, in the *same forward pass* that TRL's loss makes (its per-token
  log-probs are captured), ``mean_g λ_g · mean_{t ∈ S_{α,g}} L_WM(o_{t+1})``: the world-model loss on the
  observation tokens of the steps selected by action entropy (top α per group, from the rollout's own
  sampling pass), weighted by ``λ_g = clip(1 − R̄_g / R_max, 0, 1)`` (:mod:`swirl_wm.objectives.paw`).

The log-probs TRL computes are those of the sampling distribution (logits / temperature); the WM loss
uses the same numbers, so ``p`` is the probability at the policy's temperature. With several processes,
the action entropies and returns of every process's rollouts are gathered first, so that the selection
and λ_g see whole groups even where TRL spread a group's copies over processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import gather_object
from datasets import Dataset
from transformers import TrainerCallback
from trl import GRPOTrainer

from swirl_wm.agents.rollouts import Rollout, play_episodes
from swirl_wm.backend.adapters import keeps_adapters, policy_model
from swirl_wm.backend.args import grpo_args, peft_config
from swirl_wm.backend.checkpoints import save_trained
from swirl_wm.backend.grpo import SharedPrefixGRPOTrainer
from swirl_wm.config import GRPOPhaseConfig, LoraSettings, PaWConfig, RolloutConfig
from swirl_wm.envs.agent import AgentEnv, AgentTask
from swirl_wm.models.loading import load_tokenizer
from swirl_wm.objectives.paw import (
    mixed_group_fraction,
    paw_loss,
    reward_adaptive_weight,
    select_by_entropy,
    wm_token_loss,
)


def episode_return_reward(completions: list[Any], episode_return: list[float], **_: Any) -> list[float]:
    """GRPO reward of a trajectory: its episode return (forwarded by the rollout as a column)."""
    return [float(r) for r in episode_return]


episode_return_reward.__name__ = "episode_return"


def paw_targets(rollouts: Sequence[Rollout], group_size: int, config: PaWConfig, r_max: float,
                scores: Sequence[tuple[Sequence[float], float]] | None = None, offset: int = 0
                ) -> tuple[list[list[int]], list[float], list[int]]:
    """Which observation tokens the WM loss trains, and with which weight.

    Args:
        rollouts: this process's rollouts, in TRL's order (a group's G copies consecutive).
        group_size: G.
        config: the PaW switches (α, reward-adaptive weighting).
        r_max: the environment's largest episode return (λ_g's normaliser).
        scores: ``(action entropies per step, episode return)`` of EVERY process's rollouts in TRL's global
            order (process-major), so that a group split across processes is selected and weighted as one
            group; ``None`` = this process's rollouts are the whole batch.
        offset: global index of ``rollouts[0]`` in ``scores`` (process index × rollouts per process).

    Returns:
        ``(wm_step, wm_lambda, group_id)``: per local rollout, the completion's ``observation_step`` with
        the steps that the entropy selection dropped set to −1; λ_g of its group (1.0 when not
        reward-adaptive); its global group index.

    Raises:
        ValueError: the number of scored rollouts is not a multiple of ``group_size``.
    """
    if scores is None:
        scores = [(r.action_entropy, r.episode_return) for r in rollouts]
    if group_size < 1 or len(scores) % group_size:
        raise ValueError(f"{len(scores)} rollouts do not split into groups of {group_size}")
    steps = [(i, t, e) for i, (entropies, _) in enumerate(scores) for t, e in enumerate(entropies)]
    keep: set[tuple[int, int]] = set()
    if steps:
        entropy = torch.tensor([e for _, _, e in steps], dtype=torch.float64)
        groups = torch.tensor([i // group_size for i, _, _ in steps])
        chosen = select_by_entropy(entropy, groups, config.alpha)
        keep = {(i, t) for (i, t, _), c in zip(steps, chosen.tolist(), strict=True) if c}
    returns = torch.tensor([r for _, r in scores], dtype=torch.float64)
    means = returns.view(-1, group_size).mean(dim=1)
    lambdas = reward_adaptive_weight(means, r_max) if config.reward_adaptive else torch.ones_like(means)
    group_id = [(offset + i) // group_size for i in range(len(rollouts))]
    wm_step = [[t if t >= 0 and (offset + i, t) in keep else -1 for t in r.observation_step]
               for i, r in enumerate(rollouts)]
    return wm_step, [float(lambdas[g]) for g in group_id], group_id


class AgentGRPOTrainer(SharedPrefixGRPOTrainer):
    """TRL ``GRPOTrainer`` whose rollouts are multi-turn episodes, with PaW's WM loss as an option.

    With ``share_prompt_prefix`` the log-probability passes encode each task prompt (system message and
    ``o_0``) once per micro-batch for the G episodes that share it
    (:class:`~swirl_wm.backend.grpo.SharedPrefixGRPOTrainer`); the episodes diverge from their first action on,
    so everything after the prompt is encoded per episode. The PaW term reads the policy pass's log-probs
    either way, so it stays in that one forward pass.

    Args:
        env_factory: makes one environment instance (called once per concurrent episode, then reused).
        tasks: ``{task_id: AgentTask}``; the training dataset's ``prompt`` column holds task ids.
        rollout: episode limits.
        paw: the PaW switches (``enabled=False`` = the GRPO baseline).
        share_prompt_prefix: the shared-prompt log-probability passes; False = TRL's own.
        **kwargs: passed to ``GRPOTrainer`` (``model``, ``args``, ``train_dataset``, ``processing_class``).
    """

    def __init__(self, *, env_factory: Callable[[], AgentEnv], tasks: dict[str, AgentTask], rollout: RolloutConfig,
                 paw: PaWConfig, share_prompt_prefix: bool = True, **kwargs: Any) -> None:
        super().__init__(reward_funcs=[episode_return_reward], rollout_func=self._rollout,
                         share_prompt_prefix=share_prompt_prefix, **kwargs)
        self._env_factory, self._tasks, self._rollout_cfg, self.paw = env_factory, tasks, rollout, paw
        self._envs: list[AgentEnv] = []
        self._pending: dict[str, Any] | None = None
        self._captured: tuple[torch.Tensor, ...] | None = None
        self._capture = False
        self.rollout_stats: list[dict[str, float]] = []

    def close_environments(self) -> None:
        """Close the environment instances the rollouts used (a JVM or planner each)."""
        for env in self._envs:
            env.close()
        self._envs = []

    def _environments(self, n: int) -> list[AgentEnv]:
        while len(self._envs) < n:
            self._envs.append(self._env_factory())
        return self._envs[:n]

    def _rollout(self, prompts: list[str], trainer: GRPOTrainer) -> dict[str, Any]:
        unknown = sorted({p for p in prompts if p not in self._tasks})
        if unknown:
            raise KeyError(f"prompt rows must be task ids; unknown: {unknown[:3]}")
        cfg = self._rollout_cfg
        rollouts = play_episodes(
            self.model, self.processing_class, self._environments(len(prompts)), [self._tasks[p] for p in prompts],
            max_steps=cfg.max_steps, max_action_tokens=cfg.max_action_tokens,
            max_observation_chars=cfg.max_observation_chars, max_context_tokens=cfg.max_context_tokens,
            temperature=self.temperature, top_p=self.top_p, kv_cache=cfg.kv_cache)
        scores = [(r.action_entropy, r.episode_return) for r in rollouts]
        if self.accelerator.num_processes > 1:  # select, weight and count whole groups, wherever their copies ran
            scores = gather_object(scores)
        group = self.num_generations if len(scores) % self.num_generations == 0 else 1
        if self.paw.enabled:
            wm_step, wm_lambda, group_id = paw_targets(rollouts, group, self.paw, self._envs[0].max_return,
                                                       scores, self.accelerator.process_index * len(rollouts))
            self._pending = {"wm_step": wm_step, "wm_lambda": wm_lambda, "group_id": group_id}
        n = len(rollouts)
        self.rollout_stats.append({"success_rate": sum(r.won for r in rollouts) / n,
                                   "mean_return": sum(r.episode_return for r in rollouts) / n,
                                   "mean_steps": sum(len(r.actions) for r in rollouts) / n,
                                   "mixed_groups": mixed_group_fraction([r for _, r in scores], group)})
        return {"prompt_ids": [r.prompt_ids for r in rollouts], "completion_ids": [r.completion_ids for r in rollouts],
                "logprobs": [r.logprobs for r in rollouts], "env_mask": [r.action_mask for r in rollouts],
                "episode_return": [r.episode_return for r in rollouts]}

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            width, device = output["completion_ids"].shape[1], output["completion_ids"].device
            output["wm_step"] = torch.tensor([s + [-1] * (width - len(s)) for s in pending["wm_step"]], device=device)
            output["wm_lambda"] = torch.tensor(pending["wm_lambda"], device=device)
            output["group_id"] = torch.tensor(pending["group_id"], device=device)
        return output

    def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any):
        out = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        if self._capture:
            self._captured = out
        return out

    def _compute_loss(self, model, inputs):
        self._capture = self.paw.enabled and "wm_step" in inputs
        try:
            loss = super()._compute_loss(model, inputs)
        finally:
            capture, self._capture = self._capture, False
        if not capture:
            return loss
        per_token_logps = self._captured[0]
        self._captured = None
        wm_step, group_id = inputs["wm_step"], inputs["group_id"]
        pairs = (wm_step >= 0).nonzero().tolist()
        keys = sorted({(row, int(wm_step[row, col])) for row, col in pairs})
        if not keys:
            return loss
        rows = torch.tensor([row for row, _ in keys], device=wm_step.device)
        steps = torch.tensor([step for _, step in keys], device=wm_step.device)
        masks = wm_step[rows] == steps.unsqueeze(1)  # (S, T): the tokens of each selected step's observation
        per_step = wm_token_loss(per_token_logps[rows], masks, self.paw.loss, self.paw.rho)
        groups = group_id[rows]
        local = torch.unique(groups, return_inverse=True)[1]
        lambdas = torch.zeros(int(local.max()) + 1, device=per_step.device, dtype=per_step.dtype)
        lambdas[local] = inputs["wm_lambda"][rows].to(per_step.dtype)
        total = paw_loss(torch.zeros((), device=per_step.device, dtype=per_step.dtype), per_step,
                         torch.ones_like(local, dtype=torch.bool), local, lambdas)
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["paw/wm_loss"].append(per_step.mean().item())
        self._metrics[mode]["paw/lambda"].append(lambdas.mean().item())
        normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        return loss + total / normalizer


@dataclass(frozen=True)
class PaWRun:
    """What :func:`train_paw` returns: the saved policy, TRL's log history, the RL wall time (s) and the
    rollouts' per-step figures (success rate, mean return, mean steps and the fraction of mixed groups,
    :func:`mixed_group_fraction`, per generation batch)."""

    output_dir: Path
    log_history: list[dict[str, Any]]
    train_seconds: float
    rollout_stats: list[dict[str, float]]


def train_paw(policy_path: str, env_factory: Callable[[], AgentEnv], tasks: dict[str, AgentTask],
              rollout: RolloutConfig, paw: PaWConfig, config: GRPOPhaseConfig, output_dir: Path, log_dir: Path,
              seed: int, lora: LoraSettings | None = None, callbacks: Sequence[TrainerCallback] = ()) -> PaWRun:
    """GRPO on agent trajectories (with PaW's world-model loss when ``paw.enabled``) from the policy at
    ``policy_path``, one prompt row per task; the policy is saved atomically to ``output_dir`` (merged when
    ``lora``, its adapter alone with ``lora.shared_base``) and the environment instances are closed however
    training ends.

    Args:
        tasks: ``{task_id: AgentTask}`` of the training split.
        config: the RL settings (G, lr, β, sampling; TRL's names).
        log_dir: TRL's ``output_dir`` (logs only).
        callbacks: transformers callbacks of the trainer (the recipe's learning curve on held-out tasks).

    Source: PaW (arXiv 2606.02388) §3; method.md §2.
    """
    tokenizer = load_tokenizer(policy_path)
    model, peft = policy_model(policy_path, peft_config(lora))
    trainer = AgentGRPOTrainer(env_factory=env_factory, tasks=tasks, rollout=rollout, paw=paw,
                               share_prompt_prefix=config.share_prompt_prefix, model=model,
                               args=grpo_args(config, log_dir, seed, isinstance(model, str)),
                               train_dataset=Dataset.from_list([{"prompt": task_id} for task_id in tasks]),
                               processing_class=tokenizer, peft_config=peft, callbacks=list(callbacks))
    start = time.monotonic()
    try:
        trainer.train()
    finally:
        trainer.close_environments()
    seconds = time.monotonic() - start
    save_trained(trainer, tokenizer, output_dir, merge=not keeps_adapters(lora))
    return PaWRun(output_dir, trainer.state.log_history, seconds, trainer.rollout_stats)
