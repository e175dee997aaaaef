"""The run folder: its ledger of finished stages, the stage runner that makes a killed run resumable, the
writer lock and config check, the run's provenance (git commit, machine), and the predictions every
evaluating stage saves (:func:`save_predictions`; benchmarks and reports read them with :func:`read_predictions`).

A stage (SFT, a phase, an evaluation) is recorded in ``<run>/state.json`` only after its outputs are in
place (checkpoints are renamed into place by :mod:`swirl_wm.backend.checkpoints`), so a resumed run skips
exactly the stages that finished. Both recipes (the SWIRL loop, agent runs) run their stages through
:class:`RunFolder`.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
import yaml
from accelerate import PartialState
from pydantic import BaseModel

from swirl_wm.config import dump_config
from swirl_wm.files import atomic_write_text, exclusive_writer
from swirl_wm.records import Transition

Announce = Callable[[str], None]


class Layout:
    """Every path inside a run folder, relative to it: the one place recipes, readers and reports take them
    from. A stage name's ``/`` becomes ``-`` in folder names (``iter1/phase1`` → ``iter1-phase1``)."""

    CONFIG = "config.yaml"
    LEDGER = "state.json"
    METRICS = "metrics.json"
    REPORT = "report.md"
    HTML = "report.html"
    PLOT = "plot.png"
    DATA = "data"  # the splits (data/splits.py: labelled, unlabelled, val, test)
    BASE = "base"  # the small preset's model, built from the run's text
    BASE_TOKENS = "base-tokens"  # the base model with the state modality's added tokens
    IMAGE_CODEC = "image-codec"  # the image modality's tokenizer, trained in the data stage

    @staticmethod
    def checkpoint(stage: str, role: str | None = None) -> str:
        """A stage's model folder (one per role; an agent run's policy has none)."""
        return f"checkpoints/{stage.replace('/', '-')}" + (f"/{role}" if role else "")

    @staticmethod
    def logs(stage: str) -> str:
        """TRL's output folder of a training stage (TensorBoard events; no checkpoints kept)."""
        return f"logs/{stage.replace('/', '-')}"

    @staticmethod
    def latent(iteration: int) -> str:
        """Iteration's Phase I pairs with their latent actions (JSONL; the bootstrap baselines read them)."""
        return f"data/latent/iter{iteration}.jsonl"

    @staticmethod
    def predictions(stage: str, split: str, role: str) -> str:
        """A model's generations on a split beside the references (JSONL: x, given, reference, prediction)."""
        return f"predictions/{stage.replace('/', '-')}/{split}-{role}.jsonl"


