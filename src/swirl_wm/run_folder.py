"""The run ledger that makes a killed run resumable.

A stage (SFT, a phase, an evaluation) is recorded in ``<run>/state.json`` only after its outputs are in
place (checkpoints are renamed into place by :mod:`swirl_wm.backend.checkpoints`), so a resumed run skips
exactly the stages that finished.
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

    def __init__(self, run_dir: Path, writer: bool = True) -> None:
        self.path = run_dir / "state.json"
        self.writer = writer  # only the main process of a multi-process job writes
        self.stages: dict[str, dict[str, Any]] = {}
        self.reload()

    def reload(self) -> None:
        """Re-read the ledger from disk (other processes do so after the main one recorded a stage)."""
        if self.path.exists():
            self.stages = json.loads(self.path.read_text(encoding="utf-8"))["stages"]

    def done(self, stage: str) -> bool:
        return stage in self.stages

    def record(self, stage: str, result: dict[str, Any]) -> None:
        self.stages[stage] = result
        if self.writer:
            atomic_write_text(self.path, json.dumps({"stages": self.stages}, indent=2))
