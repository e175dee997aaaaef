"""Goal reaching in the embedded physics world: a short-horizon agent task for ``swirl paw``, on
:mod:`swirl_wm.envs.physics`'s simulator.

Task. A random start state of the physics world (the generator's distribution: objects sorted by name,
positions uniform on the track, vel in -1..1, temp in 10..90 °C) and one goal on one of its objects, stated
in text: ``get the brick to pos 6`` (its position after an action's tick equals the target cell) or ``bring
the marble to temp 50`` (its temperature equals the target, °C). The goal's object and value are uniform
(pos in 0..width-1, temp a multiple of 10 in 0..100) and the kind uniform over ``goal_kinds``.

Guarantee. A task is kept only when the goal does not hold at the start and the shortest action sequence
that makes it hold has between ``min_solution_steps`` and ``max_solution_steps`` actions, at most
``max_steps_per_episode``: every task is solvable within its horizon. The walkthrough is that shortest
sequence, found by breadth-first search (:func:`solve`).

Search. An object moves and heats only by the actions that name it (objects never collide), so the goal's
object evolves alone: an action on another object is ``wait`` for it. :func:`solve` therefore searches the
goal object's own states (pos, vel, temp) over its actions and ``wait``, ≤ 11·5·11·width states, instead of
the whole world's; the length it finds is the whole world's shortest (tested against a search of the whole
state). Ties go to the first action in :func:`~swirl_wm.envs.physics.all_actions`' order (pushes, stop, heat,
cool, wait), so walkthroughs are deterministic.

Episodes. ``reset`` returns ``Goal: <goal>.`` and the state text on the next line; ``step`` takes an action
in its canonical form (``push brick right``, ``heat marble``, ``wait``: exactly the texts that
``admissible_actions`` lists), executes it and one tick, and returns the new state text. The episode is won,
with reward 1.0, on the action after which the goal holds; otherwise it ends after ``max_steps_per_episode``
actions. Any other text is answered ``Unknown action; nothing happens.`` with the unchanged state on the
next line: no tick, zero reward, one step counted.

Splits. Task ``i`` of a split is drawn from its own random stream (``{task_seed}-{split}-{i}``), and a drawn
task belongs to the split that a hash of its start state and goal names (70 % train, 10 % dev, 20 % test;
other draws are skipped, as are repeats), so the splits share no task, and a split's tasks do not depend on
how many tasks another split has.

Source: this project's design (not in the paper): a goal-reaching task on the embedded simulator, so that
the agent path has a CPU-sized environment with short, exactly optimal walkthroughs (PaW, arXiv:2606.02388,
§2 trains agents on such sparse task rewards).
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swirl_wm.envs.agent import AgentEnv, AgentTask, Split, StepResult
from swirl_wm.envs.physics import (
    MAX_OBJECTS,
    MAX_TEMP,
    MAX_WIDTH,
    MIN_WIDTH,
    OBJECT_NAMES,
    TEMP_STEP,
    Action,
    PhysicsObject,
    PhysicsState,
    all_actions,
    parse_state,
    render_state,
    step,
)

ENV_NAME = "physics_goal"
GoalKind = Literal["pos", "temp"]
UNKNOWN_ACTION = "Unknown action; nothing happens."
# Which split a drawn task belongs to: its hash's bucket in 0..9 (module docstring).
_SPLIT_BUCKETS: dict[Split, range] = {"test": range(0, 2), "dev": range(2, 3), "train": range(3, 10)}
# Draws per task before giving up. A split holds a tenth or less of the draws and a one-step task is about
# one draw in four, so a few hundred misses in a row happen by chance; 5,000 do not (p < 1e-50), and a
# draw costs microseconds.
_MAX_DRAWS = 5_000


class PhysicsGoalConfig(BaseModel):
    """The goal-reaching tasks: world size, goal kinds, the solution lengths kept, and the tasks per split.

    Source: this project's design (module docstring); the defaults keep walkthroughs at 1-4 actions in a
    6-action horizon, the short-horizon regime in which a few-million-parameter policy can win some rollouts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_objects: int = Field(default=2, ge=1, le=MAX_OBJECTS, description="Objects on the track.")
    width: int = Field(default=8, ge=MIN_WIDTH, le=MAX_WIDTH, description="Cells on the track (positions 0..width-1).")
    goal_kinds: tuple[GoalKind, ...] = Field(
        default=("pos", "temp"), min_length=1,
        description="Goal kinds drawn uniformly: 'pos' (an object in a cell) and 'temp' (an object at a "
        "temperature, °C).")
    min_solution_steps: int = Field(default=1, ge=1, description="Shortest solution kept, actions.")
    max_solution_steps: int = Field(default=4, ge=1, le=8, description="Longest shortest solution kept, actions.")
    max_steps_per_episode: int = Field(
        default=6, ge=1, le=20,
        description="Horizon: actions per episode; at least max_solution_steps, the slack is room for mistakes.")
    train_tasks: int = Field(default=500, ge=1, le=100_000, description="Train tasks.")
    dev_tasks: int = Field(default=50, ge=1, le=100_000, description="Dev (validation) tasks.")
    test_tasks: int = Field(default=100, ge=1, le=100_000, description="Test tasks.")
    task_seed: int = Field(default=0, description="Seeds the task draws; equal seeds and config give equal tasks.")

    def tasks_in(self, split: Split) -> int:
        """How many tasks ``split`` has."""
        return {"train": self.train_tasks, "dev": self.dev_tasks, "test": self.test_tasks}[split]

    @model_validator(mode="after")
    def _solvable_in_horizon(self) -> PhysicsGoalConfig:
        if not self.min_solution_steps <= self.max_solution_steps <= self.max_steps_per_episode:
            raise ValueError(
                f"needs min_solution_steps ({self.min_solution_steps}) <= max_solution_steps "
                f"({self.max_solution_steps}) <= max_steps_per_episode ({self.max_steps_per_episode}), so that "
                "every task is solvable within its horizon")
        return self


