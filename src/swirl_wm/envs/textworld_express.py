"""TextWorldExpress: short text games with a task reward, behind the :class:`~swirl_wm.envs.agent.AgentEnv`
interface for PaW.

World. TextWorldExpress (Jansen & Côté 2022, PyPI ``textworld-express`` 1.1.0, a Scala simulator driven
over py4j; needs Java) generates games from a seed; each game has its own train / dev / test seeds
(1,000 each: 0-999, 10000-10999, 20000-20999) and plans a gold action sequence on request. Two games are
offered, with parameters small enough that a walkthrough is short:

- ``cookingworld`` (default; ``numLocations=1, numIngredients=1, numDistractorItems=0, includeDoors=0,
  limitInventorySize=0``): read the cookbook in the kitchen, gather the ingredient, prepare it as the
  recipe says (slice / dice / chop with the knife, roast / fry / grill with oven / stove / toaster), then
  ``prepare meal`` and ``eat meal``. Walkthroughs of 7-13 actions (the first 300 train, 50 dev and 100
  test seeds: 7×22, 8×24, 9×74, 10×105, 11×145, 12×61, 13×19; all 450 won). Wrong preparation or eating
  something else fails the task (``done``, not won); 15-25 admissible actions per state. A policy that
  picks uniformly among the admissible actions won 0 of 100 train games in 30 steps.
- ``coin`` (``numLocations=3, numDistractorItems=0, includeDoors=0``): find the coin in one of three
  rooms and take it. Walkthroughs of 2-23 actions (140 seeds: 2×57, 3×39, 5×25, 7×9, 9×4, 11×4, 13×2);
  the uniform admissible policy wins 84 of 100, so coin is a smoke test rather than an RL task. Its
  gold path explores the rooms in a random order, so ``walkthrough`` differs between calls for the same
  seed (3 vs 15 actions for seed 10003); the game itself is deterministic.

Determinism. Equal seeds give equal games: over 140 tasks of each game, the reset observation, the
admissible actions and the answers to a fixed action list were equal across two JVMs, and so were
cookingworld's walkthroughs.

Reward. 1.0 on the action that wins (the game's ``tasksuccess``), else 0.0; ``max_return`` is 1.0. The
game's own partial score (0..1, cookingworld: +0.25 per recipe stage) is ``info["score"]``.

Observations. ``reset`` returns the goal (the game's task description) and the opening room description
on the next line; ``step`` returns the game's answer to the action (``You take the cookbook.``, the
cookbook's recipe, a room description after ``move``/``look around``). Texts are tidied: each line's
whitespace runs become one space, blank lines are dropped and the ends are stripped (the simulator pads
with spaces and double spaces after periods). Actions are matched exactly by the game (lower case, single
spaces, no trailing newline); anything else — and any text that is not a command — is answered ``Unknown
action: I'm not sure what you mean.`` with no change to the world. ``help`` repeats the task description.
``info`` holds ``score`` and ``failed`` (the game's ``taskfailure``). Over the 450 expert episodes above,
observations are median 34, 90th percentile 540, max 677 characters (room descriptions are the long ones).

Speed (2 busy cores, load average ~3.5): JVM start ~1 s; ``step`` ~2.7k/s (cookingworld) and ~3.3k/s
(coin) under a random policy; expert episodes ~1k steps/s including their two resets (one plans the
gold path); ``tasks`` resets each seed once to read the goal (450 seeds in 1.2 s).

Source: PaW (arXiv:2606.02388) §2 trains agents on a task reward; environments.md (TextWorldExpress row);
the walkthrough lengths and speeds are this module's measurements.
"""

from __future__ import annotations

import re
import shutil
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swirl_wm.envs.agent import AgentEnv, AgentTask, Split, StepResult
from swirl_wm.envs.extras import require
from swirl_wm.envs.py4j_close import CloseOnce

ENV_NAME = "textworld_express"
Game = Literal["cookingworld", "coin"]
DEFAULT_GAME_PARAMS: dict[str, dict[str, int]] = {
    "cookingworld": {
        "numLocations": 1, "numIngredients": 1, "numDistractorItems": 0, "includeDoors": 0, "limitInventorySize": 0
    },
    "coin": {"numLocations": 3, "numDistractorItems": 0, "includeDoors": 0},
}  # fmt: skip
_SPACES = re.compile(r"[ \t]+")


