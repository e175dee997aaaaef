"""Seeded, episode-level splits: labelled SFT part, unlabelled SWIRL part, validation and test.

SWIRL §4 (text environments): half of the training episodes keep their actions for the SFT warm start,
the other half are used by SWIRL with the actions removed. Validation (model selection) and test
(reporting) episodes are held out from every training step. Splitting by episode, never by transition,
keeps near-duplicate consecutive states of one episode on one side.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swirl_wm.data.jsonl import read_transitions, write_transitions
from swirl_wm.records import Episode, Transition


class SplitConfig(BaseModel):
    """Fractions of *episodes* per split. ``labelled_fraction`` applies to what validation and test leave."""

    model_config = ConfigDict(extra="forbid")

    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of episodes for validation")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of episodes for test")
    labelled_fraction: float = Field(
        0.5, gt=0.0, lt=1.0,
        description="share of the remaining (training) episodes that keep actions for SFT; SWIRL §4: 0.5")

    @model_validator(mode="after")
    def _fits(self) -> SplitConfig:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must be < 1 so that some episodes train")
        return self


@dataclass(frozen=True)
class Splits:
    """The four parts of a data set. ``unlabelled`` transitions have ``z is None``."""

    labelled: list[Transition]
    unlabelled: list[Transition]
    val: list[Transition]
    test: list[Transition]

    FILES = ("labelled", "unlabelled", "val", "test")

    def save(self, folder: Path) -> None:
        """Write ``<part>.jsonl`` for each part (atomically). The unlabelled file holds no actions."""
        for name in self.FILES:
            write_transitions(folder / f"{name}.jsonl", getattr(self, name))

    @classmethod
    def load(cls, folder: Path) -> Splits:
        """Read the four files written by :meth:`save`. Raises DataError / FileNotFoundError."""
        return cls(**{name: read_transitions(folder / f"{name}.jsonl") for name in cls.FILES})


def split_episodes(episodes: list[Episode], config: SplitConfig, seed: int) -> Splits:
    """Shuffle episodes with ``seed`` and cut them into labelled / unlabelled / val / test.

    Every part that has a positive fraction gets at least one episode.

    Raises:
        ValueError: fewer episodes than non-empty parts.
    """
    needed = 2 + (config.val_fraction > 0) + (config.test_fraction > 0)
    if len(episodes) < needed:
        raise ValueError(f"need at least {needed} episodes to split, got {len(episodes)}")
    order = sorted(episodes, key=lambda e: e.episode_id)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_test = max(1, round(n * config.test_fraction)) if config.test_fraction > 0 else 0
    n_val = max(1, round(n * config.val_fraction)) if config.val_fraction > 0 else 0
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    n_labelled = min(max(1, round(len(train) * config.labelled_fraction)), len(train) - 1)

    def flat(part: list[Episode]) -> list[Transition]:
        return [t for e in part for t in e.transitions]

    return Splits(
        labelled=flat(train[:n_labelled]),
        unlabelled=[t.without_action() for t in flat(train[n_labelled:])],
        val=flat(val),
        test=flat(test),
    )
