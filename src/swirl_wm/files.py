"""Atomic file writes (a reader sees the old file or the new one, never a half-written one) and the
one-writer lock of a run folder.

Run artefacts (``metrics.json``, the report, the plot) are read while a run is still going — by a person,
a dashboard or a resumed run — and a run can be killed at any moment, so every artefact is written to a
temporary file in the same directory and then renamed over the target (``os.replace`` is atomic within
one file system on POSIX and Windows).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

# tempfile creates files readable by the owner only (0o600); artefacts are meant to be shared like any
# file the user writes, so they get the usual 0o644.
_FILE_MODE = 0o644


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, replacing any existing file.

    The bytes go to a temporary file in ``path``'s directory, are flushed and fsynced, and the file is
    then renamed over ``path``. On any error the temporary file is removed and ``path`` is untouched.

    Args:
        path: the target file; its directory must exist.
        data: the complete new contents.

    Returns:
        ``path``.

    Raises:
        FileNotFoundError: if ``path``'s directory does not exist.
        OSError: if the directory is not writable or the disk is full.

    Source: the write-temp-then-rename pattern (POSIX ``rename(2)``; Python ``os.replace``).
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, _FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException:
        # Also on KeyboardInterrupt: never leave a stray temporary file next to the artefact.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically as UTF-8, replacing any existing file.

    Args:
        path: the target file; its directory must exist.
        text: the complete new contents; written as UTF-8 with newlines unchanged.

    Returns:
        ``path``.

    Raises:
        FileNotFoundError: if ``path``'s directory does not exist.
        OSError: if the directory is not writable or the disk is full.

    Source: see :func:`atomic_write_bytes`.
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; when the block succeeds, it replaces ``target``.

    A checkpoint folder is thus either absent, the old one, or complete; an interrupted write leaves only a
    hidden ``.<name>.*`` folder, which is removed — at once on an exception, by the next write of the same
    target after a SIGKILL (a run folder has one writer: :func:`exclusive_writer`). The folder and its files
    get the modes the umask gives new ones (0o755 / 0o644 under 022), not the temporary folder's 0o700.

    Source: the write-temp-then-rename pattern, for folders.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*"):  # left by a killed writer
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield tmp
        _share(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    """The process's umask, read without changing it where the OS allows (``os.umask`` can only set it, and
    setting it briefly would let another thread create a file with the wrong mode)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text(encoding="ascii").splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _share(folder: Path) -> None:
    """Give ``folder`` and what it holds the modes a plain ``mkdir`` and ``open`` would (0o755 and 0o644 under
    umask 022), as for the artefacts :func:`atomic_write_bytes` writes: ``mkdtemp`` makes the folder 0o700,
    and safetensors writes the weights 0o600, so a renamed checkpoint was private to its writer."""
    mask = _umask()
    folders, files = 0o777 & ~mask, 0o666 & ~mask
    for root, _, names in os.walk(folder):  # links are neither followed nor changed
        os.chmod(root, folders)
        for name in names:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, files | (os.stat(path).st_mode & 0o111 & ~mask))  # an executable stays one


class NotEnoughDisk(RuntimeError):
    """The disk cannot hold what is about to be written."""


def free_bytes(folder: Path) -> int:
    """Free bytes on the file system of ``folder`` (its nearest existing ancestor)."""
    folder = Path(folder).absolute()
    while not folder.exists():
        folder = folder.parent
    return shutil.disk_usage(folder).free


def ensure_free_space(folder: Path, needed: int, what: str) -> None:
    """Refuse to start a write of about ``needed`` bytes into ``folder`` when the disk lacks room for it plus a
    10 % margin, so that nothing is half-written and the run stops with a clear message.

    Raises:
        NotEnoughDisk: less than ``1.1 × needed`` bytes free; the message gives both sizes.

    Source: this project's experience: a full disk crashed three benchmark runs mid-checkpoint.
    """
    free = free_bytes(folder)
    if free < 1.1 * needed:
        raise NotEnoughDisk(f"not enough disk for {what} in {folder}: needs about {needed / 2**20:.0f} MiB, "
                            f"{free / 2**20:.0f} MiB free. Free some space (old runs under runs/, checkpoints "
                            f"of finished runs) and re-run the same command: finished stages are kept")


LOCK_FILE = ".writer.lock"
HOLDER_FILE = ".writer.json"


class RunFolderBusy(RuntimeError):
    """Another process is writing the run folder."""


@contextlib.contextmanager
def exclusive_writer(folder: Path, enabled: bool = True) -> Iterator[None]:
    """Hold the run folder's writer lock for the block: a second writer fails at once, naming the holder.

    The lock is an OS file lock (``filelock``: ``flock`` on POSIX), which the kernel drops when its holder
    exits or is killed, so a stale lock of a killed run is simply taken over; the holder's pid, host and
    start time are written beside it (``.writer.json``) for the message. Readers (``swirl eval``, reports)
    do not take it.

    Args:
        folder: the run folder (created if missing).
        enabled: False = no lock (the non-main processes of a multi-process job).

    Raises:
        RunFolderBusy: another live process holds the lock.

    Source: this project's experience: two runs started 8 s apart in one folder both wrote it.
    """
    if not enabled:
        yield
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunFolderBusy(f"{folder} is being written by another process ({_holder(folder)}); wait for it to "
                            f"finish or stop it, or use another output_dir") from None
    try:
        atomic_write_text(folder / HOLDER_FILE, json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(),
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))
        yield
    finally:
        lock.release()


def _holder(folder: Path) -> str:
    try:
        holder = json.loads((folder / HOLDER_FILE).read_text(encoding="utf-8"))
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}"
    except (OSError, ValueError, KeyError):  # the holder is between taking the lock and writing the file
        return "holder not yet recorded"
