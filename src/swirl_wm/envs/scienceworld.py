"""ScienceWorld: real transitions ``(x, z, y)`` replayed from the environment's gold action sequences.

World. ScienceWorld (Wang et al. 2022, PyPI ``scienceworld`` 1.2.3, a Scala simulator driven over py4j)
has 30 elementary-science tasks (boiling, growing plants, circuits, ...) in a house with ten rooms, each
task with numbered variations split into train / dev / test. ``load(..., generateGoldPath=True)`` makes
the simulator plan a gold action sequence that solves the variation; replaying it gives the episodes.

Fast path. ``ScienceWorldEnv.step`` also lists every valid action-object combination (~2.8k strings) on
each call. The generator instead calls the server's ``step`` directly and reads the state through the
free actions ``freeActionLook`` / ``freeActionInventory`` (``env.look()``, ``env.inventory()``), which
consume no simulated time. Measured on 2 busy cores (load average ~3): 3.4 commands/s through
``ScienceWorldEnv.step``, 37/s through the fast path on the same commands, 39/s over the default
config's 1,685 commands (70 episodes, 2.5 min, of which 104 s are gold-path loads at ~1.5 s each); the
JVM starts in ~3-5 s. environments.md reports 5-11/s and 70-90/s on an idle machine.

State text. A state is rendered from the last action's observation, the look text and the inventory
text by :func:`render_state`, always in this order and format::

    Observation: The door is now open
    Location: hallway
    Inventory: orange
    Exits: art studio (closed), greenhouse, kitchen
    Here: picture

- ``Observation``: the last action's observation. When it repeats the look or the inventory text (after
  ``look around`` / ``inventory``, and in the initial state, since ScienceWorld's reset is a ``look
  around``) it reads ``(see below)``, as the sections below already hold it.
- ``Location``: the room name from the look text's first line (``This room is called the kitchen.``).
- ``Inventory``: the inventory items, ``; ``-separated, or ``nothing``.
- ``Exits``: the doors of the look text's ``You also see:`` part, ``A door to the X (that is open)`` as
  ``X`` and a closed one as ``X (closed)``; any other line of that part is listed there too, rewritten
  like an item.
- ``Here``: the room's items, ``; ``-separated, without ``the agent`` and ``air``, which every room lists.

Every observation and item passes through the same rewrites, which keep the facts and shorten the
simulator's fixed phrasing (a kitchen state falls from ~1,000 to ~550 characters), in this order:
whitespace runs become one space; ``, which is [turned] W`` becomes `` (W)``; ``. The X door is
open|closed`` becomes `` (open|closed)``, and adjacent parentheses merge (``oven (off, closed)``); ``. On|In
the X is: `` becomes ``, on|in it: ``; empty contents (``, on|in it: nothing``, `` (containing
nothing)``) are dropped, so no contents means empty; ``substance called `` is dropped; ``currently
reading a temperature of`` becomes ``reading``; the articles ``a``/``an`` (and ``A``/``An`` at the start
or after ``: ``) are dropped; a trailing period is dropped. Over the default config (seed 0) states are
median 374, 90th percentile 562 characters (SmolLM2 tokens: median 98, 90th percentile 145, max 156).

Length. A state longer than ``max_chars`` loses items from the end of ``Here`` (the simulator lists them
alphabetically) until it fits, the dropped ones counted as ``… (+N more)``; if it is still too long with
no item left, it is cut to ``max_chars - 1`` characters and ``…`` is appended. At the default 600, 4 % of
the default config's states lose one or two kitchen items (boil, change-the-state-of-matter-of, once
every container is open).

Transitions. ``x`` is the state before the gold command, ``z`` the command, ``y`` the state after it, so
``y`` of step ``i`` is exactly ``x`` of step ``i + 1``. Commands the parser rejects (``No known action
matches that input``) change nothing in the world and are skipped. A command answered with ``Ambiguous
request`` and followed in the gold path by a numeric choice is stepped with that choice and kept as one
transition whose ``z`` is the command (the choice alone says nothing); not followed by one, it is skipped
like a rejected command. Actions the world refuses with an explanation (``The stove appears broken``,
``You can't move something into itself``) are real dynamics and kept. Commands after the gold path's
goal is reached are kept too. ``meta`` holds ``task``, ``variation`` and ``score``, the task score after
the transition in 0..100 (ScienceWorld's own scale).

Source: SWIRL (arXiv:2602.06130) §4 uses ScienceWorld as its physics text environment; the fast path and
timings are from environments.md and this module's measurements on 2 CPU cores.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import re
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tqdm.auto import tqdm

from swirl_wm.envs.agent import AgentEnv, AgentTask, Split, StepResult
from swirl_wm.envs.extras import require
from swirl_wm.envs.py4j_close import CloseOnce
from swirl_wm.records import Episode, Transition

if TYPE_CHECKING:
    from scienceworld import ScienceWorldEnv

log = logging.getLogger(__name__)

ENV_NAME = "scienceworld"


def task_names() -> tuple[str, ...]:
    """ScienceWorld's task names.

    Raises:
        ImportError: the ``scienceworld`` extra is not installed.
    """
    return tuple(require("scienceworld.constants", "scienceworld").ID2TASK.values())


def _check_tasks(tasks: Sequence[str]) -> None:
    names = task_names()
    unknown = [t for t in tasks if t not in names]
    if unknown:
        raise ValueError(f"unknown ScienceWorld task(s) {unknown}; choose from {list(names)}")

# ScienceWorldEnv.get_possible_simplifications, plus its "easy" bundle of them.
Simplification = Literal["teleportAction", "selfWateringFlowerPots", "openContainers", "openDoors",
                         "noElectricalAction", "easy"]  # fmt: skip
# Gold path lengths (train variations 0-2, no simplifications): boil 31-50, change-the-state-of-matter-of
# 26-37, use-thermometer 18-22, find-living-thing 8-12, grow-plant 63-69, power-component 11-13,
# chemistry-mix-paint-secondary-color 7-23. One task per topic, none hundreds of steps long.
DEFAULT_TASKS = ("boil", "change-the-state-of-matter-of", "use-thermometer", "find-living-thing",
                 "grow-plant", "power-component", "chemistry-mix-paint-secondary-color")  # fmt: skip

SEE_BELOW = "(see below)"
_REJECTED = "No known action matches that input"
_AMBIGUOUS = "Ambiguous request"
_STATIC_ITEMS = frozenset({"the agent", "air"})  # listed in every room
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\s+"), " "),
    (re.compile(r", which is (?:turned )?([\w-]+)"), r" (\1)"),
    (re.compile(r"\. The [\w ]+? door is (open|closed)"), r" (\1)"),
    (re.compile(r"\) \("), ", "),  # "oven (off) (closed)" -> "oven (off, closed)"
    (re.compile(r"\. On the [\w ]+? is: "), ", on it: "),
    (re.compile(r"\. In the [\w ]+? is: "), ", in it: "),
    (re.compile(r", (?:on|in) it: nothing| \(containing nothing\)"), ""),  # no contents listed = empty
    (re.compile(r"(?<![\w-])(?:an? )?substance called "), ""),
    (re.compile(r"currently reading (?:an? )?temperature of"), "reading"),
    (re.compile(r"(?<![\w-])an? "), ""),
    (re.compile(r"(^|: )An? "), r"\1"),
)
_LOCATION_RE = re.compile(r"called the (.+?)\.")
_DOOR_RE = re.compile(r"A door to the (.+) \(that is (open|closed)\)")


class ScienceWorldConfig(BaseModel):
    """Which ScienceWorld tasks and variations to replay, and how to render their states.

    Source: SWIRL (arXiv:2602.06130) §4; defaults from this module's measurements (module docstring).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tasks: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TASKS),
        min_length=1,
        description="ScienceWorld task names (task_names()); default one short-gold-path task per topic: "
        "states of matter, measurement, classification, biology, electricity, chemistry.",
    )
    variations_per_task: int = Field(
        default=10,
        ge=1,
        description="Variations per task, drawn by the seed from the split; all of them when the split has "
        "fewer (power-component: 10 train, 5 dev, 5 test).",
    )
    variation_split: Literal["train", "dev", "test"] = Field(
        default="train", description="ScienceWorld's own variation split to draw from."
    )
    max_steps_per_episode: int = Field(
        default=40,
        ge=1,
        description="Transitions kept per episode, the first ones of the gold path (grow-plant's is 63-69).",
    )
    simplifications: list[Simplification] = Field(
        default_factory=list,
        description="ScienceWorld simplifications; none by default (the benchmark's setting): doors and "
        "containers start closed, so the gold path's 'open ...' commands change the state.",
    )
    max_state_chars: int = Field(
        default=600,
        ge=100,
        description="Longest rendered state, characters (module docstring, Length); 600 keeps 96 % of the "
        "default config's states whole and is at most ~156 SmolLM2 tokens.",
    )

    @model_validator(mode="after")
    def _known_tasks(self) -> ScienceWorldConfig:
        if importlib.util.find_spec("scienceworld") is not None:  # else checked when the environment starts
            _check_tasks(self.tasks)
        return self


