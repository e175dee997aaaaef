"""Evaluate an agent policy: task success on held-out tasks, and the policy's own world-model quality.

- **Task success** (PaW's headline): each held-out task is played once, greedily, in the rollout layout;
  success rate (``won``), mean return, mean episode length (actions), and success per task type where the
  tasks carry ``meta["task_type"]`` (ALFWorld).
- **Trivial baseline**: the uniform choice among the admissible actions, on the same tasks and step limit.
- **World model of the policy** (PaW trains it as an auxiliary task): on held-out expert episodes, the
  model is given the history up to ``a_t`` and generates ``o_{t+1}`` greedily; exact match and ROUGE-L
  against the true observation (``swirl_wm.metrics``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from swirl_wm.agents.chat import ChatPieces, history_ids
from swirl_wm.agents.rollouts import play_episodes
from swirl_wm.config import RolloutConfig
from swirl_wm.envs.agent import AgentEnv, AgentTask
from swirl_wm.metrics import exact_match, rouge_l
from swirl_wm.models.generation import generate
from swirl_wm.records import Episode


def evaluate_agent(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, env_factory: Callable[[], AgentEnv],
                   tasks: Sequence[AgentTask], rollout: RolloutConfig, batch_size: int) -> dict[str, float]:
    """Play every task once, greedily; ``batch_size`` episodes run in lockstep.

    Returns:
        ``agent/success_rate`` and ``agent/success_rate/<task type>`` (fractions in [0, 1]),
        ``agent/mean_return`` (the environment's reward unit), ``agent/mean_steps`` (actions per episode).

    Raises:
        ValueError: no tasks.
    """
    if not tasks:
        raise ValueError("no tasks to evaluate")
    envs = [env_factory() for _ in range(min(batch_size, len(tasks)))]
    rollouts = []
    try:
        for start in range(0, len(tasks), len(envs)):
            chunk = list(tasks[start:start + len(envs)])
            rollouts += play_episodes(model, tokenizer, envs[:len(chunk)], chunk, max_steps=rollout.max_steps,
                                      max_action_tokens=rollout.max_action_tokens,
                                      max_observation_chars=rollout.max_observation_chars,
                                      max_context_tokens=rollout.max_context_tokens, temperature=0.0, top_p=1.0,
                                      kv_cache=rollout.kv_cache)
    finally:
        for env in envs:
            env.close()
    return _episode_metrics(tasks, [(r.won, r.episode_return, len(r.actions)) for r in rollouts])


def _episode_metrics(tasks: Sequence[AgentTask], outcomes: Sequence[tuple[bool, float, int]]) -> dict[str, float]:
    """:func:`evaluate_agent`'s metrics of played episodes, one ``(won, return, actions)`` per task."""
    n = len(outcomes)
    metrics = {"agent/success_rate": sum(won for won, _, _ in outcomes) / n,
               "agent/mean_return": sum(r for _, r, _ in outcomes) / n,
               "agent/mean_steps": sum(steps for _, _, steps in outcomes) / n}
    by_type: dict[str, list[bool]] = defaultdict(list)
    for task, (won, _, _) in zip(tasks, outcomes, strict=True):
        if "task_type" in task.meta:
            by_type[str(task.meta["task_type"])].append(won)
    metrics |= {f"agent/success_rate/{k}": sum(v) / len(v) for k, v in sorted(by_type.items())}
    return metrics


def evaluate_random_policy(env_factory: Callable[[], AgentEnv], tasks: Sequence[AgentTask], max_steps: int,
                           seed: int) -> dict[str, float]:
    """The trivial baseline of an agent: play every task once choosing uniformly among the admissible
    actions, for at most ``max_steps`` actions (the policy's own limit, ``rollout.max_steps``).

    Returns:
        :func:`evaluate_agent`'s metrics (success rate, per task type, mean return, mean steps).

    Raises:
        ValueError: no tasks.

    Source: design.md "Honest numbers" (trivial baselines beside every model); the uniform admissible
    policy is the one the environment modules measure (environments.md).
    """
    if not tasks:
        raise ValueError("no tasks to evaluate")
    rng = random.Random(seed)
    outcomes = []
    with env_factory() as env:
        for task in tasks:
            env.reset(task)
            won, total, steps = False, 0.0, 0
            for steps in range(1, max_steps + 1):  # noqa: B007 — the count is the episode's length
                result = env.step(rng.choice(env.admissible_actions()))
                won, total = won or result.won, total + result.reward
                if result.done:
                    break
            outcomes.append((won, total, steps))
    return _episode_metrics(tasks, outcomes)


def evaluate_policy_wm(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, episodes: Sequence[Episode],
                       max_new_tokens: int, batch_size: int, max_examples: int | None = None
                       ) -> tuple[dict[str, float], list[str]]:
    """Next-observation prediction of the policy on expert transitions (history up to ``a_t`` → ``o_{t+1}``).

    Returns:
        ``({"wm/exact_match": fraction, "wm/rouge_l": 0..100, "wm/examples": count}, predictions)``; the
        first ``max_examples`` transitions in episode order are used.
    """
    pieces = ChatPieces.of(tokenizer)
    prompts, references = [], []
    for episode in episodes:
        observations, actions = [episode.transitions[0].x], []
        for t in episode.transitions:
            actions.append(t.z or "")
            prompts.append(tokenizer.decode(history_ids(tokenizer, observations, actions, pieces)))
            references.append(t.y)
            observations.append(t.y)
    prompts, references = prompts[:max_examples], references[:max_examples]
    predictions = generate(model, tokenizer, prompts, max_new_tokens, batch_size=batch_size,
                           desc="next observations")
    return {"wm/exact_match": exact_match(predictions, references), "wm/rouge_l": rouge_l(predictions, references),
            "wm/examples": float(len(references))}, predictions