class TextWorldExpressConfig(BaseModel):
    """Which TextWorldExpress game, how many of its seeds per split, and how long an episode may run.

    Source: environments.md (TextWorldExpress row); defaults from this module's measurements (module
    docstring).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    game: Game = Field(
        default="cookingworld",
        description="TextWorldExpress game; cookingworld (walkthroughs 7-13 actions) or coin (2-23, exploration).",
    )
    game_params: dict[str, int] = Field(
        default_factory=dict,
        description="Game parameters overriding DEFAULT_GAME_PARAMS[game] (TextWorldExpress names, e.g. "
        "numLocations, numIngredients); the simulator rejects unknown names and out-of-range values.",
    )
    train_tasks: int = Field(default=500, ge=1, le=1000, description="Train tasks: the first train seeds (0, 1, ...).")
    dev_tasks: int = Field(default=50, ge=1, le=1000, description="Dev tasks: the first dev seeds (10000, ...).")
    test_tasks: int = Field(default=200, ge=1, le=1000, description="Test tasks: the first test seeds (20000, ...).")
    max_steps_per_episode: int = Field(
        default=30,
        ge=1,
        description="Actions per episode before it is truncated; over twice cookingworld's longest walkthrough "
        "(13 actions), room for some wrong ones.",
    )

    @property
    def params(self) -> dict[str, int]:
        """The game parameters used: the game's defaults updated by ``game_params``."""
        return {**DEFAULT_GAME_PARAMS[self.game], **self.game_params}

    def tasks_in(self, split: Split) -> int:
        """How many tasks ``split`` has."""
        return {"train": self.train_tasks, "dev": self.dev_tasks, "test": self.test_tasks}[split]

    @model_validator(mode="after")
    def _params_known(self) -> TextWorldExpressConfig:
        unknown = sorted(set(self.game_params) - set(DEFAULT_GAME_PARAMS[self.game]))
        if unknown:
            raise ValueError(
                f"unknown {self.game} parameter(s) {unknown}; known: {sorted(DEFAULT_GAME_PARAMS[self.game])}"
            )
        return self


def _new_simulator(**kwargs: Any) -> Any:
    """A ``TextWorldExpressEnv`` (``kwargs`` to its constructor) whose ``close`` runs once
    (envs/py4j_close.py).

    Raises:
        ImportError: the ``agents`` extra (``textworld-express``) is not installed.
    """
    base = require("textworld_express", "agents").TextWorldExpressEnv

    class _Simulator(CloseOnce, base):
        pass

    return _Simulator(**kwargs)


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


class TextWorldExpress(AgentEnv):
    """TextWorldExpress games as an :class:`AgentEnv` (module docstring); starts one JVM.

    Raises:
        FileNotFoundError: when no ``java`` is on PATH (the message says how to install it).
        ValueError: when the simulator rejects the game parameters.
    """

    name = ENV_NAME

    def __init__(self, config: TextWorldExpressConfig) -> None:
        super().__init__(config.max_steps_per_episode)
        if shutil.which("java") is None:
            raise FileNotFoundError(
                "TextWorldExpress runs on Java and no 'java' is on PATH: install OpenJDK 17+ "
                "(Debian: apt-get install default-jre-headless) or add its bin folder to PATH"
            )
        self.config = config
        # The wrapper ends episodes at max_steps; the simulator's own limit must never come first.
        self._sim = _new_simulator(envStepLimit=config.max_steps_per_episode + 1)
        try:
            self._sim.load(config.game, ",".join(f"{k}={v}" for k, v in config.params.items()))
        except ValueError:
            self._sim.close()
            raise
        self._admissible: list[str] | None = None

    def tasks(self, split: Split) -> list[AgentTask]:
        seeds = getattr(self._sim, f"getValidSeeds{split.capitalize()}")()[: self.config.tasks_in(split)]
        self._running = False  # reading the goals resets the simulator
        tasks = []
        for seed in seeds:
            _, infos = self._sim.reset(seed=seed, gameFold=split)
            goal = _tidy(infos["taskDescription"])
            meta = {"game": self.config.game, "params": self.config.params}
            tasks.append(AgentTask(ENV_NAME, f"{self.config.game}-{split}-{seed}", split, goal, seed, meta))
        return tasks

    def _reset(self, task: AgentTask) -> str:
        observation, infos = self._sim.reset(seed=task.seed, gameFold=task.split)
        self._admissible = sorted(infos["validActions"])
        return f"{_tidy(infos['taskDescription'])}\n{_tidy(observation)}"

    def _step(self, action: str) -> StepResult:
        observation, _, done, infos = self._sim.step(action)
        self._admissible = sorted(infos["validActions"])
        won = bool(infos["tasksuccess"])
        info = {"score": float(infos["score"]), "failed": bool(infos["taskfailure"])}
        return StepResult(_tidy(observation), 1.0 if won else 0.0, bool(done), won, info)

    def admissible_actions(self) -> list[str]:
        if self._admissible is None:
            raise RuntimeError("no game loaded: call reset(task) first")
        return list(self._admissible)

    def walkthrough(self, task: AgentTask) -> list[str]:
        self._running = False
        self._admissible = None
        self._sim.reset(seed=task.seed, gameFold=task.split, generateGoldPath=True)
        return list(self._sim.getGoldActionSequence())

    def close(self) -> None:
        self._running = False
        self._sim.close()