def _new_simulator() -> Any:
    """A ``ScienceWorldEnv`` whose ``close`` runs once (envs/py4j_close.py).

    Raises:
        ImportError: the ``scienceworld`` extra is not installed.
    """
    base = require("scienceworld", "scienceworld").ScienceWorldEnv

    class _Simulator(CloseOnce, base):
        pass

    return _Simulator()


def _tidy(text: str) -> str:
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text.strip().rstrip(".").strip()


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def render_state(look: str, inventory: str, observation: str | None = None, max_chars: int = 600) -> str:
    """Render the compact state text (format and rules in the module docstring).

    Args:
        look: the ``look around`` text (``env.look()``).
        inventory: the inventory text (``env.inventory()``).
        observation: the last action's observation; ``None`` for the initial state (reads ``(see below)``).
        max_chars: the longest text returned, characters (>= 1).

    Returns:
        The state, at most ``max_chars`` characters long.

    Raises:
        ValueError: when ``look`` does not start with ScienceWorld's ``... called the ROOM.`` line.

    Source: this module's design (module docstring), from ScienceWorld's look and inventory texts.
    """
    head, *lines = look.strip().split("\n")
    location = _LOCATION_RE.search(head)
    if location is None:
        raise ValueError(f"not a ScienceWorld look text (no 'called the ROOM.' in its first line): {look!r}")
    items: list[str] = []
    exits: list[str] = []
    in_exits = False
    for line in filter(None, (raw.strip() for raw in lines)):
        if line == "You also see:":
            in_exits = True
        elif in_exits and (door := _DOOR_RE.fullmatch(line)):
            exits.append(door[1] + (" (closed)" if door[2] == "closed" else ""))
        elif (item := _tidy(line)) not in _STATIC_ITEMS:
            (exits if in_exits else items).append(item)
    carried = [_tidy(line) for line in inventory.strip().split("\n")[1:] if line.strip()]
    if observation is None or _same(observation, look) or _same(observation, inventory):
        observation = SEE_BELOW
    head_text = (
        f"Observation: {_tidy(observation)}\nLocation: {location[1]}\nInventory: {'; '.join(carried) or 'nothing'}"
        f"\nExits: {', '.join(exits) or 'none'}\nHere: "
    )
    for kept in range(len(items), -1, -1):
        dropped = len(items) - kept
        here = items[:kept] + ([f"… (+{dropped} more)"] if dropped else [])
        text = head_text + ("; ".join(here) or "nothing")
        if len(text) <= max_chars:
            return text
    return text[: max_chars - 1] + "…"


