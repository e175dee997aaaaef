"""The embedded physics world: a small, deterministic, seeded simulator and the project's demo default.

World. A 1-D track of ``width`` cells, numbered ``0..width-1``, holds 1-6 objects with distinct names
from :data:`OBJECT_NAMES`. Each object has a position ``pos`` (cell), a velocity ``vel`` in ``-2..+2``
(cells per tick) and a temperature ``temp`` (°C, a multiple of 10 in ``0..100``). Objects never collide
with each other and may share a cell, so an action's effect stays on the object it names.

Actions. ``push OBJ left|right`` (vel -1 / +1, clamped to ±2), ``stop OBJ`` (vel = 0), ``heat OBJ`` /
``cool OBJ`` (temp ±10, clamped to 0..100) and ``wait`` (nothing). Each has five paraphrases
(:func:`paraphrases`); episodes pick one at random, so the action text ``z`` varies in wording while the
action it means is fixed. :func:`parse_action` maps any paraphrase back to its :class:`Action`.

Tick. Every action is followed by one tick: each object moves ``pos += vel``. The walls sit half a cell
beyond the end cells; an object that would leave the track is mirrored back across the wall and its
velocity flips sign (pos -1 → 0, -2 → 1; pos width → width-1, width+1 → width-2). Mirroring about the end
cell itself (-1 → 1) would give push left and push right from pos 0, vel 0 the same result (pos 1,
vel +1); about the half-cell wall the tick is one-to-one in the velocity, which y therefore reveals.

State text. ``width=8 | ball: pos=3 vel=+1 temp=20 | cube: pos=6 vel=0 temp=40 | cup: pos=0 vel=-1
temp=90``: one canonical format, objects in the order given (the generator sorts them by name), at most
105 characters for 3 objects: under 100 tokens even at two a word and one per digit, symbol or space.
:func:`parse_state` reads exactly this format, so ``render_state(parse_state(t))`` is ``t`` with
surrounding whitespace stripped.

Ambiguities. As the tick is one-to-one in the velocity, two actions give the same ``y`` exactly when they
leave the same velocities and temperatures: ``stop OBJ`` at vel 0 (≡ ``wait``), a push against vel ±1
(≡ ``stop OBJ``), a push along vel ±2 (clamped, ≡ ``wait``), ``heat`` at 100 °C and ``cool`` at 0 °C
(≡ ``wait``). :func:`equivalent` tells whether two actions are interchangeable on a state. By default
(``identifiable_only``) the generator draws only actions that no other action imitates, so the IDM's
target is recoverable from ``(x, y)``; ``stop`` and ``wait`` are then rarer (6 % each by default), since
an object at rest or at speed 1 hides them.

Source: this project's design (not in the paper): a world small, deterministic and exact enough that
``apply`` scores every predicted action and next state without a model, embedded so that the demo and the
tests need no external environment.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from swirl_wm.records import Episode, Transition

ENV_NAME = "physics"
OBJECT_NAMES = ("ball", "block", "brick", "cube", "cup", "jar", "marble", "tin")
MAX_OBJECTS = 6  # keeps a rendered state under ~200 characters
MIN_WIDTH = 4  # one reflection at |vel| = 2 stays on any track of 2+ cells; 4 leaves room to move
MAX_WIDTH = 20  # positions stay at most two digits
MAX_SPEED = 2  # cells per tick
TEMP_STEP = 10  # °C per heat/cool
MAX_TEMP = 100  # °C; temperatures lie in 0..MAX_TEMP

Kind = Literal["push", "stop", "heat", "cool", "wait"]
Direction = Literal["left", "right"]

_SEP = " | "
_WIDTH_RE = re.compile(r"width=(0|[1-9]\d*)")
_OBJECT_RE = re.compile(r"([a-z]+): pos=(0|[1-9]\d*) vel=(0|[+-][1-9]\d*) temp=(0|[1-9]\d*)")
_OBJECT_FORMAT = "NAME: pos=INT vel=0|+INT|-INT temp=INT"

_TEMPLATES: dict[Kind, tuple[str, ...]] = {
    "push": ("push the {obj} {dir}", "give the {obj} a shove to the {dir}", "nudge the {obj} {dir}wards",
             "kick the {obj} to the {dir}", "tap the {obj} toward the {dir}"),
    "stop": ("stop the {obj}", "halt the {obj}", "bring the {obj} to rest", "make the {obj} stand still",
             "catch the {obj}"),
    "heat": ("heat the {obj}", "warm up the {obj}", "hold the {obj} over the flame",
             "make the {obj} a bit hotter", "put the {obj} on the burner"),
    "cool": ("cool the {obj}", "chill the {obj}", "put the {obj} on ice", "make the {obj} a bit colder",
             "let the {obj} cool down"),
    "wait": ("wait", "do nothing", "let a moment pass", "stay idle for a tick", "just watch"),
}  # fmt: skip
# A word whose start is one of these names the kind ("pushes", "hotter"); other words are ignored.
_KEYWORDS: dict[Kind, tuple[str, ...]] = {
    "push": ("push", "shove", "nudge", "kick", "tap", "move", "roll"),
    "stop": ("stop", "halt", "rest", "still", "catch"),
    "heat": ("heat", "warm", "hot", "flame", "burner"),
    "cool": ("cool", "chill", "cold", "ice", "fridge"),
    "wait": ("wait", "nothing", "idle", "pass", "watch"),
}
_DIRECTIONS: tuple[Direction, ...] = ("left", "right")


@dataclass(frozen=True)
class PhysicsObject:
    """One object on the track: ``pos`` in cells, ``vel`` in cells per tick, ``temp`` in °C."""

    name: str
    pos: int
    vel: int
    temp: int


@dataclass(frozen=True)
class PhysicsState:
    """The whole world: the track ``width`` (cells) and its objects, in rendering order."""

    width: int
    objects: tuple[PhysicsObject, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The objects' names, in rendering order."""
        return tuple(o.name for o in self.objects)


