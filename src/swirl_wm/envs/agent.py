"""Multi-turn agent environments for PaW: one small interface over text games with a task reward.

PaW (Lu et al., arXiv:2606.02388; method.md §2) trains an LLM agent with on-policy RL on rollouts
``o_0, a_0, o_1, a_1, …, o_T`` of an environment that pays a task reward, and adds a world-modelling loss
on the same rollouts. Its reward-adaptive weight ``λ_g = 1 − R̄_g / R_max`` needs the largest achievable
return ``R_max``: :attr:`AgentEnv.max_return`.

Interface. An :class:`AgentEnv` lists its :class:`AgentTask` s per split (``tasks``), starts an episode on
one (``reset``, whose observation contains the goal text), advances it by one free-text action
(``step`` → :class:`StepResult`), lists the actions the game accepts now (``admissible_actions``, for
prompts that show them) and gives a task's expert action sequence (``walkthrough``). Every action text
goes to the game as it is: a text the game does not understand gets the game's own answer (TextWorld-
Express: ``Unknown action: I'm not sure what you mean.``; ALFWorld: ``Nothing happens.``), zero reward
and no error. Extracting the action from a model's completion (first line, stripped) is the policy's
job, not the environment's: the games match commands exactly, so ``"take coin\\n"`` is not understood.

Episodes. This module's base class keeps the episode bookkeeping once for all games: an episode ends
(``done``) when the game says so (won or lost) or after ``max_steps`` actions (``info["truncated"]``);
``step`` outside an episode raises. Rewards are sparse: 1.0 on the action that wins, else 0.0, so an
episode's return is 1.0 exactly when it is won and ``max_return`` is 1.0.

Expert episodes. :func:`expert_episode` plays a task's walkthrough and records transitions ``(x, z, y)``
with ``x`` the observation before the action, ``z`` the action and ``y`` the observation after it — SFT
data for the policy, and held-out transitions for evaluating the world model.

Source: PaW (arXiv:2606.02388), method.md §2; environments.md (TextWorldExpress, ALFWorld rows).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from swirl_wm.records import Episode, Transition

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")


@dataclass(frozen=True)
class AgentTask:
    """One task of an agent environment: what ``reset`` needs to start the same episode again.

    Attributes:
        env: name of the environment that owns the task (``AgentEnv.name``).
        task_id: unique over all splits of the environment; also the expert episode's id.
        split: ``"train"``, ``"dev"`` or ``"test"``; the splits share no task.
        goal: the task text the agent is given (it is also part of ``reset``'s observation).
        seed: the seed that generates the game; equal seeds (and config) give equal games.
        meta: JSON-serialisable extras (game parameters, task type, ...).
    """

    env: str
    task_id: str
    split: Split
    goal: str
    seed: int
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    """What one action did.

    Attributes:
        observation: the game's answer to the action (never empty).
        reward: 1.0 on the action that wins the task, else 0.0.
        done: the episode is over (won, lost, or ``max_steps`` actions taken).
        won: the task was completed by this action.
        info: extras: always ``truncated`` (ended by ``max_steps``, not by the game) and ``steps`` (actions
            taken in the episode); the game adds its own (module docstrings of the adapters).
    """

    observation: str
    reward: float
    done: bool
    won: bool
    info: Mapping[str, Any] = field(default_factory=dict)


class AgentEnv(ABC):
    """A text game with tasks and a task reward (module docstring). Use as a context manager, or ``close``.

    Subclasses set :attr:`name` and implement ``tasks``, ``_reset``, ``_step``, ``admissible_actions``,
    ``walkthrough`` and ``close``; this class counts the steps and ends episodes. A subclass whose
    ``tasks``, ``walkthrough`` or ``close`` restarts or stops the game sets ``_running = False`` there, so
    that a later ``step`` raises instead of acting in another game.
    """

    name: str
    max_return: float = 1.0  # R_max of PaW's λ_g = 1 − R̄_g / R_max: a won episode's return

    def __init__(self, max_steps: int) -> None:
        self.max_steps = max_steps
        self._steps = 0
        self._running = False

    @abstractmethod
    def tasks(self, split: Split) -> list[AgentTask]:
        """The tasks of one split, in a fixed order (equal configs give equal lists)."""

    @abstractmethod
    def _reset(self, task: AgentTask) -> str: ...

    @abstractmethod
    def _step(self, action: str) -> StepResult: ...

    @abstractmethod
    def admissible_actions(self) -> list[str]:
        """The actions the game accepts in the current state, sorted (raises ``RuntimeError`` before ``reset``)."""

    @abstractmethod
    def walkthrough(self, task: AgentTask) -> list[str]:
        """An expert action sequence that wins ``task`` from its ``reset``; may end a running episode.

        Deterministic where the game's planner is (TextWorldExpress cookingworld, ALFWorld); coin's varies.
        """

    @abstractmethod
    def close(self) -> None:
        """Free the game's resources (a JVM, temporary files); the environment is unusable afterwards."""

    def reset(self, task: AgentTask) -> str:
        """Start an episode of ``task`` (ending any running one) and return its first observation.

        Raises:
            ValueError: when ``task`` belongs to another environment.
        """
        if task.env != self.name:
            raise ValueError(f"task {task.task_id!r} is for environment {task.env!r}, not {self.name!r}")
        observation = self._reset(task)
        self._steps = 0
        self._running = True
        return observation

    def step(self, action: str) -> StepResult:
        """Take one action (any text; module docstring) and return what it did.

        Raises:
            RuntimeError: when no episode is running (before ``reset``, or after ``done``).
        """
        if not self._running:
            raise RuntimeError("no episode is running: call reset(task) first (and again after done)")
        result = self._step(action)
        self._steps += 1
        truncated = not result.done and self._steps >= self.max_steps
        result = replace(
            result, done=result.done or truncated, info={**result.info, "truncated": truncated, "steps": self._steps}
        )
        self._running = not result.done
        return result

    def __enter__(self) -> AgentEnv:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def expert_episode(env: AgentEnv, task: AgentTask) -> Episode:
    """Play ``task``'s walkthrough and return it as an episode of transitions ``(x, z, y)``.

    ``x`` is the observation before the action (the ``reset`` observation, with the goal, for step 0),
    ``z`` the walkthrough action, ``y`` the observation after it, so ``y`` of step ``i`` is ``x`` of step
    ``i + 1``. ``meta`` holds the task's ``split``, ``seed`` and ``meta`` entries plus the step's
    ``reward`` and ``won``. The episode id is the task id.

    Raises:
        RuntimeError: when the walkthrough does not win the task (a game bug, or ``max_steps`` shorter
            than the walkthrough).

    Source: PaW (arXiv:2606.02388) §2's rollouts; SWIRL (arXiv:2602.06130) §3's transitions.
    """
    actions = env.walkthrough(task)
    x = env.reset(task)
    transitions: list[Transition] = []
    result: StepResult | None = None
    for z in actions:
        result = env.step(z)
        meta = {"split": task.split, "seed": task.seed, **task.meta, "reward": result.reward, "won": result.won}
        transitions.append(Transition(x, z, result.observation, task.task_id, len(transitions), task.env, meta))
        x = result.observation
        if result.done:
            break
    if result is None or not result.won:
        raise RuntimeError(
            f"the walkthrough of {task.task_id} ({len(actions)} actions) did not win after {len(transitions)} "
            f"steps (max_steps={env.max_steps}); last observation: {x!r}"
        )
    return Episode(task.task_id, task.env, tuple(transitions))


def expert_episodes(env: AgentEnv, split: Split = "train") -> list[Episode]:
    """Every task of ``split`` played by its walkthrough (:func:`expert_episode`): the state logs an agent
    environment gives the SWIRL loop (``data.env: <agent environment>``), with their actions.

    Raises:
        RuntimeError: a walkthrough does not win its task.
    """
    return [expert_episode(env, task) for task in env.tasks(split)]
