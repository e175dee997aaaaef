"""Typed, frozen records that carry data between the stages of the pipeline.

Data flows one way: environment → :class:`Transition` / :class:`Episode` → datasets → roles → training
phases → evaluation → report.

Notation (SWIRL, arXiv:2602.06130 §3): ``x`` prior state, ``z`` action (free text; the *latent action*
when it is not observed), ``y`` next state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Transition:
    """One transition ``(x, z, y)`` of an episode.

    Attributes:
        x: the prior state, rendered as text (non-empty).
        z: the action that caused the transition, or ``None`` for state-only (unlabelled) data.
        y: the next state, rendered as text (non-empty).
        episode_id: the episode this transition belongs to; splits are made by episode.
        step: 0-based position of the transition inside its episode.
        env: name of the environment that produced it (``"physics"``, ``"scienceworld"``, ...); used to
            pick environment-specific metrics such as grounded accuracy.
        meta: free-form, JSON-serialisable extras (task name, variation, ...).
    """

    x: str
    z: str | None
    y: str
    episode_id: str = ""
    step: int = 0
    env: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        """True when the action ``z`` is known."""
        return self.z is not None

    def without_action(self) -> Transition:
        """Return a copy with ``z`` removed (state-only data, SWIRL §3.1)."""
        return replace(self, z=None)


SOURCE_KEYS = {"x": "x_source", "y": "y_source"}  # meta keys of a state as its source wrote it (image states)


def source_state(t: Transition, field: str) -> str:
    """The state ``field`` (``"x"`` or ``"y"``) of ``t`` as its source wrote it: the scene text behind an image
    state (``meta["x_source"]``, ``meta["y_source"]``, :mod:`swirl_wm.recipes.frames`), else the state itself.
    The environment's exact checks (``apply``) read these."""
    return t.meta.get(SOURCE_KEYS[field], getattr(t, field))


@dataclass(frozen=True)
class Episode:
    """An ordered sequence of transitions from one run of an environment.

    Invariant: ``transitions[i].y`` is the state the environment was in before ``transitions[i+1]``; the
    two texts are normally equal but renderers that summarise may differ.
    """

    episode_id: str
    env: str
    transitions: tuple[Transition, ...]

    def __len__(self) -> int:
        return len(self.transitions)
