"""Seeded, episode-level splits: labelled SFT part, unlabelled SWIRL part, validation and test.

**Labels decide the split.** An episode is *labelled* when every one of its transitions carries an action
``z``, *state-only* when none does, *partly labelled* otherwise. Validation (model selection) and test
(reporting) are drawn from the labelled episodes only, so every held-out transition has its gold action;
the remaining labelled episodes feed SFT. State-only episodes feed the SWIRL phases only. A partly labelled
episode is cut by step (the one rule for them): its labelled transitions join the SFT split, its
unlabelled ones the SWIRL split, so no action is ever dropped or invented and nothing of it is held out.

**Simulated state-only data** (benchmarks; SWIRL §4 uses half of the training episodes): for a fully
labelled source, ``simulated_unlabelled_fraction`` of the labelled training episodes have their actions
removed and join the SWIRL split. By default (``None``) this happens only when the source holds no
unlabelled transition at all, with the paper's 0.5; set 0 to keep every label. The hidden actions are kept
apart in ``oracle`` (``oracle.jsonl``), read only by the benchmarks' oracle arm (SFT on L + U with the true
actions), never by SWIRL. ``max_labelled_episodes`` caps the labelled SFT episodes with validation, test and
the unlabelled pool unchanged: the labelled size ``L`` of a label-efficiency study.

Splitting by episode, never by transition, keeps near-duplicate consecutive states of one episode on one
side. Episodes are ordered by id and shuffled with the seed, so a split depends on the seed and the data
only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swirl_wm.data.jsonl import read_transitions, write_transitions
from swirl_wm.records import Episode, Transition

PAPER_SIMULATED_FRACTION = 0.5  # SWIRL §4: half of the training episodes keep their actions


class SplitConfig(BaseModel):
    """How episodes are split. Validation and test fractions are of the *labelled* episodes."""

    model_config = ConfigDict(extra="forbid")

    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of labelled episodes for validation")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of labelled episodes for test")
    simulated_unlabelled_fraction: float | None = Field(
        None, ge=0.0, lt=1.0,
        description="share of the labelled training episodes whose actions are removed to simulate state-only "
                    "logs (benchmarks; SWIRL §4: 0.5); None = 0.5 when the source has no unlabelled transition, "
                    "else 0")

    max_labelled_episodes: int | None = Field(
        None, ge=1, description="keep at most this many labelled training episodes for SFT (the first in the seeded "
                                "order; the others are left out of every split), so that a label-efficiency "
                                "study varies the labelled size L with validation, test and the unlabelled pool "
                                "fixed; None = all")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, raw: object) -> object:
        if isinstance(raw, dict) and "labelled_fraction" in raw:
            raise ValueError("labelled_fraction was renamed: set simulated_unlabelled_fraction = "
                             f"1 - labelled_fraction (= {1 - float(raw['labelled_fraction']):g}); labels in the data "
                             "now decide the split")
        return raw

    @model_validator(mode="after")
    def _fits(self) -> SplitConfig:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must be < 1 so that some episodes train")
        return self


class NotEnoughLabels(ValueError):
    """Too few labelled episodes for SFT plus the held-out splits; the message gives the counts."""


@dataclass(frozen=True)
class Splits:
    """The four parts of a data set. ``unlabelled`` transitions have ``z is None``."""

    labelled: list[Transition]
    unlabelled: list[Transition]
    val: list[Transition]
    test: list[Transition]
    oracle: list[Transition] = field(default_factory=list)  # simulated unlabelled transitions, actions kept

    FILES = ("labelled", "unlabelled", "val", "test")

    def save(self, folder: Path) -> None:
        """Write ``<part>.jsonl`` for each part (atomically), and ``oracle.jsonl`` when the split simulated
        state-only data. The unlabelled file holds no actions."""
        for name in self.FILES:
            write_transitions(folder / f"{name}.jsonl", getattr(self, name))
        if self.oracle:
            write_transitions(folder / "oracle.jsonl", self.oracle)

    @classmethod
    def load(cls, folder: Path) -> Splits:
        """Read the files written by :meth:`save`. Raises DataError / FileNotFoundError."""
        oracle = folder / "oracle.jsonl"
        return cls(**{name: read_transitions(folder / f"{name}.jsonl") for name in cls.FILES},
                   oracle=read_transitions(oracle) if oracle.exists() else [])

    def counts(self) -> dict[str, int]:
        """Transitions and episodes per part: ``{"labelled": n, "labelled_episodes": m, ...}``."""
        out: dict[str, int] = {}
        for name in self.FILES:
            part = getattr(self, name)
            out[name] = len(part)
            out[f"{name}_episodes"] = len({t.episode_id for t in part})
        return out


def _flat(part: list[Episode]) -> list[Transition]:
    return [t for e in part for t in e.transitions]


def split_episodes(episodes: list[Episode], config: SplitConfig, seed: int) -> Splits:
    """Split episodes by their labels (module docstring), seeded, by episode.

    Every held-out part with a positive fraction gets at least one labelled episode; SFT keeps at least one.

    Raises:
        NotEnoughLabels: fewer labelled episodes than SFT, validation, test (and, when simulating, the
            hidden part) need; the message states how many there are and how many are needed.
    """
    kinds: dict[str, list[Episode]] = {"labelled": [], "state_only": [], "partial": []}
    for e in episodes:
        n_actions = sum(t.z is not None for t in e.transitions)
        kind = "labelled" if n_actions == len(e) else "state_only" if n_actions == 0 else "partial"
        kinds[kind].append(e)
    labelled, state_only, partial = kinds["labelled"], kinds["state_only"], kinds["partial"]
    has_unlabelled = bool(state_only or partial)
    simulate = config.simulated_unlabelled_fraction
    if simulate is None:
        simulate = 0.0 if has_unlabelled else PAPER_SIMULATED_FRACTION
    sft_from_partial = any(t.z is not None for e in partial for t in e.transitions)
    needs = {"SFT": 0 if sft_from_partial else 1, "validation": int(config.val_fraction > 0),
             "test": int(config.test_fraction > 0), "simulated state-only": int(simulate > 0)}
    needed = sum(needs.values())
    if len(labelled) < needed:
        parts = ", ".join(f"{n} for {k}" for k, n in needs.items() if n)
        raise NotEnoughLabels(
            f"{len(labelled)} labelled episode(s) (every transition with an action) among {len(episodes)}, "
            f"but {needed} are needed ({parts}); {len(partial)} partly labelled and {len(state_only)} state-only "
            f"episode(s) cannot be held out. Label more episodes, or set data.split.val_fraction / test_fraction "
            f"/ simulated_unlabelled_fraction to 0")
    order = sorted(labelled, key=lambda e: e.episode_id)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_test = max(1, round(n * config.test_fraction)) if config.test_fraction > 0 else 0
    n_val = max(1, round(n * config.val_fraction)) if config.val_fraction > 0 else 0
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    n_keep = len(train)
    if simulate > 0:
        n_keep = round(len(train) * (1 - simulate))
        n_keep = min(max(needs["SFT"], n_keep), len(train) - 1)
    pool = sorted(state_only + partial, key=lambda e: e.episode_id)
    kept = train[:n_keep] if config.max_labelled_episodes is None else train[:min(n_keep, config.max_labelled_episodes)]
    return Splits(
        labelled=_flat(kept) + [t for t in _flat(pool) if t.z is not None],
        unlabelled=[t.without_action() for t in _flat(train[n_keep:])] + [t for t in _flat(pool) if t.z is None],
        val=_flat(val),
        test=_flat(test),
        oracle=_flat(train[n_keep:]),
    )