def generate_episodes(config: ScienceWorldConfig, seed: int) -> list[Episode]:
    """Replay the gold action sequences of the configured tasks and variations as episodes.

    For each task (in config order) the seed draws ``config.variations_per_task`` variations of
    ``config.variation_split`` (``random.Random(f"{seed}-{task}")``, so a task's draw does not depend on
    the others), replayed in increasing order; episode ``sciworld-{task}-{variation}`` holds the first
    ``config.max_steps_per_episode`` transitions (module docstring). One JVM serves the whole call and is
    shut down when it returns or raises. An info log line gives the counts (episodes, transitions,
    rejected and disambiguated commands) and the simulator's speed in commands per second.

    Args:
        config: tasks, variations and rendering.
        seed: picks the variations; equal seeds give equal episodes.

    Returns:
        The episodes, task by task; an episode may be empty only if its whole gold path was rejected.

    Raises:
        FileNotFoundError: when no ``java`` is on PATH (the message says how to install it).
        py4j.protocol.Py4JError: when the simulator fails.

    Source: SWIRL (arXiv:2602.06130) §4 (ScienceWorld as the physics text environment); environments.md
    (gold paths, the free-action fast path).
    """
    simplifications = ",".join(config.simplifications)
    counts: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    episodes: list[Episode] = []
    if shutil.which("java") is None:
        raise FileNotFoundError(
            "ScienceWorld runs on Java and no 'java' is on PATH: install OpenJDK 17+ "
            "(Debian: apt-get install default-jre-headless) or add its bin folder to PATH"
        )
    _check_tasks(config.tasks)  # before the JVM starts
    env = _new_simulator()
    bar = tqdm(total=len(config.tasks) * config.variations_per_task, desc="scienceworld episodes", unit="episode",
               disable=None, leave=False)
    try:
        for task in config.tasks:
            env.load(task, 0, simplifications)  # the split lists need a loaded task
            pool = getattr(env, f"get_variations_{config.variation_split}")()
            rng = random.Random(f"{seed}-{task}")  # str seeds hash with SHA-512: stable across runs
            for variation in sorted(rng.sample(pool, min(config.variations_per_task, len(pool)))):
                start = time.perf_counter()
                env.load(task, variation, simplifications, generateGoldPath=True)
                loaded = time.perf_counter()
                episodes.append(_replay(env, config, task, variation, counts))
                bar.update()
                seconds["load"] += loaded - start
                seconds["replay"] += time.perf_counter() - loaded
    finally:
        bar.close()
        env.close()
    log.info(
        "scienceworld: %d episodes, %d transitions; %d commands stepped (%d rejected, %d disambiguated) in "
        "%.1f s (%.1f/s, with look and inventory); gold-path loads %.1f s",
        len(episodes), sum(len(e) for e in episodes), counts["stepped"], counts["rejected"],
        counts["disambiguated"], seconds["replay"], counts["stepped"] / max(seconds["replay"], 1e-9),
        seconds["load"],
    )  # fmt: skip
    return episodes


