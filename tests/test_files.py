"""The run folder's writer lock: a second writer fails at once naming the holder; a killed
holder's lock is taken over; readers and disabled ranks are not blocked."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.files import HOLDER_FILE, RunFolderBusy, exclusive_writer

HOLD = textwrap.dedent("""
    import sys, time
    from swirl_wm.files import exclusive_writer
    with exclusive_writer(sys.argv[1]):
        print("held", flush=True)
        time.sleep(120)
""")


@pytest.fixture
def holder(tmp_path):
    """A live process holding the lock of ``tmp_path / 'run'``."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_second_writer_fails_naming_the_holder(tmp_path, holder):
    with pytest.raises(RunFolderBusy, match=f"pid {holder.pid} on .*, started "), exclusive_writer(tmp_path / "run"):
        pass
    with exclusive_writer(tmp_path / "run", enabled=False):  # a non-main rank does not take it
        pass


def test_killed_holder_is_taken_over(tmp_path, holder):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / "run" / HOLDER_FILE).exists()  # the stale holder record is still there
    with exclusive_writer(tmp_path / "run"):
        assert f'"pid": {os.getpid()}' in (tmp_path / "run" / HOLDER_FILE).read_text()
    with exclusive_writer(tmp_path / "run"):  # released on exit: the same process takes it again
        pass


def test_train_refuses_a_folder_being_written(tmp_path, holder):
    config = tmp_path / "c.yaml"
    config.write_text(f"name: busy\noutput_dir: {tmp_path / 'run'}\nmodel: {{name_or_path: tiny}}\n")
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code != 0
    assert f"pid {holder.pid}" in result.output and "another process" in result.output
    assert not (tmp_path / "run" / "state.json").exists()  # nothing was written


def test_checkpoint_refused_when_the_disk_is_full(tmp_path, tiny, monkeypatch):
    from transformers import Trainer, TrainingArguments

    from swirl_wm import files
    from swirl_wm.backend.checkpoints import save_trained
    from swirl_wm.files import NotEnoughDisk, ensure_free_space

    model, tokenizer = tiny
    trainer = Trainer(model=model, args=TrainingArguments(output_dir=str(tmp_path / "logs"), report_to=[]))
    monkeypatch.setattr(files, "free_bytes", lambda folder: 1000)
    with pytest.raises(NotEnoughDisk, match=r"needs about \d+ MiB, 0 MiB free"):
        save_trained(trainer, tokenizer, tmp_path / "checkpoints/sft/fwm")
    assert not (tmp_path / "checkpoints").exists()  # nothing written, not even a temporary folder
    monkeypatch.setattr(files, "free_bytes", lambda folder: 10 * 2**30)
    save_trained(trainer, tokenizer, tmp_path / "checkpoints/sft/fwm")
    assert (tmp_path / "checkpoints/sft/fwm/model.safetensors").exists()
    with pytest.raises(NotEnoughDisk):
        monkeypatch.setattr(files, "free_bytes", lambda folder: 109)
        ensure_free_space(tmp_path, 100, "x")
    ensure_free_space(tmp_path, 90, "x")  # 90 × 1.1 = 99 ≤ 109


def test_atomic_dir_removes_what_a_killed_writer_left(tmp_path):
    from swirl_wm.files import atomic_dir

    (tmp_path / ".fwm.abc123").mkdir()  # a SIGKILL inside an earlier write leaves its temporary folder
    (tmp_path / ".fwm.abc123" / "model.safetensors").write_bytes(b"half")
    (tmp_path / ".idm.xyz").mkdir()  # another target's: not touched
    with atomic_dir(tmp_path / "fwm") as tmp:
        (tmp / "model.safetensors").write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".idm.xyz", "fwm"]
    assert (tmp_path / "fwm" / "model.safetensors").read_bytes() == b"whole"


@pytest.mark.parametrize(("umask", "folder_mode", "file_mode"), [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)],
                         ids=["umask-022", "umask-027"])
def test_a_checkpoint_gets_the_modes_of_the_umask_not_the_temporary_folders(tmp_path, tiny, umask, folder_mode,
                                                                            file_mode):
    from swirl_wm.files import atomic_dir

    model, tokenizer = tiny
    previous = os.umask(umask)
    try:
        with atomic_dir(tmp_path / "checkpoints" / "sft" / "fwm") as tmp:
            model.save_pretrained(tmp, safe_serialization=True)  # safetensors writes its file 0o600
            tokenizer.save_pretrained(tmp)
            (tmp / "nested").mkdir(mode=0o700)
    finally:
        os.umask(previous)
    saved = tmp_path / "checkpoints" / "sft" / "fwm"
    assert (saved / "model.safetensors").is_file()
    for path in [saved, *saved.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (folder_mode if path.is_dir() else file_mode), path
