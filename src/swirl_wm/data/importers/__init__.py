"""Importers of recorded real transition data (docs/environments.md) into :class:`~swirl_wm.records.Episode`.

Each module reads one upstream format, unchanged, and documents its rules for what ``x``, ``z`` and ``y``
are and which logged steps are left out; all cut over-long states by :mod:`swirl_wm.data.truncate`.
:data:`FORMATS` is the one list of them: the names that ``swirl data import --format`` and ``data.env`` take
(each also the ``env`` of the transitions it writes), each with its module and its FWM headline metric.
A module is imported when its data set is read.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from swirl_wm.glossary import DEFAULT_HEADLINE_FWM

if TYPE_CHECKING:
    from swirl_wm.records import Episode


@dataclass(frozen=True)
class Importer:
    """One recorded data set: the module of this package that reads it (its ``import_episodes(path,
    max_state_chars)``), and the metric key that headlines the FWM on its states."""

    module: str
    headline_fwm: str = DEFAULT_HEADLINE_FWM


# Tool outputs are scored with BLEU (the StableToolBench convention, SWIRL §4), web pages and text observations
# with ROUGE-L (SWIRL §4: ScienceWorld, Mind2Web).
FORMATS: dict[str, Importer] = {
    "tau-bench": Importer("tau_bench", headline_fwm="fwm/bleu"),
    "webshop": Importer("webshop"),
    "propara": Importer("propara"),
}


def import_episodes(name: str, path: Path, max_state_chars: int) -> list[Episode]:
    """The episodes of the recorded data set ``name`` (a key of :data:`FORMATS`) at ``path``, states cut to
    ``max_state_chars``.

    Raises:
        KeyError: ``name`` is not an importer; DataError, OSError: as the importer's ``import_episodes``.
    """
    module = importlib.import_module(f"{__name__}.{FORMATS[name].module}")
    return module.import_episodes(path, max_state_chars)
