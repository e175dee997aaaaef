"""Atomic checkpoints and the run ledger that makes a killed run resumable.

A stage (SFT, a phase, an evaluation) is recorded in ``state.json`` only after its outputs are in place;
each checkpoint folder is written to a temporary sibling and renamed, so a half-written checkpoint is
never taken for a finished one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from swirl_wm.files import atomic_write_text


class RunLedger:
    """Completed stages of a run, persisted in ``<run>/state.json`` (atomic writes).

    ``stages`` maps a stage name (``"sft"``, ``"iter1/phase1"``, ...) to what it produced (checkpoint
    paths relative to the run folder, metrics).
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "state.json"
        self.stages: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            self.stages = json.loads(self.path.read_text(encoding="utf-8"))["stages"]

    def done(self, stage: str) -> bool:
        return stage in self.stages

    def record(self, stage: str, result: dict[str, Any]) -> None:
        self.stages[stage] = result
        atomic_write_text(self.path, json.dumps({"stages": self.stages}, indent=2))