def save_predictions(path: Path, role: str, transitions: Sequence[Transition], predictions: Sequence[str]) -> None:
    """Write a role's generations beside the references as :meth:`Layout.predictions` JSONL, one row per
    transition: ``episode_id``, ``step``, ``x``, ``given`` (z for the FWM, y for the IDM), ``reference``
    (y, or z) and ``prediction``; atomically. Read back with :func:`read_predictions`.

    Raises:
        ValueError: ``transitions`` and ``predictions`` differ in length.
    """
    rows = [{"episode_id": t.episode_id, "step": t.step, "x": t.x, "given": t.z if role == "fwm" else t.y,
             "reference": t.y if role == "fwm" else t.z, "prediction": p}
            for t, p in zip(transitions, predictions, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_predictions(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows :func:`save_predictions` wrote (the first ``limit``), blank lines skipped.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line that is not JSON, naming the file and line.
    """
    rows: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if limit is not None and len(rows) >= limit:
                break
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}, line {number}: not a JSON row ({error.msg})") from None
    return rows


# Settings that change how fast a run goes, what it keeps on disk or whether it may go on, never what it
# computes: a run may resume with other values (a run refused for a budget that cuts its texts resumes with
# allow_cut_texts set).
EXECUTION_ONLY = (("model", "torch_threads"), ("keep_checkpoints",), ("allow_cut_texts",))


def git_commit() -> str:
    """The commit of the source tree this package runs from, with ``+dirty`` if it has changes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    """Platform, cores, torch threads, accelerator and library versions."""
    info: dict[str, Any] = {
        "platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    info |= {name: version(name) for name in ("torch", "transformers", "trl", "accelerate", "datasets")}
    return info


class RunLedger:
    """Completed stages of a run, persisted in ``<run>/state.json`` (atomic writes).

    ``stages`` maps a stage name (``"sft"``, ``"iter1/phase1"``, ...) to what it produced (checkpoint
    paths relative to the run folder, metrics).
    """

    def __init__(self, run_dir: Path, writer: bool = True) -> None:
        self.path = run_dir / Layout.LEDGER
        self.writer = writer  # only the main process of a multi-process job writes
        self.stages: dict[str, dict[str, Any]] = {}
        self.reload()

    @classmethod
    def read(cls, run_dir: Path) -> RunLedger:
        """The ledger of an existing run folder, read-only (``swirl eval`` and the other readers of a run).

        Raises:
            FileNotFoundError: ``run_dir`` holds no ``state.json`` (not a run folder).
        """
        ledger = cls(Path(run_dir), writer=False)
        if not ledger.path.exists():
            raise FileNotFoundError(f"{ledger.path} not found: {run_dir} is not a run folder")
        return ledger

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


class RunFolder:
    """One run folder and its stages: the ledger, the process state under ``accelerate launch``, and the
    config it was started with. A recipe subclasses it only to add what its stages share."""

    # Config keys (section path, key) that only add stages after the finished ones: a finished run may
    # resume with other values of them (a recipe lists its own).
    extendable: tuple[tuple[str, ...], ...] = ()

    def __init__(self, config: BaseModel, announce: Announce = print) -> None:
        self.config = config
        self.dir = Path(config.output_dir)
        self.announce = announce
        # cpu=True on a machine without CUDA: otherwise `accelerate launch` processes each think they are
        # alone (DistributedType.NO) instead of forming one gloo job (DistributedType.MULTI_CPU).
        self.state = PartialState(cpu=not torch.cuda.is_available())
        self.ledger = RunLedger(self.dir, writer=self.state.is_main_process)
        self.device = self.state.device

    def path(self, relative: str) -> Path:
        return self.dir / relative

    def stage(self, name: str, work: Callable[[], dict[str, Any]], all_processes: bool = False) -> dict[str, Any]:
        """Run ``work`` unless the ledger says ``name`` is done; record its result, wall time and commit.

        Under ``accelerate launch``, training stages run on every process (``all_processes``); data
        and evaluation stages run on the main process while the others wait and then read the ledger.
        """
        if self.ledger.done(name):
            self.announce(f"[skip] {name} (done in an earlier run)")
            return self.ledger.stages[name]
        runs_here = all_processes or self.state.is_main_process
        if runs_here:
            self.announce(f"[stage] {name}")
            start = time.monotonic()
            result = work()
            result["wall_time_s"] = time.monotonic() - start
            result["git_commit"] = git_commit()  # a resumed run's stages may come from several commits
            self.ledger.record(name, result)
            gc.collect()
        self.state.wait_for_everyone()
        if not runs_here:
            self.ledger.reload()
        return self.ledger.stages[name]

    def wall_time_s(self) -> float:
        """Seconds of every finished stage, summed (a resumed run counts its earlier stages too)."""
        return sum(s.get("wall_time_s", 0.0) for s in self.ledger.stages.values())

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the run folder's writer lock for the block (main process: :func:`~swirl_wm.files.exclusive_writer`)
        after checking the folder's config (:meth:`check_config`).

        Raises:
            RunFolderBusy: another process is writing the folder; ValueError: as :meth:`check_config`.
        """
        with exclusive_writer(self.dir, self.state.is_main_process):
            self.check_config()
            yield

    def check_config(self) -> None:
        """Refuse to resume a folder that holds a different config; the main process then writes it.

        Every process checks before any writes (so under ``accelerate launch`` all ranks raise together
        instead of the others waiting for a main rank that stopped); a rank that reads the file after the
        main one wrote it reads its own config.

        Raises:
            ValueError: the folder's ``config.yaml`` differs from this run's config.
        """
        saved = self.path(Layout.CONFIG)
        if saved.exists() and not same_config(saved, self.config, EXECUTION_ONLY + self.extendable):
            raise ValueError(f"{saved} holds a different config: resume needs the same config, or use a new "
                             f"output_dir")
        self.state.wait_for_everyone()
        if self.state.is_main_process:
            saved.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(saved, dump_config(self.config))
        self.state.wait_for_everyone()


def same_config(saved: Path, config: BaseModel, ignored: tuple[tuple[str, ...], ...] = EXECUTION_ONLY) -> bool:
    """Whether the run folder's config equals ``config`` once read with today's defaults.

    A field added to the config since the folder was written takes its default, so an upgrade of this
    package that only adds options does not stop a run from resuming; a changed value still does, except
    for the ``ignored`` keys (the execution-only settings, and the settings a recipe may extend a finished
    run with).
    """
    try:
        previous = type(config).model_validate(yaml.safe_load(saved.read_text(encoding="utf-8")))
    except (ValueError, yaml.YAMLError):
        return False
    return _results_part(previous, ignored) == _results_part(config, ignored)


def _results_part(config: BaseModel, ignored: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    raw = config.model_dump(mode="json")
    for *sections, key in ignored:
        node = raw
        for section in sections:
            node = node.get(section, {})
        node.pop(key, None)
    return raw
