"""The model cache is built once, even when several processes ask for it together."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from swirl_wm.models.loading import _build_once


def _slow_build(out: Path) -> None:
    with open(out.parent / "builds.txt", "a", encoding="utf-8") as f:
        f.write("built\n")
    time.sleep(0.5)  # long enough for the other process to arrive while this one builds
    (out / "config.json").write_text("{}", encoding="utf-8")
    (out / "weights.bin").write_bytes(b"\0" * 1024)


def _use(target: Path) -> None:
    folder = _build_once(target, _slow_build)
    assert (folder / "weights.bin").stat().st_size == 1024


def test_concurrent_first_uses_build_the_folder_once_and_both_find_it_whole(tmp_path):
    target = tmp_path / "model"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_use, args=(target,)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert (tmp_path / "builds.txt").read_text(encoding="utf-8").count("built") == 1
    assert (target / "config.json").exists()


def test_a_built_folder_is_not_built_again(tmp_path):
    target = tmp_path / "model"
    _use(target)
    _use(target)
    assert (tmp_path / "builds.txt").read_text(encoding="utf-8").count("built") == 1