@dataclass(frozen=True)
class Action:
    """An underlying action; ``str(action)`` is its canonical form, e.g. ``"push ball right"``."""

    kind: Kind
    obj: str | None = None
    direction: Direction | None = None

    def __post_init__(self) -> None:
        if (
            self.kind not in _TEMPLATES
            or (self.obj is None) != (self.kind == "wait")
            or (self.direction is None) != (self.kind != "push")
            or self.direction not in (None, *_DIRECTIONS)
        ):
            raise ValueError(
                f"invalid action {self!r}: kind is one of {tuple(_TEMPLATES)}; 'wait' takes no object, "
                "every other kind one; 'push' takes a direction (left or right), no other kind does"
            )

    def __str__(self) -> str:
        return " ".join(part for part in (self.kind, self.obj, self.direction) if part is not None)


class PhysicsWorldConfig(BaseModel):
    """Size of the physics world and of the data set drawn from it.

    Source: this project's design (module docstring).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_objects: int = Field(
        default=3, ge=1, le=MAX_OBJECTS, description="Objects on the track, names drawn from OBJECT_NAMES."
    )
    width: int = Field(default=8, ge=MIN_WIDTH, le=MAX_WIDTH, description="Cells on the track (positions 0..width-1).")
    episode_length: int = Field(default=6, ge=1, le=1000, description="Transitions per episode.")
    n_episodes: int = Field(default=200, ge=1, le=1_000_000, description="Episodes to generate.")
    paraphrased: bool = Field(
        default=True,
        description="Word each action with one of its five paraphrases, drawn at random; False writes the "
        "canonical form ('push ball right', the one parse_action and meta.action use), so that the IDM's target "
        "wording is identifiable from (x, y). The states are the same either way.",
    )
    identifiable_only: bool = Field(
        default=True,
        description="Draw only actions that no other action imitates on the current state, so z is "
        "recoverable from (x, y); False keeps the world's ambiguities (module docstring).",
    )


def render_state(state: PhysicsState) -> str:
    """Render a state in the canonical text format (module docstring).

    Args:
        state: the state to render.

    Returns:
        e.g. ``"width=8 | ball: pos=3 vel=+1 temp=20 | cup: pos=0 vel=0 temp=90"``.

    Source: this project's design (module docstring).
    """
    parts = [f"width={state.width}"]
    for o in state.objects:
        vel = f"{o.vel:+d}" if o.vel else "0"
        parts.append(f"{o.name}: pos={o.pos} vel={vel} temp={o.temp}")
    return _SEP.join(parts)


def parse_state(text: str) -> PhysicsState:
    """Read a state rendered by :func:`render_state`; surrounding whitespace is ignored.

    Args:
        text: the rendered state.

    Returns:
        The state, objects in the order the text lists them.

    Raises:
        ValueError: when the text is not in the canonical format or a value is out of range (width not in
            MIN_WIDTH..MAX_WIDTH, pos off the track, |vel| > MAX_SPEED, temp not a multiple of TEMP_STEP
            in 0..MAX_TEMP, unknown or repeated name, no objects or more than MAX_OBJECTS); the message
            quotes the text and names the segment.

    Source: this project's design (module docstring).
    """
    first, *segments = text.strip().split(_SEP)
    match = _WIDTH_RE.fullmatch(first)
    if match is None or not MIN_WIDTH <= int(match[1]) <= MAX_WIDTH:
        raise _bad_state(text, f"first segment {first!r} is not 'width=N', N in {MIN_WIDTH}..{MAX_WIDTH}")
    width = int(match[1])
    if not 1 <= len(segments) <= MAX_OBJECTS:
        raise _bad_state(text, f"{len(segments)} objects; expected 1..{MAX_OBJECTS}, separated by {_SEP!r}")
    objects: list[PhysicsObject] = []
    for i, segment in enumerate(segments, start=1):
        match = _OBJECT_RE.fullmatch(segment)
        if match is None:
            raise _bad_state(text, f"segment {i} {segment!r} is not {_OBJECT_FORMAT!r}")
        obj = PhysicsObject(match[1], int(match[2]), int(match[3]), int(match[4]))
        if obj.name not in OBJECT_NAMES or obj.name in (o.name for o in objects):
            raise _bad_state(text, f"segment {i}: name {obj.name!r} is repeated or not one of {OBJECT_NAMES}")
        if not (0 <= obj.pos < width and abs(obj.vel) <= MAX_SPEED and 0 <= obj.temp <= MAX_TEMP):
            raise _bad_state(
                text, f"segment {i}: needs pos in 0..{width - 1}, |vel| <= {MAX_SPEED}, temp in 0..{MAX_TEMP}"
            )
        if obj.temp % TEMP_STEP:
            raise _bad_state(text, f"segment {i}: temp {obj.temp} is not a multiple of {TEMP_STEP}")
        objects.append(obj)
    return PhysicsState(width, tuple(objects))


def _bad_state(text: str, why: str) -> ValueError:
    return ValueError(f"malformed physics state {text!r}: {why}")


def state_fields(text: str) -> dict[str, str]:
    """Flatten a rendered state into ``{"width": "8", "ball.pos": "3", "ball.vel": "+1", ...}``.

    Partial credit for model output: each ``|``-separated segment (spaces around ``|`` optional) that is
    well formed contributes its fields, malformed ones are skipped, and values are not range-checked. When
    a key occurs twice the first occurrence wins. Never raises.

    Args:
        text: a rendered state, possibly garbled.

    Returns:
        The fields of the well-formed segments, as they are written in the text.

    Source: this project's design (module docstring).
    """
    fields: dict[str, str] = {}
    for segment in re.split(r"\s*\|\s*", text.strip()):
        if match := _WIDTH_RE.fullmatch(segment):
            fields.setdefault("width", match[1])
        elif match := _OBJECT_RE.fullmatch(segment):
            for key, value in zip(("pos", "vel", "temp"), match.groups()[1:], strict=True):
                fields.setdefault(f"{match[1]}.{key}", value)
    return fields


def all_actions(names: Collection[str]) -> tuple[Action, ...]:
    """Every underlying action on objects ``names``: pushes, then stop/heat/cool, then ``wait``.

    Source: this project's design (module docstring).
    """
    pushes = (Action("push", n, d) for n in names for d in _DIRECTIONS)
    others = (Action(kind, n) for n in names for kind in ("stop", "heat", "cool"))
    return (*pushes, *others, Action("wait"))


def action_set(x: str) -> list[str]:
    """The canonical text of every action on the objects of state ``x`` (the finite action set that the
    normalised Phase I reward sums over; ``data.physics.paraphrased: false`` runs use these strings).

    Raises:
        ValueError: ``x`` is not a physics state.
    """
    return [str(a) for a in all_actions(parse_state(x).names)]


def paraphrases(action: Action) -> tuple[str, ...]:
    """The natural-language phrasings the generator uses for ``action`` (five each).

    Source: this project's design (module docstring).
    """
    return tuple(t.format(obj=action.obj, dir=action.direction) for t in _TEMPLATES[action.kind])


def parse_action(text: str, names: Collection[str]) -> Action:
    """Map an action text (any paraphrase, or the canonical form) to its underlying action.

    Case, punctuation, articles and unknown words are ignored; a word names a kind when it starts with
    one of its keywords ("hotter" → heat), and a direction word alone implies a push ("ball goes left").

    Args:
        text: the action text, e.g. ``"Give the ball a shove to the right!"``.
        names: the names of the objects in the state the action applies to.

    Returns:
        The action, e.g. ``Action("push", "ball", "right")``.

    Raises:
        ValueError: when the text names no kind or several, no object or several, an object not in
            ``names``, or a push without exactly one direction; the message quotes the text.

    Source: this project's design (module docstring).
    """
    words = re.findall(r"[a-z]+", text.lower())
    kinds = {kind for w in words for kind, keys in _KEYWORDS.items() if w.startswith(keys)}
    directions = {d for w in words for d in _DIRECTIONS if w.startswith(d)}
    if directions:
        kinds.add("push")
    if len(kinds) != 1:
        raise ValueError(f"cannot parse action {text!r}: it names {len(kinds)} of push/stop/heat/cool/wait")
    kind = kinds.pop()
    if kind == "wait":
        return Action("wait")
    objects = {w for w in words if w in names or w in OBJECT_NAMES}
    if len(objects) != 1 or not objects <= set(names):
        raise ValueError(f"cannot parse action {text!r}: it must name exactly one object of {sorted(names)}")
    obj = objects.pop()
    if kind != "push":
        return Action(kind, obj)
    if len(directions) != 1:
        raise ValueError(f"cannot parse action {text!r}: a push needs exactly one direction, left or right")
    return Action("push", obj, directions.pop())


def step(state: PhysicsState, action: Action) -> PhysicsState:
    """Execute ``action`` on its object, then tick every object once (module docstring).

    Raises:
        ValueError: when the action names an object that is not in the state.

    Source: this project's design (module docstring).
    """
    if action.obj is not None and action.obj not in state.names:
        raise ValueError(f"action {str(action)!r} names no object of the state (objects: {state.names})")
    acted = (_act(o, action) if o.name == action.obj else o for o in state.objects)
    return replace(state, objects=tuple(_tick(o, state.width) for o in acted))


def _act(obj: PhysicsObject, action: Action) -> PhysicsObject:
    if action.kind == "push":
        vel = obj.vel + (1 if action.direction == "right" else -1)
        return replace(obj, vel=max(-MAX_SPEED, min(MAX_SPEED, vel)))
    if action.kind == "stop":
        return replace(obj, vel=0)
    if action.kind == "heat":
        return replace(obj, temp=min(MAX_TEMP, obj.temp + TEMP_STEP))
    assert action.kind == "cool", action  # "wait" acts on no object
    return replace(obj, temp=max(0, obj.temp - TEMP_STEP))


def _tick(obj: PhysicsObject, width: int) -> PhysicsObject:
    pos, vel = obj.pos + obj.vel, obj.vel
    if pos < 0:  # mirror across the wall at -0.5
        pos, vel = -pos - 1, -vel
    elif pos >= width:  # mirror across the wall at width - 0.5
        pos, vel = 2 * width - 1 - pos, -vel
    return replace(obj, pos=pos, vel=vel)


def apply(x: str, z: str) -> str:
    """Execute action text ``z`` on rendered state ``x`` and render the next state.

    Grounded accuracy is ``apply(x, ẑ) == y`` for a predicted action ``ẑ``.

    Args:
        x: a rendered state.
        z: an action text (any paraphrase).

    Returns:
        The rendered next state.

    Raises:
        ValueError: when ``x`` or ``z`` cannot be parsed (see :func:`parse_state`, :func:`parse_action`).

    Source: this project's design (module docstring).
    """
    state = parse_state(x)
    return render_state(step(state, parse_action(z, state.names)))


def equivalent(state: PhysicsState, a: Action, b: Action) -> bool:
    """Whether actions ``a`` and ``b`` lead from ``state`` to the same next state (module docstring).

    Source: this project's design (module docstring).
    """
    return step(state, a) == step(state, b)


def generate_episodes(config: PhysicsWorldConfig, seed: int) -> list[Episode]:
    """Draw ``config.n_episodes`` random episodes of ``config.episode_length`` transitions.

    Episode ``i`` has id ``physics-{seed}-{i:05d}`` and its own random stream, so it does not depend on
    ``n_episodes``. Initial states: objects drawn without replacement and listed alphabetically, positions
    uniform on the track (several may share a cell), vel uniform in -1..1, temp uniform in 10..90 °C.
    Each step draws a kind uniformly among those with an action left (only identifiable actions are left
    when ``config.identifiable_only``), then one of its actions and one of that action's paraphrases
    uniformly. Transitions carry ``meta={"action": canonical form}``.

    Args:
        config: world size and data set size.
        seed: the random seed; equal seeds give equal episodes.

    Returns:
        The episodes, in id order.

    Source: this project's design (module docstring).
    """
    return [_episode(config, seed, i) for i in range(config.n_episodes)]


def _episode(config: PhysicsWorldConfig, seed: int, index: int) -> Episode:
    rng = random.Random(f"{seed}-{index}")  # str seeds hash with SHA-512: stable across runs
    names = sorted(rng.sample(OBJECT_NAMES, config.n_objects))
    state = PhysicsState(
        config.width,
        tuple(
            PhysicsObject(n, rng.randrange(config.width), rng.randint(-1, 1), TEMP_STEP * rng.randint(1, 9))
            for n in names
        ),
    )
    episode_id = f"{ENV_NAME}-{seed}-{index:05d}"
    transitions: list[Transition] = []
    for t in range(config.episode_length):
        outcomes = {a: step(state, a) for a in all_actions(state.names)}
        if config.identifiable_only:
            # Never empty: heat below MAX_TEMP, or else cool, is the only action changing that temperature.
            counts = Counter(outcomes.values())
            outcomes = {a: s for a, s in outcomes.items() if counts[s] == 1}
        # Kind first: drawn uniformly over actions, the often-imitated stop and wait made 3 % and 2 % of
        # the default data set (seed 0); kind first, 6 % each.
        kind = rng.choice(list(dict.fromkeys(a.kind for a in outcomes)))
        action = rng.choice([a for a in outcomes if a.kind == kind])
        x, y = render_state(state), render_state(outcomes[action])
        z = rng.choice(paraphrases(action))  # drawn either way, so that both settings give the same states
        if not config.paraphrased:
            z = str(action)
        transitions.append(Transition(x, z, y, episode_id, t, ENV_NAME, {"action": str(action)}))
        state = outcomes[action]
    return Episode(episode_id, ENV_NAME, tuple(transitions))
