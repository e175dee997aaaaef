"""ALFWorld-style household tasks, generated here as PDDL problems and played with ALFWorld's own domain,
grammar and planner, behind the :class:`~swirl_wm.envs.agent.AgentEnv` interface for PaW.

Why generated. ALFWorld (Shridhar et al. 2021, PyPI ``alfworld`` 0.4.2) plays its 3,553 training games
from ``game.tw-pddl`` files (the ALFRED scenes as PDDL problems) that ``alfworld-download`` fetches from
the network; offline they are not available. The wheel does ship the PDDL domain (``alfred.pddl``) and
the text grammar (``alfred.twl2``), and TextWorld's ``PddlEnv`` (PyPI ``textworld`` 1.7.0, with the Fast
Downward planner of ``fast-downward-textworld``) plays any problem of that domain and plans a walkthrough
(``extra.walkthrough``). :func:`generate_game` writes such problems from a seed.

Games. One room per game, as in ALFWorld: a kitchen, bathroom, bedroom or living room, with
``min_receptacles..max_receptacles`` receptacles (each at its own location; cabinets, drawers,
countertops, shelves, side tables, stove burners and armchairs may repeat, the rest appear once) and
``min_distractors..max_distractors`` objects besides the task's own, every object in a receptacle
ALFWorld allows it in (``alfworld.gen.constants.VAL_RECEPTACLE_OBJECTS``). Fridges, cabinets, drawers,
microwaves and safes start closed. Object properties (heatable, coolable, cleanable, sliceable) come from
``VAL_ACTION_OBJECTS``; instance numbers (``apple 2``) are shuffled, so the number says nothing about the
task. The six task types of the ALFWorld benchmark, in the rooms ALFWorld allows them
(``constants.GOALS_VALID``), with ALFWorld's goal formulas and goal texts (``alfworld.gen.goal_library``):

- ``pick_and_place_simple``: ``put a mug in shelf`` — any instance of the type, in any receptacle of the type;
- ``look_at_obj_in_light``: ``look at book under the desklamp`` — hold it next to the lamp, lamp on;
- ``pick_clean_then_place_in_recep``: ``put a clean spoon in drawer`` — ``clean ... with sinkbasin 1``;
- ``pick_heat_then_place_in_recep``: ``heat some egg and put it in countertop`` — with the microwave;
- ``pick_cool_then_place_in_recep``: ``put a cool potato in diningtable`` — with the fridge;
- ``pick_two_obj_and_place``: ``find two cd and put them in safe``.

No object of the task's type starts in a receptacle of the task's type, so no game is won at the start.
Task ``i`` of a split has type ``task_types[i % len(task_types)]`` and seed ``SEED_OFFSET[split] + i``
(train 0.., dev 10000.., test 20000..), so the splits share no seed.

Observations. ``reset`` returns ALFWorld's opening text without its ``-= Welcome to TextWorld, ALFRED! =-``
banner: the room (``You are in the middle of a room. Looking quickly around you, you see a cabinet 1, a
countertop 1, ... and a sinkbasin 1.``) and, on the next line, the goal (``Your task is to: put a clean
spoon in drawer.``). ``step`` returns the grammar's feedback (``You arrive at drawer 2. The drawer 2 is
closed.``, ``You open the drawer 2. The drawer 2 is open. In it, you see a spoon 1.``, ``You pick up the
spoon 1 from the drawer 2.``, ``You clean the spoon 1 using the sinkbasin 1.``). The game strips the
command's ends and matches it exactly against the admissible commands (``go to X``, ``open X``, ``take O
from R``, ``move O to R``, ``heat|cool|clean O with R``, ``slice O with K``, ``use LAMP``, ``examine X``,
``look``, ``inventory``, ``help``); anything else is answered ``Nothing happens.`` with no change. No
action loses the game: an episode ends when it is won or after ``max_steps_per_episode`` actions.

Reward. 1.0 on the action that wins (the game's ``won``), else 0.0; ``max_return`` is 1.0.

Measured (2 busy cores, load average ~4-5, default config, the first 120 train tasks, 20 per type): every
planner walkthrough wins; walkthrough lengths pick_and_place_simple 4-5 (mean 4.5),
look_at_obj_in_light 3-5 (3.6), pick_clean 5-8 (6.5), pick_heat 6-7 (6.2), pick_cool 6-7 (6.3),
pick_two 8-10 (8.4) — shorter than a policy's, since the planner knows where every object is and a
policy has to search. Observations are median 53, 90th percentile 226, max 291 characters; 13 admissible
commands per state (median, max 18). A policy that picks uniformly among the admissible commands won 0 of
60 games in 30 steps. Generating a problem ~1 ms; ``reset`` ~0.26 s (PDDL to SAS translation and the
grammar's parse); ``step`` ~27 ms (the game derives every admissible command's text after each action),
~31 steps/s with resets under the random policy; the planner's walkthrough ~0.27 s per game.

Source: PaW (arXiv:2606.02388) §2 reports ALFWorld; environments.md (ALFWorld row: generate PDDL problems
for the wheel's domain and play them with its PDDL environment and planner walkthrough).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swirl_wm.envs.agent import AgentEnv, AgentTask, Split, StepResult

if TYPE_CHECKING:
    from textworld.envs.pddl import PddlEnv

# alfworld and textworld are imported where they are used, so that ALFWorldConfig (and a run config that holds
# it) loads without them: alfworld is an optional install (a C++ planner build, ~5 min).

ENV_NAME = "alfworld"
TaskType = Literal[
    "pick_and_place_simple", "look_at_obj_in_light", "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", "pick_two_obj_and_place",
]  # fmt: skip
TASK_TYPES: tuple[TaskType, ...] = get_args(TaskType)
SEED_OFFSET: dict[Split, int] = {"train": 0, "dev": 10_000, "test": 20_000}
_BANNER = "-= Welcome to TextWorld, ALFRED! =-"
_LAMP, _LAMP_HOLDERS = "DeskLamp", ("Desk", "SideTable", "Dresser")
# The appliance each task type needs (alfred.pddl: CleanObject needs SinkBasinType, HeatObject MicrowaveType,
# CoolObject FridgeType) and the object property it needs (VAL_ACTION_OBJECTS keys).
_TOOL = {"pick_clean_then_place_in_recep": "SinkBasin", "pick_heat_then_place_in_recep": "Microwave",
         "pick_cool_then_place_in_recep": "Fridge"}  # fmt: skip
_PROPERTY = {"pick_clean_then_place_in_recep": "Cleanable", "pick_heat_then_place_in_recep": "Heatable",
             "pick_cool_then_place_in_recep": "Coolable"}  # fmt: skip
_PREDICATES = {"Heatable": "heatable", "Coolable": "coolable", "Cleanable": "cleanable", "Sliceable": "sliceable"}
_REPEATABLE = frozenset({"Cabinet", "Drawer", "CounterTop", "Shelf", "SideTable", "StoveBurner", "ArmChair"})


@dataclass(frozen=True)
class _Room:
    receptacles: tuple[str, ...]
    objects: tuple[str, ...]


# A small version of each ALFRED room type: receptacle and object types found in its scenes, every object
# placeable in at least one of the room's receptacles (VAL_RECEPTACLE_OBJECTS). Keys as in GOALS_VALID.
ROOMS: dict[str, _Room] = {
    "Kitchen": _Room(
        ("CounterTop", "Cabinet", "Drawer", "Fridge", "Microwave", "SinkBasin", "StoveBurner", "DiningTable",
         "GarbageCan", "CoffeeMachine", "Shelf"),
        ("Apple", "Bread", "Egg", "Potato", "Tomato", "Lettuce", "Mug", "Cup", "Plate", "Bowl", "Pan", "Pot",
         "Knife", "Fork", "Spoon", "Ladle", "Spatula", "ButterKnife", "DishSponge", "SaltShaker", "PepperShaker",
         "Kettle", "WineBottle"),
    ),
    "Bathroom": _Room(
        ("CounterTop", "Cabinet", "Drawer", "SinkBasin", "BathtubBasin", "Toilet", "TowelHolder", "HandTowelHolder",
         "ToiletPaperHanger", "GarbageCan", "Shelf"),
        ("SoapBar", "SoapBottle", "Cloth", "Candle", "ToiletPaper", "SprayBottle", "Towel", "HandTowel",
         "DishSponge", "Plunger", "TissueBox", "PaperTowel"),
    ),
    "Bedroom": _Room(
        ("Bed", "Desk", "Drawer", "Dresser", "SideTable", "Shelf", "GarbageCan", "Safe", "ArmChair", "LaundryHamper"),
        ("Book", "CellPhone", "CreditCard", "KeyChain", "Laptop", "Pen", "Pencil", "Pillow", "AlarmClock", "CD",
         "Bowl", "Mug", "Watch", "BaseballBat", "TennisRacket", "BasketBall", "Cloth"),
    ),
    "LivingRoom": _Room(
        ("Sofa", "ArmChair", "CoffeeTable", "SideTable", "TVStand", "Shelf", "Drawer", "Cabinet", "GarbageCan",
         "DiningTable", "Ottoman"),
        ("RemoteControl", "KeyChain", "CreditCard", "Newspaper", "Laptop", "Box", "Pillow", "Statue", "Vase",
         "Watch", "Book", "CellPhone", "Candle", "TissueBox", "WateringCan"),
    ),
}  # fmt: skip


class ALFWorldConfig(BaseModel):
    """Which generated ALFWorld-style tasks, how many per split, how big the rooms, how long an episode.

    Source: ALFWorld's six task types and rooms (alfworld.gen.constants.GOALS_VALID); sizes chosen smaller
    than ALFRED's scenes (20-40 receptacles) so walkthroughs and observations stay short (module docstring).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_types: list[TaskType] = Field(
        default_factory=lambda: list(TASK_TYPES), min_length=1, description="Task types, assigned round-robin."
    )
    train_tasks: int = Field(default=600, ge=1, le=10_000, description="Train tasks (seeds 0, 1, ...).")
    dev_tasks: int = Field(default=60, ge=1, le=10_000, description="Dev tasks (seeds 10000, ...).")
    test_tasks: int = Field(default=120, ge=1, le=10_000, description="Test tasks (seeds 20000, ...).")
    min_receptacles: int = Field(
        default=6, ge=4, description="Fewest receptacles in a room; a task needs up to 3 (target, source, appliance)."
    )
    max_receptacles: int = Field(default=10, ge=4, le=30, description="Most receptacles in a room.")
    min_distractors: int = Field(default=4, ge=0, description="Fewest objects besides the task's own.")
    max_distractors: int = Field(default=8, ge=0, le=40, description="Most objects besides the task's own.")
    max_steps_per_episode: int = Field(
        default=30,
        ge=1,
        description="Actions per episode before it is truncated; three times the longest walkthrough (10 "
        "actions, pick_two_obj_and_place), room to search the receptacles.",
    )

    def tasks_in(self, split: Split) -> int:
        """How many tasks ``split`` has."""
        return {"train": self.train_tasks, "dev": self.dev_tasks, "test": self.test_tasks}[split]

    @model_validator(mode="after")
    def _ranges(self) -> ALFWorldConfig:
        if self.min_receptacles > self.max_receptacles or self.min_distractors > self.max_distractors:
            raise ValueError(
                f"min_receptacles..max_receptacles ({self.min_receptacles}..{self.max_receptacles}) and "
                f"min_distractors..max_distractors ({self.min_distractors}..{self.max_distractors}) must not be empty"
            )
        return self


