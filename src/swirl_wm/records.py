"""Typed, frozen records that carry data between the stages of the pipeline.

Data flows one way: environment → :class:`Transition` / :class:`Episode` → datasets → :class:`Role` → training
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


# meta keys of a state as the environment or file wrote it, before the data stage encoded it (image states)
ORIGINAL_KEYS = {"x": "x_source", "y": "y_source"}


def original_state(t: Transition, field: str) -> str:
    """The state ``field`` (``"x"`` or ``"y"``) of ``t`` as the environment or file wrote it: the scene text
    behind an image state (``meta["x_source"]``, ``meta["y_source"]``, :mod:`swirl_wm.recipes.frames`), else
    the state itself. The environment's exact checks (``apply``) read these."""
    return t.meta.get(ORIGINAL_KEYS[field], getattr(t, field))


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


@dataclass(frozen=True, repr=False)
class Role:
    """One of SWIRL's two models, and what follows from it (SWIRL §3.1): the forward world model
    :data:`FWM`, ``P_θ(y | x, z)``, and the inverse dynamics model :data:`IDM`, ``Q_φ(z | x, y)``. Code asks
    the role what it reads, writes and trains with instead of comparing names; only :data:`FWM` and
    :data:`IDM` exist (copies and pickles come back as them).

    Attributes:
        name: ``"fwm"`` or ``"idm"``, the role as data: the prefix of its metric keys (``fwm/rouge_l``), its
            checkpoint folders, its keys in JSON files and its config fields (``eval.select_fwm_by``). Where a
            name comes in, :meth:`of` turns it into the role.
        conditions_on: the :class:`Transition` field the role reads besides ``x``: ``"z"`` or ``"y"``.
        writes: the :class:`Transition` field the role writes: ``"y"`` or ``"z"``.
        phase: the SWIRL phase that trains it with GRPO, the other role frozen (1: SWIRL §3.3; 2: §3.4).
        header: the last line of its plain-text prompt, before the completion.
        instruction: its system message. Short on purpose: every prompt token costs a forward pass in
            generation, scoring and training, and SmolLM2's template would otherwise insert its own ~20-token
            default system message.
        budget: the name of its generation budget (tokens) in ``EvalConfig`` and ``WorldModel``.
    """

    name: str
    conditions_on: str
    writes: str
    phase: int
    header: str
    instruction: str
    budget: str

    def __repr__(self) -> str:
        return self.name.upper()

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return Role.of, (self.name,)

    @classmethod
    def of(cls, role: Role | str) -> Role:
        """The role itself, or the role named ``role`` (``"fwm"`` / ``"idm"``).

        Raises:
            ValueError: no role has that name.
        """
        if isinstance(role, Role):
            return role
        for known in ROLES:
            if known.name == role:
                return known
        raise ValueError(f"unknown role {role!r}; expected one of {tuple(r.name for r in ROLES)}")

    @property
    def other(self) -> Role:
        """The opposite role: the one frozen while this one trains, whose likelihood rewards it."""
        return IDM if self == FWM else FWM

    @property
    def writes_state(self) -> bool:
        """True for the FWM, whose completions are states (the state modality's), False for the IDM's actions."""
        return self.writes == "y"

    def given(self, t: Transition) -> str | None:
        """What the role reads of ``t`` besides ``x``: ``z`` for the FWM (``None`` when ``t`` is unlabelled),
        ``y`` for the IDM."""
        return getattr(t, self.conditions_on)

    def written(self, t: Transition) -> str | None:
        """What the role writes for ``t``: ``y`` for the FWM, ``z`` for the IDM (``None`` when unlabelled)."""
        return getattr(t, self.writes)

    def phase_config(self, swirl: Any) -> Any:
        """The config of the GRPO phase that trains the role, in the run config's ``swirl`` section
        (``SwirlConfig``): ``swirl.phase1`` for the FWM, ``swirl.phase2`` for the IDM (a ``GRPOPhaseConfig``;
        typed loosely because the config layer sits above this one)."""
        return getattr(swirl, f"phase{self.phase}")

    def max_new_tokens(self, budgets: Any) -> int:
        """The role's generation budget in ``budgets``, an ``EvalConfig`` or a ``WorldModel``:
        ``max_new_tokens_state`` for the FWM, ``max_new_tokens_action`` for the IDM."""
        return getattr(budgets, self.budget)

    def select_by(self, eval_config: Any) -> str:
        """The validation metric that picks the role's best phase, as the ``EvalConfig`` sets it
        (``eval.select_fwm_by`` / ``eval.select_idm_by``; ``"auto"`` = the environment's headline metric)."""
        return getattr(eval_config, f"select_{self.name}_by")


FWM = Role("fwm", conditions_on="z", writes="y", phase=1, header="Next state:",
           instruction="Predict the next state after the action.", budget="max_new_tokens_state")
IDM = Role("idm", conditions_on="y", writes="z", phase=2, header="Action:",
           instruction="Name the action that changed the state.", budget="max_new_tokens_action")
ROLES: tuple[Role, Role] = (FWM, IDM)  # in the order the method trains them
