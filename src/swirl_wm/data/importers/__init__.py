"""Importers of recorded real transition data (docs/environments.md) into :class:`~swirl_wm.records.Episode`.

Each module reads one upstream format, unchanged, and documents its rules for what ``x``, ``z`` and ``y``
are and which logged steps are left out; all cut over-long states by :mod:`swirl_wm.data.truncate`.
:data:`FORMATS` maps the names that ``swirl data import --format`` takes to their import function.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from swirl_wm.data.importers import propara, tau_bench, webshop
from swirl_wm.records import Episode

FORMATS: dict[str, Callable[[Path, int], list[Episode]]] = {
    "tau-bench": tau_bench.import_episodes,
    "webshop": webshop.import_episodes,
    "propara": propara.import_episodes,
}
