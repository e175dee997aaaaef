"""Tests for swirl_wm.evaluation.agent_eval's trivial baseline: the uniform admissible policy."""

from __future__ import annotations

import pytest

from swirl_wm.envs.agent import AgentEnv, AgentTask, Split, StepResult
from swirl_wm.envs.physics_goal import PhysicsGoal, PhysicsGoalConfig
from swirl_wm.evaluation.agent_eval import evaluate_random_policy


class OneButton(AgentEnv):
    """A fake game whose only admissible action is the task's goal text: ``win`` wins, ``wait`` never does."""

    name = "one-button"

    def tasks(self, split: Split) -> list[AgentTask]:
        return [AgentTask(self.name, f"{split}-{goal}", split, goal, 0, {"task_type": goal})
                for goal in ("win", "wait")]

    def _reset(self, task: AgentTask) -> str:
        self._goal = task.goal
        return task.goal

    def _step(self, action: str) -> StepResult:
        won = action == "win"
        return StepResult("ok", float(won), won, won, {})

    def admissible_actions(self) -> list[str]:
        return [self._goal]

    def walkthrough(self, task: AgentTask) -> list[str]:
        return ["win"]

    def close(self) -> None:
        self._running = False


def test_the_random_policy_plays_admissible_actions_up_to_the_step_limit() -> None:
    tasks = OneButton(10).tasks("test")
    metrics = evaluate_random_policy(lambda: OneButton(10), tasks, max_steps=3, seed=0)
    # "win" is won in 1 step; "wait" runs to the policy's limit of 3 (the game's own limit is 10)
    assert metrics == {"agent/success_rate": 0.5, "agent/mean_return": 0.5, "agent/mean_steps": 2.0,
                       "agent/success_rate/wait": 0.0, "agent/success_rate/win": 1.0}
    with pytest.raises(ValueError, match="no tasks"):
        evaluate_random_policy(lambda: OneButton(10), [], max_steps=3, seed=0)


def test_the_random_policy_is_seeded() -> None:
    config = PhysicsGoalConfig(test_tasks=40)
    tasks = PhysicsGoal(config).tasks("test")
    runs = [evaluate_random_policy(lambda: PhysicsGoal(config), tasks, 6, seed) for seed in (0, 0, 1)]
    assert runs[0] == runs[1] != runs[2]
    assert 0 < runs[0]["agent/success_rate"] < 1
