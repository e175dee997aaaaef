"""The report's tables, parsed: every table of report.md and report.html is well-formed (each row as wide as
its header, none left as raw pipes), the user's text (a run name, a model's source) is escaped, a Phase I
whose reward never varied is said to have had no signal, and the console's summary keeps every phase name
at 80 columns."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from rich.console import Console

from swirl_wm.reporting.html import write_html_report
from swirl_wm.reporting.markdown import md_table, report_markdown, sft_curve_lines
from swirl_wm.reporting.model_card import model_card

HOSTILE = "<script>alert(1)</script> | <b>bold</b> & co"


def _log(rewards: list[float], std: float = 0.5) -> list[dict[str, float]]:
    return [{"step": i + 1, "reward": r, "reward_std": std, "kl": 0.0, "loss": 0.01} for i, r in enumerate(rewards)]


def _metrics() -> dict[str, Any]:
    """A run with every section of the report: SFT with a loss-only learning curve (sft.curve_examples 0),
    Phase I and II, rollouts, trivial and other baselines, latent actions with both reward checks."""
    scores = {"fwm/exact_match": 0.1, "fwm/rouge_l": 60.0, "fwm/field_accuracy": 0.5, "idm/rouge_l": 40.0,
              "idm/grounded_accuracy": 0.3}
    signal = {"groups": 4, "distinct_fraction": 0.5, "reward_std": 0.2, "corr_reward_quality": 0.3,
              "corr_reward_quality_ci95": 0.1, "best_minus_mean": 0.05, "mean_quality": 0.4}
    rollout = {"model": [{"step": 1, "episodes": 3, "fwm/field_accuracy": 0.5}],
               "copy": [{"step": 1, "episodes": 3, "fwm/field_accuracy": 0.4}]}
    return {
        "run": {"name": HOSTILE, "seed": 0, "git_commit": "abc", "env": "jsonl", "model": "a/b",
                "model_source": f"local folder {HOSTILE}", "machine": {"cpu": "2 | 4 <cores>"}, "wall_time_s": 1.0,
                "data": {"episodes": 4, "labelled": 3, "truncated": 0}},
        "phases": [
            {"name": "sft", "iteration": 0, "role": "both", "val": scores, "test": scores, "rollout": rollout,
             "checkpoints": {"fwm": "checkpoints/sft/fwm", "idm": "checkpoints/sft/idm"},
             "train_log": [{"step": 2, "role": "fwm", "eval_loss": 1.5}, {"step": 2, "role": "idm", "eval_loss": 2.5}]},
            {"name": "iter1/phase1", "iteration": 1, "role": "fwm", "val": scores, "test": scores, "rollout": rollout,
             "checkpoints": {"fwm": "checkpoints/iter1-phase1/fwm", "idm": "checkpoints/sft/idm"},
             "train_log": _log([-3.0, -2.0, -1.0]),
             "latent_actions": {"pairs": 4, "kept": 4, "distinct_fraction": 1.0, "mean_words": 3.0},
             "warm_start_check": {"reward_signal": signal, "idm_val": {"idm/rouge_l": 40.0}}},
            {"name": "iter1/phase2", "iteration": 1, "role": "idm", "val": scores, "test": scores,
             "checkpoints": {"fwm": "checkpoints/iter1-phase1/fwm", "idm": "checkpoints/iter1-phase2/idm"},
             "train_log": _log([-2.0, -1.0]), "phase2_check": {"reward_signal": signal}},
        ],
        "trivial_baselines": {"copy": {"test": {"fwm/rouge_l": 50.0}, "val": {"fwm/rouge_l": 50.0}}},
        "baselines": {"bootstrap": {"test": {"fwm/rouge_l": 55.0}}},
        "best": {"fwm": "iter1/phase1", "idm": "sft",
                 "criterion": {"fwm": "val fwm/rouge_l", "idm": "val idm/rouge_l"}},
    }


class _Page(HTMLParser):
    """The page's tables (rows of cell counts), its start tags, and its text outside tables and code."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[int]] = []
        self.tags: list[str] = []
        self.loose_text: list[str] = []
        self._depth = {"table": 0, "code": 0, "pre": 0}

    def handle_starttag(self, tag: str, _attrs) -> None:
        self.tags.append(tag)
        if tag in self._depth:
            self._depth[tag] += 1
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("td", "th"):
            self.tables[-1][-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._depth:
            self._depth[tag] -= 1

    def handle_data(self, data: str) -> None:
        if not any(self._depth.values()):
            self.loose_text.append(data)


def _markdown_tables(text: str) -> list[list[list[str]]]:
    """Each Markdown table of ``text`` as rows of cells (a cell boundary is a pipe not escaped)."""
    tables: list[list[list[str]]] = []
    previous = False
    for line in text.splitlines():
        row = line.startswith("|")
        if row:
            cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
            if not previous:
                tables.append([])
            tables[-1].append(cells)
        previous = row
    return tables


def test_every_table_of_the_html_page_is_well_formed_and_user_text_escaped(tmp_path: Path) -> None:
    page = write_html_report(_metrics(), tmp_path).read_text(encoding="utf-8")
    parsed = _Page()
    parsed.feed(page)
    assert len(parsed.tables) >= 10  # run, test, val, rollouts, SFT curve, gain, baselines, latent, 2 checks, glossary
    for rows in parsed.tables:
        assert rows and all(cells == rows[0] for cells in rows), rows
    assert "script" not in parsed.tags and "b" not in parsed.tags  # the run's text is shown, never run
    assert "<script>alert(1)</script>" in "".join(parsed.loose_text)  # ... as text, in the title
    assert not any(line.strip().startswith("|") for line in "".join(parsed.loose_text).splitlines())
    assert "SFT learning curve" in page


def test_every_table_of_the_markdown_report_is_as_wide_as_its_header() -> None:
    text = report_markdown(_metrics(), None)
    tables = _markdown_tables(text)
    assert len(tables) >= 10
    for rows in tables:
        assert all(len(cells) == len(rows[0]) for cells in rows), rows
        assert set("".join(rows[1])) <= set("-: "), rows[1]  # the separator, right under the header
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_a_learning_curve_of_losses_only_is_a_table() -> None:
    lines = sft_curve_lines(_metrics()["phases"])
    assert lines[2:] == ["| role | step | val loss |", "|---|---:|---:|", "| fwm | 2 | 1.50 |", "| idm | 2 | 2.50 |"]


def test_the_table_writer_pads_and_cuts_rows_to_the_header() -> None:
    assert md_table(["a", "b"], [["x"], ["1", "2", "3"], ["p|q", "line\nbreak"]], "l") == [
        "| a | b |", "|---|---|", "| x |  |", "| 1 | 2 |", "| p\\|q | line break |"]


def test_a_reward_pinned_at_the_clamp_is_no_signal_not_ok() -> None:
    metrics = _metrics()
    metrics["phases"][1]["train_log"] = _log([-10.0, -10.0, -10.0], std=0.0)
    text = report_markdown(metrics, None)
    assert "**`iter1/phase1`: no reward signal**: every sample of every group got the same reward (mean -10.00" in text
    assert "`iter1/phase1`: ok" not in text
    metrics["phases"][1]["train_log"] = [{"step": i, "reward": -10.0} for i in (1, 2)]  # a log without reward_std
    assert "no reward signal" in report_markdown(metrics, None)


def test_a_model_card_without_trivial_baselines_has_a_well_formed_table() -> None:
    metrics = _metrics()
    del metrics["trivial_baselines"]
    card = model_card(metrics, metrics["phases"][0], "fwm", "checkpoints/sft/fwm", "name: r\n")
    [table] = [t for t in _markdown_tables(card) if t[0][0].strip() == "metric"]
    assert all(len(cells) == 3 for cells in table), table
    assert "# &lt;script&gt;" in card


def test_the_console_summary_at_80_columns_keeps_every_name_and_value() -> None:
    from swirl_wm.cli.main import summary_tables

    metrics = _metrics()
    metrics["phases"][1]["test"] = metrics["phases"][1]["test"] | {"fwm/rouge_l": 63.25}
    console = Console(width=80, record=True, color_system=None)
    for table in summary_tables(metrics, 80):
        console.print(table)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    for name in ("iter1/phase1", "iter1/phase2", "copy the state (ŷ = x)", "63.25", "30.0 %"):
        assert name in text, (name, text)
    assert "…" not in text


def test_the_console_summary_puts_the_trained_baselines_after_the_phases() -> None:
    from swirl_wm.cli.main import summary_tables

    metrics = _metrics() | {"baselines": {"bootstrap": {"test": {"fwm/field_accuracy": 0.7}},
                                          "oracle": {"test": {"fwm/field_accuracy": 0.9}}}}
    console = Console(width=200, record=True, color_system=None)
    for table in summary_tables(metrics, 200):
        console.print(table)
    text = console.export_text()
    order = [text.index(name) for name in ("iter1/phase2", "bootstrap (SFT on the pseudo-labels)",
                                           "oracle (SFT on L + U", "copy the state (ŷ = x)")]
    assert order == sorted(order) and "70.0 %" in text and "90.0 %" in text