@dataclass(frozen=True)
class ALFWorldGame:
    """One generated game: the PDDL problem for ``alfred.pddl`` and what it asks.

    Attributes:
        task_type: one of ``TASK_TYPES``.
        room: a key of ``ROOMS``.
        object_type: the type to move (``Apple``), or to look at under the lamp.
        receptacle_type: the type to put it in (``CounterTop``); ``DeskLamp`` for ``look_at_obj_in_light``.
        goal: the goal text (``put a clean apple in countertop``), without ``Your task is to:``.
        problem: the PDDL problem text.
    """

    task_type: TaskType
    room: str
    object_type: str
    receptacle_type: str
    goal: str
    problem: str


def generate_game(seed: int, task_type: TaskType, config: ALFWorldConfig) -> ALFWorldGame:
    """Generate the game of one seed and task type (rules in the module docstring); pure and fast (~1 ms).

    Equal arguments give equal games (``random.Random`` seeded with a string, stable across runs).

    Source: ALFWorld's goal library (alfworld.gen.goal_library) and object tables (alfworld.gen.constants).
    """
    from alfworld.gen import constants as alfred
    from alfworld.gen.goal_library import gdict as alfred_goals

    rng = random.Random(f"alfworld-{task_type}-{seed}")
    room_name = rng.choice(sorted(alfred.GOALS_VALID[task_type]))
    room = ROOMS[room_name]
    tool = _TOOL.get(task_type)
    if task_type == "look_at_obj_in_light":
        obj = rng.choice(room.objects)
        target = _LAMP
        sources = [r for r in room.receptacles if obj in alfred.VAL_RECEPTACLE_OBJECTS[r]]
        required = [rng.choice(sources), rng.choice([r for r in _LAMP_HOLDERS if r in room.receptacles])]
    else:
        needed = _PROPERTY.get(task_type)
        choices = [
            (o, r, s)
            for o in room.objects
            if needed is None or o in alfred.VAL_ACTION_OBJECTS[needed]
            for r in room.receptacles
            if r != tool and o in alfred.VAL_RECEPTACLE_OBJECTS[r]
            for s in room.receptacles
            if s != r and o in alfred.VAL_RECEPTACLE_OBJECTS[s]
        ]
        obj, target, source = rng.choice(choices)
        required = [target, source] + ([tool] if tool else [])
    required = list(dict.fromkeys(required))
    size = rng.randint(config.min_receptacles, config.max_receptacles)
    kinds = list(required)  # at most 3 (target, source, appliance); min_receptacles >= 4 leaves room for them
    while len(kinds) < size:
        kind = rng.choice(room.receptacles)
        if kind in _REPEATABLE or kind not in kinds:
            kinds.append(kind)
    rng.shuffle(kinds)
    receptacles = _numbered(kinds)  # (name, type), numbered in shuffled order

    def place(kind: str) -> str | None:
        fits = [name for name, rtype in receptacles if kind in alfred.VAL_RECEPTACLE_OBJECTS.get(rtype, ())]
        if kind == obj:  # never already where the task wants it
            fits = [name for name in fits if dict(receptacles)[name] != target]
        return rng.choice(fits) if fits else None

    placed = [(obj, place(obj)) for _ in range(2 if task_type == "pick_two_obj_and_place" else 1)]
    if task_type == "look_at_obj_in_light":
        placed.append((_LAMP, rng.choice([n for n, t in receptacles if t in _LAMP_HOLDERS])))
    for _ in range(rng.randint(config.min_distractors, config.max_distractors)):
        kind = rng.choice(room.objects)
        if (where := place(kind)) is not None:
            placed.append((kind, where))
    rng.shuffle(placed)
    numbered = _numbered([kind for kind, _ in placed])
    objects = [(name, kind, where) for (name, kind), (_, where) in zip(numbered, placed, strict=True)]
    assert all(where is not None for _, _, where in objects), "the task's object has a required receptacle to start in"
    template = rng.choice(alfred_goals[task_type]["templates"])
    names = {"obj": obj.lower(), "recep": target.lower(), "toggle": _LAMP.lower()}
    goal_pddl = alfred_goals[task_type]["pddl"].format(obj=obj, recep=target, toggle=_LAMP).replace("#", "-")
    problem = _problem(f"{task_type}-{seed}", receptacles, objects) + goal_pddl
    return ALFWorldGame(task_type, room_name, obj, target, template.format(**names), problem)