@dataclass(frozen=True)
class Goal:
    """A goal on one object: ``kind`` ``"pos"`` (``value`` a cell) or ``"temp"`` (``value`` in °C)."""

    kind: GoalKind
    obj: str
    value: int

    def __str__(self) -> str:
        if self.kind == "pos":
            return f"get the {self.obj} to pos {self.value}"
        return f"bring the {self.obj} to temp {self.value}"


def goal_holds(state: PhysicsState, goal: Goal) -> bool:
    """Whether ``goal`` holds in ``state``: the goal object's ``pos`` (cell) or ``temp`` (°C) equals its value.

    Raises:
        ValueError: the goal's object is not in the state.

    Source: this project's design (module docstring).
    """
    for obj in state.objects:
        if obj.name == goal.obj:
            return (obj.pos if goal.kind == "pos" else obj.temp) == goal.value
    raise ValueError(f"goal {str(goal)!r} names no object of the state (objects: {state.names})")


def solve(state: PhysicsState, goal: Goal, max_depth: int) -> list[Action] | None:
    """A shortest action sequence after which ``goal`` holds, by breadth-first search (module docstring).

    Args:
        state: the start state.
        goal: the goal; its object must be in ``state``.
        max_depth: the longest sequence searched, actions.

    Returns:
        The actions (``[]`` when the goal already holds), or ``None`` when no sequence of at most
        ``max_depth`` actions reaches it. Ties go to the earlier action of ``all_actions``' order.

    Raises:
        ValueError: the goal's object is not in the state.

    Source: this project's design (module docstring).
    """
    if goal_holds(state, goal):
        return []
    start = next(o for o in state.objects if o.name == goal.obj)
    actions = all_actions([goal.obj])  # the goal object's own actions, then wait
    parents: dict[PhysicsObject, tuple[PhysicsObject, Action] | None] = {start: None}
    frontier = deque([(start, 0)])
    while frontier:
        obj, depth = frontier.popleft()
        if depth == max_depth:
            continue
        for action in actions:
            after = step(PhysicsState(state.width, (obj,)), action).objects[0]
            if after in parents:
                continue
            parents[after] = (obj, action)
            if goal_holds(PhysicsState(state.width, (after,)), goal):
                return _path(parents, after)
            frontier.append((after, depth + 1))
    return None


def _path(parents: dict[PhysicsObject, tuple[PhysicsObject, Action] | None], end: PhysicsObject) -> list[Action]:
    path = []
    while (link := parents[end]) is not None:
        end, action = link
        path.append(action)
    return path[::-1]


def _bucket(start: str, goal: Goal) -> int:
    return hashlib.sha256(f"{start}\n{goal}".encode()).digest()[0] % 10