def _replay(
    env: ScienceWorldEnv, config: ScienceWorldConfig, task: str, variation: int, counts: Counter[str]
) -> Episode:
    gold = env.get_gold_action_sequence()
    episode_id = f"sciworld-{task}-{variation}"
    x = render_state(env.look(), env.inventory(), None, config.max_state_chars)
    transitions: list[Transition] = []
    i = 0
    while i < len(gold) and len(transitions) < config.max_steps_per_episode:
        command = gold[i]
        observation = env.server.step(command)
        counts["stepped"] += 1
        i += 1
        if observation.startswith(_AMBIGUOUS) and i < len(gold) and gold[i].isdigit():
            observation = env.server.step(gold[i])
            counts["stepped"] += 1
            counts["disambiguated"] += 1
            i += 1
        if observation.startswith((_REJECTED, _AMBIGUOUS)):
            counts["rejected"] += 1
            continue
        y = render_state(env.look(), env.inventory(), observation, config.max_state_chars)
        score = round(100 * env.server.getScore())  # ScienceWorldEnv.step's 0..100 scale
        meta = {"task": task, "variation": variation, "score": score}
        transitions.append(Transition(x, command, y, episode_id, len(transitions), ENV_NAME, meta))
        x = y
    return Episode(episode_id, ENV_NAME, tuple(transitions))