def _numbered(kinds: list[str]) -> list[tuple[str, str]]:
    """``["Cabinet", "Fridge", "Cabinet"]`` -> ``[("cabinet_1", "Cabinet"), ("fridge_1", ...), ("cabinet_2", ...)]``."""
    seen: dict[str, int] = {}
    out = []
    for kind in kinds:
        seen[kind] = seen.get(kind, 0) + 1
        out.append((f"{kind.lower()}_{seen[kind]}", kind))
    return out


def _problem(name: str, receptacles: list[tuple[str, str]], objects: list[tuple[str, str, str]]) -> str:
    """The PDDL problem up to its ``:goal`` (ALFWorld's goal formulas close the ``define``)."""
    from alfworld.gen import constants as alfred

    otypes = sorted({kind for _, kind, _ in objects})
    rtypes = sorted({kind for _, kind in receptacles})
    location = {r: f"loc_{i + 1}" for i, (r, _) in enumerate(receptacles)}  # loc_0: the agent's start
    decl = ["agent1 - agent", *(f"{t}Type - otype" for t in otypes), *(f"{t}Type - rtype" for t in rtypes)]
    decl += [f"{o} - object" for o, _, _ in objects] + [f"{r} - receptacle" for r, _ in receptacles]
    decl += [f"loc_{i} - location" for i in range(len(receptacles) + 1)]
    init = ["(atLocation agent1 loc_0)"]
    for r, kind in receptacles:
        init += [f"(receptacleType {r} {kind}Type)", f"(receptacleAtLocation {r} {location[r]})"]
        init += [f"(openable {r})"] if kind in alfred.OPENABLE_CLASS_SET else []
    for rtype in rtypes:
        fits = alfred.VAL_RECEPTACLE_OBJECTS.get(rtype, ())
        init += [f"(canContain {rtype}Type {t}Type)" for t in otypes if t in fits]
    for o, kind, where in objects:
        init += [f"(objectType {o} {kind}Type)", f"(inReceptacle {o} {where})"]
        init += [f"(objectAtLocation {o} {location[where]})"]
        init += [f"(toggleable {o})"] if kind == _LAMP else [f"(pickupable {o})"]
        init += [f"({p} {o})" for key, p in _PREDICATES.items() if kind in alfred.VAL_ACTION_OBJECTS[key]]
    decl_text, init_text = "\n".join(decl), "\n".join(init)
    return f"(define (problem {name})\n(:domain alfred)\n(:objects\n{decl_text}\n)\n(:init\n{init_text}\n)\n"


