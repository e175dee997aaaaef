"""Every document the repository refers to is in the repository, and every section it cites exists.

Code, tests, configs, benchmarks and docs cite documents by name (``method.md §1.4``, ``trl-notes.md trap 5``,
``environments.md (BFCL row)``, ``docs/design.md``). A clone must be able to read each one, so a reference
resolves when it names a file of the repository — a path from the root or from the citing file's folder, or a
page of ``docs/`` — or a file that a run writes into its own folder (the report, a checkpoint's model card).
The citations into the docs must land: a ``§`` of method.md is one of its numbered headings, a trap of
trl-notes.md one of its numbered traps, a row of environments.md one of its table rows.

Pure text scanning, no imports of the package: this runs in a fraction of a second.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Where references are looked for: every folder and top-level file of the repository that holds text.
SCANNED = ("src", "tests", "configs", "benchmarks", "docs", "studies", "scripts", "examples", "README.md",
           "pyproject.toml", "Makefile", "constraints.txt", "mkdocs.yml")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".sh", ".json", ""}
SKIPPED_DIRS = {"__pycache__", "build", "site", ".venv"}
# Files a run writes into its own folder, which code and README name as such (the pattern, and the module
# that writes the name, so that the exception is removed if the file is ever renamed).
RUN_OUTPUTS = {
    re.compile(r"(^|/)report\.md$"): ("src/swirl_wm/run_folder.py", '"report.md"'),
    re.compile(r"(^|/)checkpoints/.+/README\.md$"): ("src/swirl_wm/reporting/model_card.py", '"README.md"'),
}
# A document reference: a file name ending in .md, with an optional relative folder path before it. A name
# right after a word character, dot or hyphen is part of something else (a template such as ``{stem}.md``).
REFERENCE = re.compile(r"(?<![\w.-])((?:[\w.-]+/)*[\w-]+\.md)(?![\w-])")
METHOD_CITATION = re.compile(r"method\.md((?:[ ,;]*§\d+(?:\.\d+)?(?:[–-]\d+(?:\.\d+)?)?)+)")
TRAP_CITATION = re.compile(r"trl-notes\.md,? traps? (\d+)(?:[–-](\d+))?")
ROW_CITATION = re.compile(r"environments\.md,? \(([^():{}]+?) rows?\b")


def scanned_files() -> list[Path]:
    files = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                parts = set(file.relative_to(ROOT).parts)
                if (file.is_file() and file.suffix in SUFFIXES and not parts & SKIPPED_DIRS
                        and not any(p.endswith(".egg-info") or p.startswith(".") for p in parts)):
                    files.append(file)
    return files


def texts() -> list[tuple[Path, str]]:
    out = []
    for file in scanned_files():
        try:
            out.append((file, file.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue  # a binary file with a text-like name
    return out


def where(file: Path, text: str, offset: int) -> str:
    return f"{file.relative_to(ROOT)}:{text.count(chr(10), 0, offset) + 1}"


def resolves(reference: str, citing: Path) -> bool:
    """Whether ``reference`` (as written in ``citing``) names a file that a clone of the repository has."""
    candidates = [ROOT / reference, citing.parent / reference, DOCS / reference.removeprefix("docs/")]
    if any(c.is_file() and ROOT in c.resolve().parents for c in candidates):
        return True
    return any(pattern.search(reference) for pattern in RUN_OUTPUTS)


def test_run_outputs_are_written_under_those_names():
    """The exceptions for files that runs write hold only while the code writes them under those names."""
    for source, literal in RUN_OUTPUTS.values():
        assert literal in (ROOT / source).read_text(encoding="utf-8"), f"{source} no longer writes {literal}"


def test_every_referenced_document_is_in_the_repository():
    missing = [f"{where(file, text, m.start())}: {m.group(1)}"
               for file, text in texts() for m in REFERENCE.finditer(text) if not resolves(m.group(1), file)]
    assert not missing, "references to documents this repository does not hold:\n" + "\n".join(missing)


def _method_sections() -> set[str]:
    headings = re.findall(r"^#{2,4} (\d+(?:\.\d+)?)\.? ", (DOCS / "method.md").read_text(encoding="utf-8"), re.M)
    return set(headings)


def _traps() -> set[int]:
    text = (DOCS / "trl-notes.md").read_text(encoding="utf-8")
    section = text.split("## GRPOTrainer", 1)[1].split("\n## ", 1)[0]
    return {int(n) for n in re.findall(r"^(\d+)\. ", section, re.M)}


def _environment_rows() -> set[str]:
    rows = re.findall(r"^\| \*\*([^*]+)\*\*", (DOCS / "environments.md").read_text(encoding="utf-8"), re.M)
    return {row.strip() for row in rows}


def test_cited_sections_of_the_docs_exist():
    sections, traps, rows = _method_sections(), _traps(), _environment_rows()
    assert {"1.1", "1.3", "1.4", "1.6", "2"} <= sections and set(range(1, 10)) <= traps  # the parsers work
    broken = []
    for file, text in texts():
        for m in METHOD_CITATION.finditer(text):
            cited = re.findall(r"\d+(?:\.\d+)?", m.group(1))
            broken += [f"{where(file, text, m.start())}: method.md §{s}" for s in cited if s not in sections]
        for m in TRAP_CITATION.finditer(text):
            cited = range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1)
            broken += [f"{where(file, text, m.start())}: trl-notes.md trap {n}" for n in cited if n not in traps]
        for m in ROW_CITATION.finditer(text):
            cited = [name.strip() for name in re.split(r",| and ", m.group(1)) if name.strip()]
            broken += [f"{where(file, text, m.start())}: environments.md ({name} row)" for name in cited
                       if not any(row.startswith(name) for row in rows)]
    assert not broken, "citations of sections the docs do not have:\n" + "\n".join(broken)
