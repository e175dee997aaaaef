"""The run folder: its ledger of finished stages, the stage runner that makes a killed run resumable, the
writer lock and config check, the run's provenance (git commit, machine), and the predictions every
evaluating stage saves (:func:`save_predictions`; benchmarks and reports read them with :func:`read_predictions`).

A stage (SFT, a phase, an evaluation) is recorded in ``<run>/state.json`` only after its outputs are in
place (checkpoints are renamed into place by :mod:`swirl_wm.backend.checkpoints`), so a resumed run skips
exactly the stages that finished. A stage returns a typed result (:class:`~swirl_wm.results.StageResult`),
which the ledger records as JSON and a resumed run reads back. Both recipes (the SWIRL loop, agent runs)
run their stages through :class:`RunFolder`.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import torch
import yaml
from accelerate import PartialState
from pydantic import BaseModel, ValidationError

from swirl_wm.config import dump_config
from swirl_wm.files import atomic_write_text, exclusive_writer
from swirl_wm.records import Transition
from swirl_wm.results import StageResult

Announce = Callable[[str], None]
R = TypeVar("R", bound=StageResult)


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
    CHECKPOINTS = "checkpoints"
    LOGS = "logs"
    LATENT = "data/latent"
    SELF_TRAINING_PAIRS = "data/latent/self-training.jsonl"  # every unlabelled pair with its latent action
    PREDICTIONS = "predictions"

    @staticmethod
    def checkpoint(stage: str, role: str | None = None) -> str:
        """A stage's model folder (one per role; an agent run's policy has none)."""
        return f"{Layout.CHECKPOINTS}/{stage.replace('/', '-')}" + (f"/{role}" if role else "")

    @staticmethod
    def logs(stage: str) -> str:
        """TRL's output folder of a training stage (TensorBoard events; an SFT in progress keeps its resumable
        checkpoints there until it finishes)."""
        return f"{Layout.LOGS}/{stage.replace('/', '-')}"

    @staticmethod
    def latent(iteration: int) -> str:
        """Iteration's Phase I pairs with their latent actions (JSONL; the bootstrap baselines read them)."""
        return f"{Layout.LATENT}/iter{iteration}.jsonl"

    @staticmethod
    def predictions(stage: str, split: str, role: str) -> str:
        """A model's generations on a split beside the references (JSONL: x, given, reference, prediction)."""
        return f"{Layout.PREDICTIONS}/{stage.replace('/', '-')}/{split}-{role}.jsonl"


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


# Settings that change how fast a run goes, what it keeps on disk, where the folder lies or whether it may go
# on, never what it computes: a run may resume with other values (a run refused for a budget that cuts its
# texts resumes with allow_cut_texts set; a folder moved or copied elsewhere resumes there, since the ledger's
# paths are relative to the folder).
EXECUTION_ONLY = (("model", "torch_threads"), ("keep_checkpoints",), ("allow_cut_texts",), ("sft", "checkpoint_steps"),
                  ("output_dir",))


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

    def record(self, stage: str, record: dict[str, Any]) -> None:
        self.stages[stage] = record
        if self.writer:
            atomic_write_text(self.path, json.dumps({"stages": self.stages}, indent=2))


