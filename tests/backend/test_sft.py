"""Mid-SFT resume: a process SIGKILLed inside SFT leaves its last complete trainer checkpoint in the logs
folder; the same call then resumes from it (transformers' ``resume_from_checkpoint``) and ends with the
weights and per-step losses of a run that was never interrupted, and no checkpoint left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from swirl_wm.backend.sft import COMPLETE, last_checkpoint, train_on_examples
from swirl_wm.config import SFTConfig

ROOT = Path(__file__).parents[2]
KILL_AT = 5  # a step after the checkpoint of step 4 and before the end (6)


def _examples() -> list[dict[str, str]]:
    return [{"prompt": f"State: box {i} on shelf {i % 3}. Action: move box {i}.\nNext state:",
             "completion": f" box {i} on shelf {(i + 1) % 3}."} for i in range(12)]


class _KillAt(TrainerCallback):
    def on_step_end(self, args, state, _control, **kwargs):
        if state.global_step == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)


def train(model: str, out: Path, log_dir: Path, kill: bool = False) -> list[dict]:
    """SFT of the tiny model: 12 examples, batch 2, 6 steps, a resumable checkpoint every 2 steps."""
    torch.set_num_threads(1)
    config = SFTConfig(learning_rate=1e-3, max_steps=6, per_device_train_batch_size=2, checkpoint_steps=2,
                       report_to=[])
    return train_on_examples(model, out, log_dir, _examples(), config, seed=3,
                             callbacks=[_KillAt()] if kill else ())[1]


def _losses(history: list[dict]) -> dict[int, float]:
    return {h["step"]: h["loss"] for h in history if "loss" in h}


def test_a_kill_inside_sft_resumes_from_the_last_checkpoint_to_the_straight_result(tmp_path: Path,
                                                                                  tiny_path: str) -> None:
    straight = train(tiny_path, tmp_path / "straight", tmp_path / "straight-logs")
    logs = tmp_path / "logs"
    code = (f"from tests.backend.test_sft import train; train({tiny_path!r}, {str(tmp_path / 'killed')!r}, "
            f"{str(logs)!r}, kill=True)")
    env = os.environ | {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    killed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (tmp_path / "killed").exists()
    assert last_checkpoint(logs) == logs / "checkpoint-4"
    cut = logs / "checkpoint-6"  # a checkpoint whose write a kill cut short: never resumed from
    cut.mkdir()
    (cut / "model.safetensors").write_bytes(b"half")
    assert last_checkpoint(logs) == logs / "checkpoint-4"

    resumed = train(tiny_path, tmp_path / "resumed", logs)
    assert not list(logs.glob("checkpoint-*"))
    assert _losses(resumed) == pytest.approx(_losses(straight), rel=0, abs=0) and len(_losses(resumed)) == 6
    first, second = (load_file(tmp_path / name / "model.safetensors") for name in ("straight", "resumed"))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_only_a_checkpoint_with_its_marker_counts(tmp_path: Path) -> None:
    assert last_checkpoint(tmp_path) is None
    for step in (2, 10, 4):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-final").mkdir()
    for step in (2, 4):
        (tmp_path / f"checkpoint-{step}" / COMPLETE).write_text(f"{step}\n")
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-4"


class _Files(TrainerCallback):
    """The files of each checkpoint once transformers has written it."""

    def __init__(self) -> None:
        self.seen: dict[int, set[str]] = {}

    def on_save(self, args, state, _control, **kwargs):
        self.seen[state.global_step] = {p.name for p in (Path(args.output_dir) / f"checkpoint-{state.global_step}"
                                                         ).iterdir()}


def test_early_stopping_saves_resumable_checkpoints_at_its_evaluations(tmp_path: Path, tiny_path: str) -> None:
    config = SFTConfig(learning_rate=1e-3, max_steps=4, per_device_train_batch_size=4, checkpoint_steps=3,
                       eval_steps=2, early_stopping_patience=5, report_to=[])
    files = _Files()
    history = train_on_examples(tiny_path, tmp_path / "out", tmp_path / "logs", _examples(), config, seed=3,
                                eval_examples=_examples()[:4], callbacks=[files])[1]
    assert sorted(files.seen) == [2, 4] and all("optimizer.pt" in names for names in files.seen.values())
    assert [h["step"] for h in history if "eval_loss" in h] == [2, 4]
    assert not list((tmp_path / "logs").glob("checkpoint-*")) and (tmp_path / "out" / "model.safetensors").exists()
