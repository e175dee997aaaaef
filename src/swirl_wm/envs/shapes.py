"""The shapes world: small RGB scenes with a ground-truth renderer, the project's visual environment.

World. An ``grid × grid`` board of cells (default 8 × 8) holds 1–4 objects, each a shape (``square``,
``circle``, ``triangle``) of a colour (``red``, ``green``, ``blue``, ``yellow``) in its own cell; no two
objects share a cell or the same colour *and* shape, so "the red square" always names one object.

Actions. ``move OBJ left|right|up|down`` (one cell; ``up`` is towards row 0) and ``paint OBJ COLOUR``, with
OBJ written ``<colour> <shape>``. Each has paraphrases (:func:`paraphrases`); :func:`parse_action` maps any
of them back to its :class:`Action`. A move into a wall or an occupied cell, and a paint to the object's
own colour or to one that another object of its shape has, would leave the scene unchanged or make the
names ambiguous: :func:`effective_actions` lists the others, the only ones episodes draw by default, so
every action is identifiable from (x, y).

States. A scene's text is canonical, the board size then the objects sorted by (row, column): ``grid=8 |
blue circle (5,1); red square (2,3)`` with ``(column,row)``; :func:`parse_scene` reads exactly that, and
:func:`state_fields` gives each occupied cell's object (field accuracy). With ``data.modality: text`` the
SWIRL loop trains on these texts; with ``data.modality: image`` on the frames :func:`render_state` draws, each
written as its image codes (:mod:`swirl_wm.modality.image`). :func:`render` draws the scene as a
``(H, W, 3)`` uint8 image (``cell_px`` pixels a cell, black background), the picture an image state is
made of; ``apply(x, z)`` on the scene text is exact, so both directions of a world model can be checked
on the pictures (render ``apply(x, ẑ)`` and compare). :func:`read_scene` is the renderer's inverse, a pixel
reader: each cell's object from its pixels, so a predicted frame is scored on the scene's objects
(:func:`frame_fields`, the registry's ``read_frame`` hook: field accuracy of image states).

Source: this project's design (not in the paper): a visual world whose frames are drawn from exact scene
text, so image world models can be scored on the scene as well as on the pixels.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from swirl_wm.records import Episode, Transition

ENV_NAME = "shapes"
SHAPES = ("square", "circle", "triangle")
COLOURS = {"red": (230, 40, 40), "green": (40, 200, 60), "blue": (50, 90, 240), "yellow": (240, 220, 40)}
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}

Kind = Literal["move", "paint"]


@dataclass(frozen=True)
class Thing:
    """One object: its colour, shape and cell ``(col, row)``."""

    colour: str
    shape: str
    col: int
    row: int

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """A board of ``grid × grid`` cells and its objects, sorted by (row, column)."""

    grid: int
    things: tuple[Thing, ...]


@dataclass(frozen=True)
class Action:
    """``move`` (``arg`` a direction) or ``paint`` (``arg`` a colour) of the object named ``target``."""

    kind: Kind
    target: str
    arg: str

    @property
    def text(self) -> str:
        return f"{self.kind} {self.target} {self.arg}"


class ShapesWorldConfig(BaseModel):
    """Episode generation for the shapes world."""

    model_config = ConfigDict(extra="forbid")

    grid: int = Field(8, ge=3, le=16, description="cells per side of the board")
    cell_px: int = Field(4, ge=4, le=16, description=(
        "pixels per cell side in the rendered image; at least 4, since at 3 a circle covers its whole cell as a "
        "square does and the frame no longer tells them apart (read_scene)"))
    n_objects: int = Field(2, ge=1, le=4)
    episode_length: int = Field(5, ge=1)
    n_episodes: int = Field(100, ge=1)
    paraphrased: bool = Field(False, description="draw each action's wording from its paraphrases")
    identifiable_only: bool = Field(True, description="draw only actions that change the scene")


_THING = re.compile(r"(\w+) (\w+) \((\d+),(\d+)\)")


def render_scene(scene: Scene) -> str:
    """The canonical text of a scene (see the module docstring)."""
    return f"grid={scene.grid} | " + "; ".join(f"{t.name} ({t.col},{t.row})" for t in scene.things)


_GRID = re.compile(r"grid=(\d+) \| (.+)")


def parse_scene(text: str) -> Scene:
    """Read a scene's canonical text.

    Raises:
        ValueError: not in the canonical format, an unknown colour or shape, a cell off the board, two
            objects in a cell or with one name, or objects not in (row, column) order.
    """
    head = _GRID.fullmatch(text.strip())
    if not head:
        raise ValueError(f"not a shapes-world scene: {text[:40]!r} (expected 'grid=8 | red square (2,3); ...')")
    grid, things = int(head.group(1)), []
    for part in head.group(2).split("; "):
        match = _THING.fullmatch(part)
        if not match:
            raise ValueError(f"not a shapes-world object: {part!r} (expected 'red square (2,3)')")
        colour, shape, col, row = match.group(1), match.group(2), int(match.group(3)), int(match.group(4))
        if colour not in COLOURS or shape not in SHAPES:
            raise ValueError(f"unknown colour or shape in {part!r}")
        if not (0 <= col < grid and 0 <= row < grid):
            raise ValueError(f"{part!r} is off the {grid}x{grid} board")
        things.append(Thing(colour, shape, col, row))
    if len({(t.col, t.row) for t in things}) < len(things) or len({t.name for t in things}) < len(things):
        raise ValueError(f"two objects share a cell or a name in {text!r}")
    if things != sorted(things, key=lambda t: (t.row, t.col)):
        raise ValueError(f"objects not in (row, column) order in {text!r}")
    return Scene(grid, tuple(things))


def _mask(shape: str, px: int) -> np.ndarray:
    """The ``(px, px)`` boolean footprint of a shape in its cell."""
    rows, cols = np.mgrid[0:px, 0:px]
    centre = (px - 1) / 2
    if shape == "square":
        return np.ones((px, px), bool)
    if shape == "circle":
        return (rows - centre) ** 2 + (cols - centre) ** 2 <= (px / 2) ** 2 - 0.25
    return np.abs(cols - centre) <= (rows + 1) / 2  # triangle: apex at the top, base at the bottom


def render(scene: Scene, cell_px: int = 4) -> np.ndarray:
    """The scene as an image: ``(grid · cell_px, grid · cell_px, 3)`` uint8 RGB, black background."""
    image = np.zeros((scene.grid * cell_px, scene.grid * cell_px, 3), np.uint8)
    for t in scene.things:
        cell = image[t.row * cell_px:(t.row + 1) * cell_px, t.col * cell_px:(t.col + 1) * cell_px]
        cell[_mask(t.shape, cell_px)] = COLOURS[t.colour]
    return image


def render_state(text: str, config: ShapesWorldConfig) -> np.ndarray:
    """The scene text ``text`` drawn as :func:`render` does with ``config.cell_px`` (the registry's ``render``
    hook: ``data.modality: image`` trains its tokenizer on these frames).

    Raises:
        ValueError: as :func:`parse_scene`.
    """
    return render(parse_scene(text), config.cell_px)


# A pixel belongs to an object when its brightest channel passes this: the background is black (0) and every
# colour of COLOURS has a channel of at least 200, so a decoded frame's blur stays on its side.
_FOREGROUND = 100


def read_scene(frame: np.ndarray, grid: int) -> Scene:
    """The scene drawn in ``frame`` (``(grid · cell_px, grid · cell_px, 3)`` uint8, cell_px ≥ 4), read cell by
    cell: a cell holds an object when at least half as many pixels as the smallest shape covers are
    foreground (brightest channel > 100); its shape is the footprint nearest the foreground (fewest pixels
    differing), its colour the one of :data:`COLOURS` nearest the foreground's mean (Euclidean, RGB). The
    inverse of :func:`render` on every scene (tested on random scenes); on a decoded or predicted frame, the
    nearest scene. Names are not checked: a wrong prediction may show two objects of one name.

    Raises:
        ValueError: a frame that is not ``grid`` whole cells of at least 4 pixels a side.

    Source: this project (the object-level score of an image world model on the shapes world).
    """
    px = frame.shape[0] // grid if frame.ndim == 3 else 0
    if frame.ndim != 3 or frame.shape != (grid * px, grid * px, 3) or px < 4:
        raise ValueError(f"a {frame.shape} frame is not a {grid}x{grid} board of cells of at least 4 pixels")
    masks = {shape: _mask(shape, px) for shape in SHAPES}
    least = min(int(m.sum()) for m in masks.values())
    palette = np.array(list(COLOURS.values()), float)
    things = []
    for row in range(grid):
        for col in range(grid):
            cell = frame[row * px:(row + 1) * px, col * px:(col + 1) * px].astype(float)
            lit = cell.max(axis=-1) > _FOREGROUND
            if 2 * lit.sum() < least:
                continue
            shape = min(SHAPES, key=lambda s: int((masks[s] != lit).sum()))
            colour = list(COLOURS)[int(np.argmin(((palette - cell[lit].mean(axis=0)) ** 2).sum(axis=1)))]
            things.append(Thing(colour, shape, col, row))
    return Scene(grid, tuple(things))


def frame_fields(frame: np.ndarray, reference: str) -> dict[str, str]:
    """The fields of :func:`state_fields` of the scene drawn in ``frame`` (:func:`read_scene`), read on the
    board of the scene text ``reference`` (the true state, which gives the number of cells): the registry's
    ``read_frame`` hook, by which an image world model's decoded prediction is scored on the objects.

    Raises:
        ValueError: as :func:`parse_scene` for ``reference``, as :func:`read_scene` for ``frame``.
    """
    scene = read_scene(frame, parse_scene(reference).grid)
    return {"grid": str(scene.grid)} | {f"cell({t.col},{t.row})": t.name for t in scene.things}


def paraphrases(action: Action) -> tuple[str, ...]:
    """The wordings of ``action``; the first is canonical (:attr:`Action.text`)."""
    obj, arg = action.target, action.arg
    if action.kind == "move":
        return (action.text, f"move the {obj} {arg}", f"push the {obj} one cell {arg}", f"shift the {obj} {arg}",
                f"slide the {obj} to the {arg}")
    return (action.text, f"paint the {obj} {arg}", f"colour the {obj} {arg}", f"make the {obj} {arg}")


_OBJ = rf"(?:the )?((?:{'|'.join(COLOURS)}) (?:{'|'.join(SHAPES)}))"
_MOVE = re.compile(rf"(?:move|push|shift|slide) {_OBJ}(?: one cell)?(?: to the)? ({'|'.join(DIRECTIONS)})")
_PAINT = re.compile(rf"(?:paint|colour|make) {_OBJ} ({'|'.join(COLOURS)})")


def parse_action(text: str) -> Action:
    """Any paraphrase of an action (case and surrounding spaces ignored) → its :class:`Action`.

    Raises:
        ValueError: no action's wording.
    """
    words = " ".join(text.lower().split())
    if match := _MOVE.fullmatch(words):
        return Action("move", match.group(1), match.group(2))
    if match := _PAINT.fullmatch(words):
        return Action("paint", match.group(1), match.group(2))
    raise ValueError(f"not a shapes-world action: {text!r}")


def step(scene: Scene, action: Action) -> Scene:
    """The scene after ``action``; a move into a wall or an occupied cell leaves it as it is.

    Raises:
        ValueError: no object of that name, or a paint that would give two objects one name.
    """
    target = next((t for t in scene.things if t.name == action.target), None)
    if target is None:
        raise ValueError(f"no {action.target} in the scene")
    if action.kind == "move":
        dc, dr = DIRECTIONS[action.arg]
        col, row = target.col + dc, target.row + dr
        free = all((t.col, t.row) != (col, row) for t in scene.things)
        moved = replace(target, col=col, row=row) if 0 <= col < scene.grid and 0 <= row < scene.grid and free \
            else target
    else:
        moved = replace(target, colour=action.arg)
        if any(t is not target and t.name == moved.name for t in scene.things):
            raise ValueError(f"painting the {target.name} {action.arg} would give two objects one name")
    things = sorted((moved if t is target else t for t in scene.things), key=lambda t: (t.row, t.col))
    return Scene(scene.grid, tuple(things))


def apply(x: str, z: str) -> str:
    """``y`` for action text ``z`` (any paraphrase) in the scene text ``x``.

    Raises:
        ValueError: ``x`` or ``z`` cannot be parsed, or ``z`` cannot be done in ``x`` (see :func:`step`).
    """
    return render_scene(step(parse_scene(x), parse_action(z)))


def state_fields(text: str) -> dict[str, str]:
    """``{"cell(col,row)": "<colour> <shape>"}`` for each occupied cell (and ``grid``).

    Raises:
        ValueError: as :func:`parse_scene`.
    """
    scene = parse_scene(text)
    return {"grid": str(scene.grid)} | {f"cell({t.col},{t.row})": t.name for t in scene.things}


def effective_actions(scene: Scene) -> list[Action]:
    """The actions that change ``scene`` and keep its names unique (each identifiable from (x, y))."""
    out = []
    for t in scene.things:
        for direction in DIRECTIONS:
            action = Action("move", t.name, direction)
            if step(scene, action) != scene:
                out.append(action)
        taken = {u.colour for u in scene.things if u.shape == t.shape}
        out += [Action("paint", t.name, colour) for colour in COLOURS if colour not in taken]
    return out


def random_scene(rng: random.Random, grid: int, n_objects: int) -> Scene:
    """``n_objects`` objects with distinct names in distinct cells, drawn by ``rng``."""
    names = rng.sample([(c, s) for c in COLOURS for s in SHAPES], n_objects)
    cells = rng.sample([(c, r) for c in range(grid) for r in range(grid)], n_objects)
    things = sorted((Thing(c, s, col, row) for (c, s), (col, row) in zip(names, cells, strict=True)),
                    key=lambda t: (t.row, t.col))
    return Scene(grid, tuple(things))


def generate_episodes(config: ShapesWorldConfig, seed: int) -> list[Episode]:
    """``config.n_episodes`` episodes of ``episode_length`` transitions with text scene states, seeded."""
    rng = random.Random(seed)
    episodes = []
    for index in range(config.n_episodes):
        scene = random_scene(rng, config.grid, config.n_objects)
        transitions = []
        for t in range(config.episode_length):
            candidates = effective_actions(scene) if config.identifiable_only else [
                Action(k, thing.name, a) for thing in scene.things
                for k, args in (("move", DIRECTIONS), ("paint", COLOURS)) for a in args
                if not (k == "paint" and any(u.name == f"{a} {thing.shape}" and u is not thing
                                             for u in scene.things))]
            action = rng.choice(candidates)
            wording = rng.choice(paraphrases(action)) if config.paraphrased else action.text
            after = step(scene, action)
            transitions.append(Transition(x=render_scene(scene), z=wording, y=render_scene(after),
                                          episode_id=f"shapes-{seed}-{index}", step=t, env=ENV_NAME))
            scene = after
        episodes.append(Episode(f"shapes-{seed}-{index}", ENV_NAME, tuple(transitions)))
    return episodes
