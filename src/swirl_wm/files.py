"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

Run artefacts (``metrics.json``, the report, the plot) are read while a run is still going — by a person,
a dashboard or a resumed run — and a run can be killed at any moment, so every artefact is written to a
temporary file in the same directory and then renamed over the target (``os.replace`` is atomic within
one file system on POSIX and Windows).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
    hidden ``.<name>.*`` folder, which is removed.

    Source: the write-temp-then-rename pattern, for folders.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
