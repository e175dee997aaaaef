"""A study folder's README (``studies/<question>/README.md``): prose around generated blocks.

A generated block sits between ``<!-- table:NAME:start -->`` and ``<!-- table:NAME:end -->``; ``swirl bench
--study`` writes its table there, and ``benchmarks/studies.py`` re-renders every block from the folder's
committed JSON, so a table cannot drift from its results.
"""

from __future__ import annotations

import re
from pathlib import Path

from swirl_wm.files import atomic_write_text

_BLOCK = re.compile(r"<!-- table:(?P<name>[\w.-]+):start -->\n(?P<body>.*?)<!-- table:(?P=name):end -->", re.S)


def read_blocks(readme: Path) -> dict[str, str]:
    """The generated blocks of a README: NAME → the text between its start and end markers."""
    return {m["name"]: m["body"] for m in _BLOCK.finditer(readme.read_text(encoding="utf-8"))}


def write_block(readme: Path, name: str, table: str) -> None:
    """Put ``table`` between ``<!-- table:NAME:start -->`` and ``<!-- table:NAME:end -->`` in ``readme``: the
    block's text is replaced, a README without the block gets it at its end, a missing README is created
    with the folder's name as its title."""
    start, end = f"<!-- table:{name}:start -->", f"<!-- table:{name}:end -->"
    table = table if table.endswith("\n") else table + "\n"
    text = readme.read_text(encoding="utf-8") if readme.exists() else f"# {readme.parent.name}\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = f"{head}{start}\n{table}{end}{rest.split(end, 1)[1]}"
    else:
        text = f"{text.rstrip()}\n\n{start}\n{table}{end}\n"
    readme.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(readme, text)
