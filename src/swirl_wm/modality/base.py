"""The interface of a state modality (:mod:`swirl_wm.modality`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from swirl_wm.records import Role


class StateModality(Protocol):
    """What a kind of state decides; every state is a ``str`` (an image as inline codes, for example)."""

    name: str
    native: bool  # states are the source's own text, so the environment's hooks (fields, apply) read them

    def check(self, state: str) -> str | None:
        """Why ``state`` is not a state of this modality, or ``None`` when it is."""
        ...

    def truncate(self, state: str, max_chars: int) -> tuple[str, bool]:
        """``state`` within ``max_chars`` characters, and whether it was cut.

        Raises:
            ValueError: ``max_chars`` too small for this modality.
        """
        ...

    def diff(self, x: str, y: str) -> str:
        """The changes from ``x`` to ``y`` as the IDM's prompt lists them (``model.idm_diff``)."""
        ...

    def added_tokens(self) -> tuple[str, ...]:
        """Tokens the base model's vocabulary must gain (none for text)."""
        ...

    def suppressed_tokens(self, vocabulary: Mapping[str, int], role: Role) -> list[int]:
        """Token ids ``role`` must never generate (the FWM writes states, the IDM actions:
        :attr:`~swirl_wm.records.Role.writes_state`), given the tokenizer's ``{token: id}``; empty =
        unconstrained."""
        ...

    def metrics(self, predictions: Sequence[str], references: Sequence[str],
                priors: Sequence[str] | None = None) -> dict[str, float]:
        """Similarity of predicted to true states: ``{metric: value}`` (keys without a role prefix). Given the
        prior states ``priors`` (one x per reference), a modality may add metrics of what the transitions
        changed (the image modality's changed-cell accuracy); others ignore them.

        Raises:
            ValueError: the lists differ in length.
        """
        ...