def _load(env: PddlEnv, data: dict[str, str]) -> None:
    """Load a game into ``env`` and name its entities as ALFWorld shows them (``cabinet_2`` -> ``cabinet 2``)."""
    env.load(data)
    for info in env._entity_infos.values():  # renamed after load, as ALFWorld's AlfredDemangler does
        info.name = info.id.replace("_", " ")


def _domain() -> tuple[str, str]:
    data = resources.files("alfworld") / "data"
    return (data / "alfred.pddl").read_text(), (data / "alfred.twl2").read_text()


class ALFWorld(AgentEnv):
    """Generated ALFWorld-style games as an :class:`AgentEnv` (module docstring).

    Holds two TextWorld ``PddlEnv`` s, each with its own copy of the Fast Downward library (~34 MB, kept
    until the process exits): one plays episodes, one plans walkthroughs, so ``walkthrough`` leaves a
    running episode alone. Make one per process and reuse it.
    """

    name = ENV_NAME

    def __init__(self, config: ALFWorldConfig) -> None:
        super().__init__(config.max_steps_per_episode)
        self.config = config
        import textworld
        from textworld.envs.pddl import PddlEnv

        self._domain, self._grammar = _domain()
        self._player = PddlEnv(textworld.EnvInfos(admissible_commands=True, won=True))
        self._planner = PddlEnv(textworld.EnvInfos(won=True, extras=["walkthrough"]))
        self._admissible: list[str] | None = None

    def tasks(self, split: Split) -> list[AgentTask]:
        tasks = []
        for i in range(self.config.tasks_in(split)):
            seed = SEED_OFFSET[split] + i
            game = generate_game(seed, self.config.task_types[i % len(self.config.task_types)], self.config)
            meta = {"task_type": game.task_type, "room": game.room, "object": game.object_type,
                    "receptacle": game.receptacle_type}  # fmt: skip
            tasks.append(AgentTask(ENV_NAME, f"alfworld-{split}-{seed}", split, game.goal, seed, meta))
        return tasks

    def _game_data(self, task: AgentTask) -> dict[str, str]:
        game = generate_game(task.seed, task.meta["task_type"], self.config)
        if game.goal != task.goal:
            raise ValueError(
                f"task {task.task_id} was made with another ALFWorldConfig: its goal is {task.goal!r}, this "
                f"config generates {game.goal!r}; make the tasks with this environment's tasks()"
            )
        grammar = self._grammar.replace("UNKNOWN GOAL", game.goal)
        return {"pddl_domain": self._domain, "grammar": grammar, "pddl_problem": game.problem}

    def _reset(self, task: AgentTask) -> str:
        _load(self._player, self._game_data(task))
        state = self._player.reset()
        self._admissible = list(state["admissible_commands"])
        lines = (line.strip() for line in state.feedback.replace(_BANNER, "").splitlines())
        return "\n".join(line for line in lines if line)

    def _step(self, action: str) -> StepResult:
        state, _, _ = self._player.step(action)
        self._admissible = list(state["admissible_commands"])
        won = bool(state["won"])
        return StepResult(state.feedback.strip(), 1.0 if won else 0.0, won, won, {})

    def admissible_actions(self) -> list[str]:
        if self._admissible is None:
            raise RuntimeError("no game loaded: call reset(task) first")
        return list(self._admissible)

    def walkthrough(self, task: AgentTask) -> list[str]:
        _load(self._planner, self._game_data(task))
        return list(self._planner.reset()["extra.walkthrough"])

    def close(self) -> None:
        # Only ends the episode: unloading the Fast Downward copies (fast_downward.close_lib) crashes the
        # process later (measured: a segfault), so they stay loaded (~34 MB each) until the process exits.
        self._running = False
        self._admissible = None