def _draw(config: PhysicsGoalConfig, rng: random.Random) -> tuple[PhysicsState, Goal]:
    names = sorted(rng.sample(OBJECT_NAMES, config.n_objects))
    state = PhysicsState(config.width, tuple(
        PhysicsObject(n, rng.randrange(config.width), rng.randint(-1, 1), TEMP_STEP * rng.randint(1, 9))
        for n in names))
    kind = rng.choice(config.goal_kinds)
    value = rng.randrange(config.width) if kind == "pos" else TEMP_STEP * rng.randint(0, MAX_TEMP // TEMP_STEP)
    return state, Goal(kind, rng.choice(names), value)


def make_tasks(config: PhysicsGoalConfig, split: Split) -> list[AgentTask]:
    """The tasks of ``split`` (module docstring): each kept one solvable in ``min_solution_steps`` to
    ``max_solution_steps`` actions, of this split's hash bucket, and new to the split.

    Returns:
        ``config.tasks_in(split)`` tasks; ``meta`` holds ``start`` (the state text), ``goal_kind``,
        ``goal_object``, ``goal_value``, ``task_type`` (the goal kind: per-type success in evaluation) and
        ``optimal_steps``; ``seed`` is the index of the draw that gave the task.

    Raises:
        RuntimeError: ``_MAX_DRAWS`` draws in a row gave no task (the config asks for tasks too rare to find).
    """
    tasks: list[AgentTask] = []
    seen: set[str] = set()
    index, misses = 0, 0
    while len(tasks) < config.tasks_in(split):
        rng = random.Random(f"{config.task_seed}-{split}-{index}")  # str seeds hash with SHA-512: stable
        state, goal = _draw(config, rng)
        start = render_state(state)
        solution = solve(state, goal, config.max_solution_steps)
        key = f"{start}\n{goal}"
        if (_bucket(start, goal) in _SPLIT_BUCKETS[split] and key not in seen and solution is not None
                and len(solution) >= config.min_solution_steps):
            seen.add(key)
            meta = {"start": start, "goal_kind": goal.kind, "goal_object": goal.obj, "goal_value": goal.value,
                    "task_type": goal.kind, "optimal_steps": len(solution)}
            tasks.append(AgentTask(ENV_NAME, f"{ENV_NAME}-{config.task_seed}-{split}-{index}", split,
                                   str(goal), index, meta))
            misses = 0
        else:
            misses += 1
            if misses >= _MAX_DRAWS:
                raise RuntimeError(f"{_MAX_DRAWS} draws in a row gave no {split} task for {config!r}: widen "
                                   "min_solution_steps..max_solution_steps or the goal kinds")
        index += 1
    return tasks


def goal_of(task: AgentTask) -> Goal:
    """The goal a task's ``meta`` states."""
    return Goal(task.meta["goal_kind"], task.meta["goal_object"], int(task.meta["goal_value"]))


class PhysicsGoal(AgentEnv):
    """Goal reaching in the physics world as an :class:`~swirl_wm.envs.agent.AgentEnv` (module docstring);
    pure Python, no resources to free."""

    name = ENV_NAME

    def __init__(self, config: PhysicsGoalConfig) -> None:
        super().__init__(config.max_steps_per_episode)
        self.config = config
        self._state: PhysicsState | None = None
        self._goal: Goal | None = None

    def tasks(self, split: Split) -> list[AgentTask]:
        return make_tasks(self.config, split)

    def _reset(self, task: AgentTask) -> str:
        self._state, self._goal = parse_state(task.meta["start"]), goal_of(task)
        return f"Goal: {task.goal}.\n{task.meta['start']}"

    def _step(self, action: str) -> StepResult:
        assert self._state is not None and self._goal is not None  # AgentEnv.step refuses before reset
        chosen = {str(a): a for a in all_actions(self._state.names)}.get(action)
        if chosen is None:
            return StepResult(f"{UNKNOWN_ACTION}\n{render_state(self._state)}", 0.0, False, False, {})
        self._state = step(self._state, chosen)
        won = goal_holds(self._state, self._goal)
        return StepResult(render_state(self._state), float(won), won, won, {})

    def admissible_actions(self) -> list[str]:
        if self._state is None:
            raise RuntimeError("no task loaded: call reset(task) first")
        return sorted(str(a) for a in all_actions(self._state.names))

    def walkthrough(self, task: AgentTask) -> list[str]:
        solution = solve(parse_state(task.meta["start"]), goal_of(task), self.config.max_steps_per_episode)
        assert solution is not None, task  # make_tasks keeps solvable tasks only
        return [str(a) for a in solution]

    def close(self) -> None:
        self._running = False
