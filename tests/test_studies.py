"""Every study folder's README tables are what its committed JSON gives (``benchmarks/studies.py``), so a table
cannot drift from its results; no model runs."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _studies():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module("studies")


STUDIES = _studies().study_names()


@pytest.mark.parametrize("name", STUDIES)
def test_readme_tables_match_their_json(name: str) -> None:
    studies = _studies()
    assert studies.stale(name) == [], f"run: python benchmarks/studies.py {name}"


@pytest.mark.parametrize("name", STUDIES)
def test_readme_gives_the_command_that_regenerates_it(name: str) -> None:
    readme = (ROOT / "studies" / name / "README.md").read_text(encoding="utf-8")
    assert f"python benchmarks/studies.py {name}\n" in readme


@pytest.mark.parametrize("name", STUDIES)
def test_markdown_beside_a_result_holds_its_readme_table(name: str) -> None:
    """``<name>.md`` next to ``<name>.json`` (written by study.py or the harness) ends with the README's
    ``table:<name>``."""
    studies = _studies()
    folder = ROOT / "studies" / name
    blocks = studies.read_blocks(folder / "README.md")
    for block, text in blocks.items():
        md = folder / f"{block}.md"
        if md.exists():
            assert md.read_text(encoding="utf-8").endswith(text), f"{md} differs from its README block"


def test_the_registered_studies_are_there() -> None:
    studies = _studies()
    assert {"label-efficiency", "bfcl", "visual", "agents", "speed", "environments"} <= set(studies.STUDIES)
    assert all((ROOT / "studies" / name / "README.md").exists() for name in studies.STUDIES)


def test_files_a_readme_names_exist() -> None:
    """Every ``something.json`` / ``.md`` / ``.png`` a study README cites in backticks or an image is in its folder
    (brace lists such as ``physics.{json,md,png}`` expanded; globs matched; a run folder's files aside)."""
    import re

    run_files = {"metrics.json", "config.yaml", "state.json", "report.md"}

    for name in STUDIES:
        folder = ROOT / "studies" / name
        text = (folder / "README.md").read_text(encoding="utf-8")
        cited = re.findall(r"`([\w.*-]+)\.\{([\w,]+)\}`", text)
        names = [f"{stem}.{ext}" for stem, exts in cited for ext in exts.split(",")]
        names += re.findall(r"`([\w*-]+(?:\.[\w*-]+)*\.(?:json|md|png))`", text)
        names += re.findall(r"!\[[^\]]*\]\(([\w.-]+)\)", text)
        for file in set(names) - run_files:
            assert list(folder.glob(file)), f"studies/{name}/README.md cites {file}, which is not there"


def test_a_block_is_replaced_appended_or_created(tmp_path: Path) -> None:
    studies = _studies()
    readme = tmp_path / "q" / "README.md"
    studies.write_block(readme, "t", "| a |\n")
    assert readme.read_text(encoding="utf-8") == "# q\n\n<!-- table:t:start -->\n| a |\n<!-- table:t:end -->\n"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nprose after\n", encoding="utf-8")
    studies.write_block(readme, "t", "| b |")
    studies.write_block(readme, "u", "| c |\n")
    assert studies.read_blocks(readme) == {"t": "| b |\n", "u": "| c |\n"}
    assert "prose after" in readme.read_text(encoding="utf-8")


def test_a_change_says_whether_its_interval_excludes_zero() -> None:
    studies = _studies()
    assert studies.change("fwm/field_accuracy", {"mean": 0.068, "ci95": 0.048}) == "**+6.8 ± 4.8 pp**"
    assert studies.change("fwm/bleu", {"mean": 1.1, "ci95": 1.56}) == "+1.10 ± 1.56, not significant"
    assert studies.change("fwm/bleu", {"mean": 3.85, "ci95": float("nan")}) == "+3.85 (one seed)"
    assert studies.change("idm/bleu", {"mean": 0.0, "ci95": 0.0}) == "0 (unchanged)"


def test_an_answer_pairs_two_trained_rows_by_seed() -> None:
    """``versus``: row a − row b seed by seed; differences 0.1, 0.2, 0.2 → mean 0.1667, sd 0.0577, t(2) 4.303
    → ± 0.1434."""
    studies = _studies()

    def row(name: str, values: list[float]) -> dict:
        return {"row": name, "metrics": {"agent/success_rate": {"values": values, "mean": sum(values) / 3,
                                                                "ci95": 0.0}}, "delta_vs_sft": {}}

    result = {"seeds": [0, 1, 2], "rows": [row("grpo: rl", [0.4, 0.4, 0.5]), row("paw: rl", [0.5, 0.6, 0.7])]}
    table = studies.harness_answer(result, {"GRPO": "grpo: rl", "GRPO + PaW": "paw: rl"},
                                   {"success": "agent/success_rate"}, versus=[("GRPO + PaW", "GRPO")])
    assert "| GRPO + PaW − GRPO | **+16.7 ± 14.3 pp** |" in table