class RunFolder:
    """One run folder and its stages: the ledger, the process state under ``accelerate launch``, and the
    config it was started with. A recipe subclasses it only to add what its stages share.

    A folder that holds another config is refused (:meth:`check_config`), except where nothing computed
    under that config would be reused: a folder where no stage finished (a first stage stopped by a data
    error), or where only :attr:`first_stage` finished and the new config changes none of the keys it reads
    (a budget raised after the run was refused for it). The new config then takes the folder over, and what
    the stages it redoes wrote is removed.
    """

    # Config keys (section path, key) that only add stages after the finished ones: a finished run may
    # resume with other values of them (a recipe lists its own).
    extendable: tuple[tuple[str, ...], ...] = ()
    # What the stages write (relative paths): removed when another config takes over a folder where no
    # stage finished, so that nothing made under the old config (a half-built codec, an interrupted
    # checkpoint that a resumed stage would reuse) is taken for the new one's.
    outputs: tuple[str, ...] = (Layout.DATA, Layout.BASE, Layout.BASE_TOKENS, Layout.IMAGE_CODEC,
                                Layout.CHECKPOINTS, Layout.LOGS, Layout.PREDICTIONS)
    # The first stage, the config keys (section path, or section path and key) it reads, and what the stages
    # after it write: a folder where it alone finished may be taken over by a config that changes none of
    # those keys, keeping its output and removing ``later_outputs`` (a recipe sets them; None = never).
    first_stage: str | None = None
    first_stage_reads: tuple[tuple[str, ...], ...] = ()
    later_outputs: tuple[str, ...] = ()

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

    def stage(self, name: str, kind: type[R], work: Callable[[], R], all_processes: bool = False) -> R:
        """Run ``work`` unless the ledger says ``name`` is done; record its result, wall time and commit.

        Returns the result as the ledger holds it (``kind`` read from the record, wall time and commit
        included), whether the stage ran now or in an earlier run, so a resumed run goes on from the same
        values as an uninterrupted one. Under ``accelerate launch``, training stages run on every process
        (``all_processes``); data and evaluation stages run on the main process while the others wait and
        then read the ledger.

        Raises:
            ValueError: the ledger's record of ``name`` lacks a key of ``kind`` (a ledger this version cannot
                resume).
        """
        if self.ledger.done(name):
            self.announce(f"[skip] {name} (done in an earlier run)")
        else:
            runs_here = all_processes or self.state.is_main_process
            if runs_here:
                self.announce(f"[stage] {name}")
                start = time.monotonic()
                record = work().to_json()
                # a resumed run's stages may come from several commits
                record |= {"wall_time_s": time.monotonic() - start, "git_commit": git_commit()}
                self.ledger.record(name, record)
                gc.collect()
            self.state.wait_for_everyone()
            if not runs_here:
                self.ledger.reload()
        try:
            return kind.from_json(self.ledger.stages[name])
        except TypeError as error:
            raise ValueError(f"{self.ledger.path}: stage {name!r} does not read as {kind.__name__} ({error}); "
                             f"this version cannot resume it: start the run in a new output_dir") from error

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
        """Refuse to resume a folder that holds a different config, unless this config may take it over
        (see the class); the main process then writes it (and removes what the taken-over folder's redone
        stages wrote).

        Every process checks before any writes (so under ``accelerate launch`` all ranks raise together
        instead of the others waiting for a main rank that stopped); a rank that reads the file after the
        main one wrote it reads its own config.

        Raises:
            ValueError: the folder's ``config.yaml`` differs from this run's config in a way a finished stage
                depends on; names the differing fields.
        """
        saved = self.path(Layout.CONFIG)
        stale: tuple[str, ...] = ()
        changed = config_differences(saved, self.config, EXECUTION_ONLY + self.extendable) if saved.exists() else []
        if changed:
            stale = self._takeover(saved, changed)
        self.state.wait_for_everyone()
        if self.state.is_main_process:
            for relative in stale:
                target = self.path(relative)
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
            saved.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(saved, dump_config(self.config))
        self.state.wait_for_everyone()

    def _takeover(self, saved: Path, changed: list[Difference]) -> tuple[str, ...]:
        """What to remove for this config to take over a folder whose config differs by ``changed``.

        Raises:
            ValueError: a finished stage depends on a changed field; names the fields and the stages.
        """
        fields = "; ".join(d.describe() for d in changed[:6]) + (f"; and {len(changed) - 6} more"
                                                                   if len(changed) > 6 else "")
        finished = list(self.ledger.stages)
        if not finished:
            self.announce(f"{saved}: no stage of the folder's run finished, so this config takes it over (it "
                          f"differs in {fields})")
            return self.outputs
        if finished == [self.first_stage] and not any(d.under(self.first_stage_reads) for d in changed):
            self.announce(f"{saved}: only the {self.first_stage} stage finished and this config changes nothing "
                          f"it reads, so this config takes the folder over and keeps it (it differs in {fields})")
            return self.later_outputs
        raise ValueError(f"{saved} holds a different config, and the folder's finished stages "
                         f"({', '.join(finished)}) depend on it: {fields}. Resume with the folder's config, or use "
                         f"a new output_dir")


@dataclass(frozen=True)
class Difference:
    """A config field whose value in a run folder differs from this run's: ``key`` dotted (``""`` when the
    folder's config cannot be read at all, ``problem`` then says why)."""

    key: str
    saved: Any = None
    now: Any = None
    problem: str = ""

    def describe(self) -> str:
        if self.problem:
            return self.problem
        return f"{self.key}: {self.saved!r} in the folder, {self.now!r} now"

    def under(self, sections: tuple[tuple[str, ...], ...]) -> bool:
        """Whether the field is one of ``sections`` (section paths or keys) or inside one; an unreadable
        config is under every section."""
        parts = tuple(self.key.split(".")) if self.key else ()
        return not parts or any(parts[:len(s)] == s for s in sections)


def config_differences(saved: Path, config: BaseModel, ignored: tuple[tuple[str, ...], ...] = EXECUTION_ONLY
                       ) -> list[Difference]:
    """The fields in which the run folder's config differs from ``config`` once read with today's defaults.

    A field added to the config since the folder was written takes its default, so an upgrade of this
    package that only adds options does not stop a run from resuming; a changed value still does, except
    for the ``ignored`` keys (the execution-only settings, and the settings a recipe may extend a finished
    run with). A folder config that is no longer YAML or no longer validates is one :class:`Difference`
    with no key, saying so.
    """
    try:
        previous = type(config).model_validate(yaml.safe_load(saved.read_text(encoding="utf-8")))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        return [Difference("", problem=f"the folder's config no longer validates ({where}: {first['msg']})")]
    except (ValueError, yaml.YAMLError) as err:
        return [Difference("", problem=f"the folder's config is not readable YAML ({type(err).__name__})")]
    return _differences(_results_part(previous, ignored), _results_part(config, ignored))


def same_config(saved: Path, config: BaseModel, ignored: tuple[tuple[str, ...], ...] = EXECUTION_ONLY) -> bool:
    """Whether the run folder's config equals ``config`` once read with today's defaults
    (:func:`config_differences` finds nothing)."""
    return not config_differences(saved, config, ignored)


def _differences(saved: Any, now: Any, prefix: str = "") -> list[Difference]:
    if isinstance(saved, dict) and isinstance(now, dict):
        return [d for key in list(saved) + [k for k in now if k not in saved]
                for d in _differences(saved.get(key), now.get(key), f"{prefix}{key}.")]
    return [] if saved == now else [Difference(prefix.rstrip("."), saved, now)]


def _results_part(config: BaseModel, ignored: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    raw = config.model_dump(mode="json")
    for *sections, key in ignored:
        node = raw
        for section in sections:
            node = node.get(section, {})
        node.pop(key, None)
    return raw