class ScienceWorld(AgentEnv):
    """ScienceWorld's tasks for an agent (``swirl paw``, ``env.name: scienceworld``).

    A task is one variation of one of ``config.tasks`` in ScienceWorld's own split (train, dev, test),
    ``config.variations_per_task`` of them per task drawn by ``random.Random(f"{task}-{split}")`` (sorted).
    The first observation is the task description and the rendered state (:func:`render_state`, the same
    text the state logs use); each step's observation is the state after the command. The reward is 1.0
    on the command that completes the task with a full score; ``info["score"]`` is the task score in
    0..100. Commands go through the simulator's fast path (module docstring). The walkthrough is the gold
    path (with its numeric answers to ambiguous commands). Episodes are cut at
    ``config.max_steps_per_episode`` actions, so pick tasks whose gold paths fit (module docstring, lengths).

    Raises (construction):
        ValueError: an unknown task; ImportError: the ``scienceworld`` extra is missing.

    Source: SWIRL (arXiv:2602.06130) §4 (ScienceWorld); PaW (arXiv:2606.02388) §2 (agent rollouts).
    """

    name = ENV_NAME

    def __init__(self, config: ScienceWorldConfig) -> None:
        super().__init__(config.max_steps_per_episode)
        _check_tasks(config.tasks)
        self.config = config
        self._simplifications = ",".join(config.simplifications)
        self._env = _new_simulator()

    def tasks(self, split: Split) -> list[AgentTask]:
        self._running = False  # loading a task ends a running episode
        tasks = []
        for task in self.config.tasks:
            self._env.load(task, 0, self._simplifications)
            pool = getattr(self._env, f"get_variations_{split}")()
            rng = random.Random(f"{task}-{split}")  # str seeds hash with SHA-512: stable across runs
            for variation in sorted(rng.sample(pool, min(self.config.variations_per_task, len(pool)))):
                self._env.load(task, variation, self._simplifications)
                goal = _tidy(self._env.taskdescription())
                tasks.append(AgentTask(ENV_NAME, f"sciworld-{task}-{variation}", split, goal, variation,
                                       {"task": task, "variation": variation}))
        return tasks

    def _reset(self, task: AgentTask) -> str:
        self._env.load(task.meta["task"], task.seed, self._simplifications)
        state = render_state(self._env.look(), self._env.inventory(), None, self.config.max_state_chars)
        return f"{_tidy(self._env.taskdescription())}\n{state}"

    def _step(self, action: str) -> StepResult:
        observation = self._env.server.step(action)
        state = render_state(self._env.look(), self._env.inventory(), observation, self.config.max_state_chars)
        score = round(100 * self._env.server.getScore())
        completed = bool(self._env.server.getCompleted())
        won = completed and score >= 100
        return StepResult(state, 1.0 if won else 0.0, completed or score < 0, won, {"score": score})

    def admissible_actions(self) -> list[str]:
        if not self._running:
            raise RuntimeError("no task loaded: call reset(task) first")
        return sorted(self._env.get_valid_action_object_combinations())

    def walkthrough(self, task: AgentTask) -> list[str]:
        self._running = False
        self._env.load(task.meta["task"], task.seed, self._simplifications, generateGoldPath=True)
        return list(self._env.get_gold_action_sequence())

    def close(self) -> None:
        self._running = False
        self._env.close()
