"""Tests for swirl_wm.envs.physics_goal: the goal check and the breadth-first expert against hand-computed
values and a search of the whole world's state, every generated task solvable within its horizon, seeded
and disjoint splits, and the episode rules (unknown actions, wins, truncation)."""

from __future__ import annotations

from collections import deque

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swirl_wm.envs.agent import SPLITS, expert_episode
from swirl_wm.envs.physics import Action, PhysicsState, all_actions, parse_state, render_state, step
from swirl_wm.envs.physics_goal import (
    UNKNOWN_ACTION,
    Goal,
    PhysicsGoal,
    PhysicsGoalConfig,
    goal_holds,
    make_tasks,
    solve,
)

BALL = parse_state("width=8 | ball: pos=3 vel=+1 temp=20")


def whole_world_distance(state: PhysicsState, goal: Goal, max_depth: int) -> int | None:
    """The reference: breadth-first search over whole world states and every action of the world."""
    seen, frontier = {state}, deque([(state, 0)])
    if goal_holds(state, goal):
        return 0
    while frontier:
        current, depth = frontier.popleft()
        if depth == max_depth:
            continue
        for action in all_actions(current.names):
            after = step(current, action)
            if goal_holds(after, goal):
                return depth + 1
            if after not in seen:
                seen.add(after)
                frontier.append((after, depth + 1))
    return None


def test_goal_holds_on_the_goal_objects_field() -> None:
    assert goal_holds(BALL, Goal("pos", "ball", 3)) and goal_holds(BALL, Goal("temp", "ball", 20))
    assert not goal_holds(BALL, Goal("pos", "ball", 4)) and not goal_holds(BALL, Goal("temp", "ball", 30))
    assert str(Goal("pos", "brick", 6)) == "get the brick to pos 6"
    assert str(Goal("temp", "marble", 50)) == "bring the marble to temp 50"
    with pytest.raises(ValueError, match="names no object"):
        goal_holds(BALL, Goal("pos", "cup", 3))


def test_the_expert_finds_the_shortest_path_computed_by_hand() -> None:
    # pos 3 vel +1 → pos 6: push right (vel 2, pos 5), push left (vel 1, pos 6); no single action reaches 6
    # (push left: 3, push right: 5, stop: 3, wait: 4).
    assert [str(a) for a in solve(BALL, Goal("pos", "ball", 6), 4)] == ["push ball right", "push ball left"]
    assert [str(a) for a in solve(BALL, Goal("temp", "ball", 50), 4)] == ["heat ball"] * 3
    assert [str(a) for a in solve(BALL, Goal("temp", "ball", 0), 4)] == ["cool ball"] * 2
    # pos 6 vel +1 → pos 7: wait reaches it, and so does push right (pos 8 mirrored to 7 at the wall); the
    # tie goes to the push, first in all_actions' order.
    near_wall = parse_state("width=8 | ball: pos=6 vel=+1 temp=20")
    assert [str(a) for a in solve(near_wall, Goal("pos", "ball", 7), 4)] == ["push ball right"]
    assert solve(BALL, Goal("pos", "ball", 3), 4) == []  # already holds
    assert solve(BALL, Goal("temp", "ball", 100), 4) is None  # 8 heats needed


def test_the_expert_is_as_short_as_a_search_of_the_whole_world() -> None:
    config = PhysicsGoalConfig(n_objects=2, max_solution_steps=3, max_steps_per_episode=3, train_tasks=30)
    for task in make_tasks(config, "train"):
        state, goal = parse_state(task.meta["start"]), Goal(task.meta["goal_kind"], task.meta["goal_object"],
                                                            task.meta["goal_value"])
        assert whole_world_distance(state, goal, 3) == len(solve(state, goal, 3)) == task.meta["optimal_steps"]


CONFIGS = st.builds(
    lambda n, width, kinds, low, high, slack, seed: PhysicsGoalConfig(
        n_objects=n, width=width, goal_kinds=kinds, min_solution_steps=low, max_solution_steps=low + high,
        max_steps_per_episode=low + high + slack, train_tasks=6, dev_tasks=3, test_tasks=3, task_seed=seed),
    st.integers(1, 3), st.integers(4, 10), st.sampled_from([("pos",), ("temp",), ("pos", "temp")]),
    st.integers(1, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 10**6))


@given(CONFIGS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_task_is_solvable_within_its_horizon_and_the_expert_wins(config: PhysicsGoalConfig) -> None:
    env = PhysicsGoal(config)
    for split in SPLITS:
        for task in env.tasks(split):
            optimal = task.meta["optimal_steps"]
            assert config.min_solution_steps <= optimal <= config.max_solution_steps <= env.max_steps
            assert not goal_holds(parse_state(task.meta["start"]), Goal(task.meta["goal_kind"],
                                                                        task.meta["goal_object"],
                                                                        task.meta["goal_value"]))
            episode = expert_episode(env, task)  # raises unless the walkthrough wins
            assert len(episode) == optimal and episode.transitions[-1].meta["won"]
            assert all(t.meta["reward"] == (1.0 if t is episode.transitions[-1] else 0.0)
                       for t in episode.transitions)


def test_tasks_are_seeded_and_the_splits_disjoint() -> None:
    config = PhysicsGoalConfig(train_tasks=200, dev_tasks=30, test_tasks=60)
    tasks = {split: make_tasks(config, split) for split in SPLITS}
    assert [len(tasks[s]) for s in SPLITS] == [200, 30, 60]
    assert tasks["test"] == make_tasks(config.model_copy(update={"train_tasks": 5}), "test")  # independent
    content = {s: {(t.meta["start"], t.goal) for t in tasks[s]} for s in SPLITS}
    assert [len(content[s]) for s in SPLITS] == [200, 30, 60]  # no repeats within a split
    assert not content["train"] & content["dev"] and not content["train"] & content["test"]
    assert not content["dev"] & content["test"]
    assert make_tasks(config.model_copy(update={"task_seed": 1}), "test") != tasks["test"]
    assert {t.meta["task_type"] for t in tasks["train"]} == {"pos", "temp"}


def test_an_episode_follows_the_world_and_ignores_unknown_actions() -> None:
    env = PhysicsGoal(PhysicsGoalConfig(max_solution_steps=2, max_steps_per_episode=3, train_tasks=1))
    task = env.tasks("train")[0]
    start = task.meta["start"]
    assert env.reset(task) == f"Goal: {task.goal}.\n{start}"
    names = parse_state(start).names
    assert env.admissible_actions() == sorted(str(a) for a in all_actions(names))
    unknown = env.step("Push the ball right!")  # not a canonical action text: no tick
    assert unknown.observation == f"{UNKNOWN_ACTION}\n{start}" and not unknown.done and unknown.reward == 0.0
    waited = env.step("wait")
    assert waited.observation == render_state(step(parse_state(start), Action("wait")))
    if not waited.done:  # the third action ends the episode, won or truncated
        last = env.step("wait")
        assert last.done and last.info["steps"] == 3 and last.info["truncated"] == (not last.won)
    env.reset(task)
    for action in env.walkthrough(task):
        result = env.step(action)
    assert result.won and result.done and result.reward == 1.0
    with pytest.raises(ValueError, match="max_steps_per_episode"):
        PhysicsGoalConfig(max_solution_steps=5, max_steps_per_episode=4)
    with pytest.raises(pydantic.ValidationError):
        PhysicsGoalConfig(goal_kinds=("speed",))
