"""The benchmark aggregation (mean ± CI over seeds, paired change over SFT) and the best-of-N baseline."""

from __future__ import annotations

import math

import pytest

from swirl_wm.evaluation.best_of_n import best_of_n
from swirl_wm.metrics import summarise
from swirl_wm.models.scoring import Scorer
from swirl_wm.records import Transition
from swirl_wm.reporting.benchmark import (
    AGENT_TABLE_KEYS,
    RANDOM_ROW,
    agent_phases,
    aggregate,
    bench_tables,
    benchmark_tables,
    learning_curve,
    paired_change,
)


def _run(seed: int, sft: float, phase1: float, bootstrap: float | None = None) -> dict:
    metrics = {"run": {"seed": seed}, "phases": [
        {"name": "sft", "test": {"fwm/rouge_l": sft, "fwm/exact_match": 0.5}},
        {"name": "iter1/phase1", "test": {"fwm/rouge_l": phase1, "fwm/exact_match": 0.5}}]}
    if bootstrap is not None:
        metrics["baselines"] = {"bootstrap": {"test": {"fwm/rouge_l": bootstrap}},
                                "best_of_n": {"n": 4, "test": {"fwm/rouge_l": sft + 1}}}
    return metrics


def _row(rows: list[dict], name: str) -> dict:
    return next(r for r in rows if r["row"] == name)


def test_aggregate_means_and_paired_deltas() -> None:
    runs = {"swirl": [_run(0, 50, 53, 49), _run(1, 60, 62, 61), _run(2, 70, 73, 70)]}
    rows = aggregate(runs)
    assert [r["row"] for r in rows][0] == "sft"
    sft = _row(rows, "sft")
    assert sft["metrics"]["fwm/rouge_l"]["mean"] == pytest.approx(60)
    assert sft["delta_vs_sft"] == {}
    phase = _row(rows, "swirl: iter1/phase1")
    # paired: the per-seed differences are 3, 2, 3 — a tight CI although the seeds' levels differ by 20
    mean, ci = summarise([3, 2, 3])
    assert phase["delta_vs_sft"]["fwm/rouge_l"]["mean"] == pytest.approx(mean)
    assert phase["delta_vs_sft"]["fwm/rouge_l"]["ci95"] == pytest.approx(ci)
    assert phase["delta_vs_sft"]["fwm/rouge_l"]["values"] == [3, 2, 3]
    assert _row(rows, "swirl: bootstrap (SFT on pseudo-labels)")["delta_vs_sft"]["fwm/rouge_l"]["values"] == [-1, 1, 0]
    assert _row(rows, "swirl: best-of-4 (SFT FWM, IDM picks)")["metrics"]["fwm/rouge_l"]["mean"] == pytest.approx(61)


def test_phase1_is_paired_with_its_own_variants_bootstrap() -> None:
    # Phase I 53, 62, 73 against the bootstrap's 49, 61, 70 on the same pseudo-labels: +4, +1, +3
    runs = {"swirl": [_run(0, 50, 53, 49), _run(1, 60, 62, 61), _run(2, 70, 73, 70)],
            "beta1": [_run(0, 50, 40), _run(1, 60, 50), _run(2, 70, 60)]}  # no bootstrap of its own
    rows = aggregate(runs)
    versus = _row(rows, "swirl: iter1/phase1")["delta_vs_bootstrap"]
    assert versus["fwm/rouge_l"]["values"] == [4, 1, 3]
    assert set(versus) == {"fwm/rouge_l"}  # FWM metrics that both rows have (the bootstrap has no exact match)
    assert "delta_vs_bootstrap" not in _row(rows, "beta1: iter1/phase1")
    text = benchmark_tables(rows)
    assert "| swirl: iter1/phase1 − bootstrap | " in text and "beta1: iter1/phase1 −" not in text


def test_variant_rows_are_paired_with_the_base_sft() -> None:
    runs = {"swirl": [_run(0, 50, 51), _run(1, 60, 61)], "beta1": [_run(0, 50, 40), _run(1, 60, 50)]}
    rows = aggregate(runs)
    assert sum(r["row"] == "sft" for r in rows) == 1
    assert _row(rows, "beta1: iter1/phase1")["delta_vs_sft"]["fwm/rouge_l"]["values"] == [-10, -10]


def test_aggregate_refuses_mismatched_seeds() -> None:
    with pytest.raises(ValueError, match="seeds"):
        aggregate({"swirl": [_run(0, 1, 2), _run(1, 1, 2)], "other": [_run(0, 1, 2)]})
    with pytest.raises(ValueError, match="no runs"):
        aggregate({})


def test_tables_mark_changes_whose_ci_excludes_zero() -> None:
    rows = aggregate({"swirl": [_run(0, 50, 53), _run(1, 60, 62), _run(2, 70, 73)]})
    text = benchmark_tables(rows)
    assert "over 3 seeds" in text
    phase_line = [line for line in text.splitlines() if line.startswith("| swirl: iter1/phase1")]
    assert len(phase_line) == 2 and phase_line[1].count("*") == 1  # ROUGE-L moved; exact match did not
    assert "+0.0 pp" in phase_line[1]  # a change of a fraction is in percentage points


def test_single_seed_has_no_interval() -> None:
    rows = aggregate({"swirl": [_run(0, 50, 53)]})
    assert math.isnan(_row(rows, "sft")["metrics"]["fwm/rouge_l"]["ci95"])
    assert "n/a" in benchmark_tables(rows)


def test_best_of_n_keeps_the_candidate_the_idm_scores_highest(tiny) -> None:
    model, tokenizer = tiny
    scorer = Scorer(model, tokenizer, batch_size=8)
    ts = [Transition(x=f"a: pos 3 vel {i}", z="push a", y=f"a: pos 4 vel {i}") for i in range(3)]
    predictions, scores = best_of_n(scorer, scorer, ts, 3, max_new_tokens=8, temperature=1.0, top_p=1.0,
                                    batch_size=8, seed=0)
    assert len(predictions) == len(scores) == 3
    from swirl_wm.models.prompts import idm_prompt

    for t, prediction, score in zip(ts, predictions, scores, strict=True):
        assert score == pytest.approx(scorer([idm_prompt(tokenizer, t.x, prediction)], [t.z])[0], abs=1e-4)
    again, _ = best_of_n(scorer, scorer, ts, 3, max_new_tokens=8, temperature=1.0, top_p=1.0, batch_size=8, seed=0)
    assert again == predictions  # seeded
    with pytest.raises(ValueError, match="n ≥ 1"):
        best_of_n(scorer, scorer, ts, 0, max_new_tokens=8, temperature=1.0, top_p=1.0, batch_size=8, seed=0)


def _agent_run(seed: int, sft: float, rl: float, seconds: float) -> dict:
    stages = {"sft/eval": {"test": {"agent/success_rate": sft}}, "rl/eval": {"test": {"agent/success_rate": rl}},
              "rl": {"seconds_per_step": seconds, "peak_rss_mb": 1000.0}}
    return agent_phases({"run": {"seed": seed}, "stages": stages})


def test_agent_runs_aggregate_and_their_cost_is_paired() -> None:
    grpo = [_agent_run(0, 0.5, 0.6, 10.0), _agent_run(1, 0.4, 0.4, 20.0)]
    paw = [_agent_run(0, 0.5, 0.7, 11.0), _agent_run(1, 0.4, 0.5, 20.0)]
    rows = aggregate({"grpo": grpo, "paw": paw})
    assert [r["row"] for r in rows] == ["sft", "grpo: rl", "paw: rl"]
    assert _row(rows, "paw: rl")["delta_vs_sft"]["agent/success_rate"]["values"] == pytest.approx([0.2, 0.1])
    assert "rl/seconds_per_step" not in _row(rows, "sft")["metrics"]  # the SFT policy has no RL cost
    cost = paired_change(paw, grpo, "rl/seconds_per_step")
    assert cost["values"] == pytest.approx([10.0, 0.0]) and cost["mean"] == pytest.approx(5.0)
    table = benchmark_tables(rows, AGENT_TABLE_KEYS)
    assert "| paw: rl | 60.0 % ± 127.1 % |" in table and "rl/seconds_per_step" in table
    with pytest.raises(ValueError, match="differ"):
        paired_change(paw[:1], grpo[1:], "rl/seconds_per_step")


def _full_agent_run(seed: int, sft: tuple[float, float], rl: tuple[float, float], random: tuple[float, float],
                    mixed: list[float], curve: list[tuple[int, float]]) -> dict:
    """An agent run's metrics.json with every record: (test, train) success of SFT, RL and the random policy,
    the mixed-group fraction per generation batch, and dev success at RL steps."""
    def evaluation(test: float, train: float) -> dict:
        return {"test": {"agent/success_rate": test, "agent/mean_steps": 5.0},
                "train": {"agent/success_rate": train, "agent/mean_steps": 4.0}}

    stages = {"sft/eval": evaluation(*sft), "rl/eval": evaluation(*rl), "baseline/random": evaluation(*random),
              "rl": {"seconds_per_step": 10.0, "peak_rss_mb": 1000.0,
                     "rollouts": [{"success_rate": 0.5, "mixed_groups": m} for m in mixed],
                     "curve": [{"step": s, "agent/success_rate": v, "agent/mean_steps": 3.0} for s, v in curve]}}
    return {"run": {"seed": seed}, "stages": stages}


def _agent_study() -> dict[str, list[dict]]:
    """Two variants × two seeds; PaW's seed 1 stopped its curve before step 4."""
    return {"grpo": [agent_phases(_full_agent_run(0, (0.5, 0.8), (0.6, 0.9), (0.1, 0.2), [0.5, 0.25],
                                                  [(0, 0.4), (2, 0.5), (4, 0.6)])),
                     agent_phases(_full_agent_run(1, (0.3, 0.6), (0.4, 0.7), (0.0, 0.1), [0.0, 0.5],
                                                  [(0, 0.2), (2, 0.3), (4, 0.4)]))],
            "paw": [agent_phases(_full_agent_run(0, (0.5, 0.8), (0.7, 1.0), (0.1, 0.2), [1.0, 0.5],
                                                 [(0, 0.4), (2, 0.6), (4, 0.8)])),
                    agent_phases(_full_agent_run(1, (0.3, 0.6), (0.5, 0.8), (0.0, 0.1), [0.5, 0.5],
                                                 [(0, 0.2), (2, 0.5)]))]}


def test_agent_rows_carry_the_random_policy_train_success_and_mixed_groups() -> None:
    rows = aggregate(_agent_study())
    assert [r["row"] for r in rows] == ["sft", "grpo: rl", RANDOM_ROW, "paw: rl"]
    assert RANDOM_ROW == "random admissible action (trivial)"
    random = _row(rows, RANDOM_ROW)
    assert random["metrics"]["agent/success_rate"]["values"] == [0.1, 0.0]
    assert random["metrics"]["agent/train_success_rate"]["mean"] == pytest.approx(0.15)
    assert random["delta_vs_sft"]["agent/success_rate"]["values"] == pytest.approx([-0.4, -0.3])
    assert "rl/mixed_groups" not in random["metrics"] and "rl/mixed_groups" not in _row(rows, "sft")["metrics"]
    assert _row(rows, "sft")["metrics"]["agent/train_success_rate"]["mean"] == pytest.approx(0.7)
    grpo = _row(rows, "grpo: rl")
    assert grpo["metrics"]["agent/train_success_rate"]["values"] == [0.9, 0.7]
    assert grpo["delta_vs_sft"]["agent/train_success_rate"]["values"] == pytest.approx([0.1, 0.1])
    # mean over generation batches per seed: (0.5 + 0.25) / 2 and (0 + 0.5) / 2; then over seeds
    assert grpo["metrics"]["rl/mixed_groups"]["values"] == [0.375, 0.25]
    assert _row(rows, "paw: rl")["metrics"]["rl/mixed_groups"]["mean"] == pytest.approx(0.625)
    table = benchmark_tables(rows, AGENT_TABLE_KEYS)
    header = table.splitlines()[2]
    assert header == ("| model | agent/success_rate | agent/train_success_rate | agent/mean_steps | rl/mixed_groups | "
                      "rl/seconds_per_step | rl/peak_rss_mb |")
    # 0.05 ± t(0.975, 1) · 0.05 = 63.5 pp; 0.15 likewise; no RL, so no mixed groups and no cost
    assert f"| {RANDOM_ROW} | 5.0 % ± 63.5 % | 15.0 % ± 63.5 % | 5.00 ± 0.00 | — | — | — |" in table
    assert "| grpo: rl | 50.0 % ± 127.1 % | 80.0 % ± 127.1 % | 5.00 ± 0.00 | 31.2 % ± 79.4 % |" in table


def test_agent_learning_curve_is_the_mean_over_seeds_per_step() -> None:
    curve = learning_curve(_agent_study())
    assert [p["step"] for p in curve["grpo"]] == [0, 2, 4]
    assert [p["mean"] for p in curve["grpo"]] == pytest.approx([0.3, 0.4, 0.5])
    assert curve["grpo"][0]["values"] == [0.4, 0.2] and curve["grpo"][0]["ci95"] == pytest.approx(12.706 * 0.1, 1e-4)
    assert [p["mean"] for p in curve["paw"]] == pytest.approx([0.3, 0.55, 0.8])
    assert curve["paw"][2]["seeds"] == [0] and math.isnan(curve["paw"][2]["ci95"])  # only seed 0 reached step 4
    assert "seeds" not in curve["paw"][1]
    assert learning_curve({"grpo": [_agent_run(0, 0.5, 0.6, 1.0)]}) == {}  # no eval.curve_every


def _agent_result(runs: dict[str, list[dict]]) -> dict:
    grpo = runs["grpo"]
    return {"config": {"name": "paw", "env": {"name": "textworld"}}, "variants": {v: {} for v in runs},
            "rows": aggregate(runs), "curve": learning_curve(runs),
            "cost_vs_base": {v: {k: paired_change(ms, grpo, k) for k in ("rl/seconds_per_step", "rl/peak_rss_mb")}
                             for v, ms in runs.items() if v != "grpo"}}


def test_bench_tables_print_the_new_columns_and_the_curve() -> None:
    text = bench_tables(_agent_result(_agent_study()))
    assert "agent/train_success_rate" in text and "rl/mixed_groups" in text and f"| {RANDOM_ROW} |" in text
    curve = text[text.index("| RL step |"):].splitlines()
    assert curve[0] == "| RL step | grpo | paw |"
    assert curve[2] == "| 0 (SFT) | 30.0 % ± 127.1 % | 30.0 % ± 127.1 % |"
    assert curve[3] == "| 2 | 40.0 % ± 127.1 % | 55.0 % ± 63.5 % |"
    assert curve[4] == "| 4 | 50.0 % ± 127.1 % | 80.0 % ± n/a (n = 1) |"


def test_bench_tables_of_runs_without_the_new_records_still_render() -> None:
    runs = {"grpo": [_agent_run(0, 0.5, 0.6, 10.0), _agent_run(1, 0.4, 0.4, 20.0)],
            "paw": [_agent_run(0, 0.5, 0.7, 11.0), _agent_run(1, 0.4, 0.5, 20.0)]}
    result = _agent_result(runs)
    assert result["curve"] == {}
    text = bench_tables(result)
    assert "| RL step |" not in text and "train_success_rate" not in text and RANDOM_ROW not in text
    del result["curve"]  # a result JSON written before the curve was kept
    assert bench_tables(result) == text
    mixed = {"grpo": runs["grpo"], "paw": _agent_study()["paw"]}  # one variant with the records, one without
    table = bench_tables(_agent_result(mixed))
    assert "| grpo: rl | 50.0 % ± 127.1 % | — |" in table


def test_write_bench_tables_plots_the_learning_curve(tmp_path) -> None:
    from swirl_wm.recipes.bench import write_bench_tables

    output = tmp_path / "paw.json"
    write_bench_tables(_agent_result(_agent_study()), output)
    assert (tmp_path / "paw-curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert output.with_suffix(".md").read_text(encoding="utf-8").startswith("# Benchmark: paw")


def test_trivial_baselines_and_the_oracle_are_rows_paired_with_sft() -> None:
    runs = []
    for seed, (sft, copy, oracle) in enumerate([(50, 40, 70), (60, 44, 75)]):
        m = _run(seed, sft, sft + 1)
        m["trivial_baselines"] = {"copy": {"test": {"fwm/rouge_l": copy}, "val": {}}}
        m["baselines"] = {"oracle": {"test": {"fwm/rouge_l": oracle}}}
        runs.append(m)
    rows = aggregate({"swirl": runs})
    assert _row(rows, "copy the state (ŷ = x) (trivial)")["delta_vs_sft"]["fwm/rouge_l"]["values"] == [-10, -16]
    assert _row(rows, "oracle (SFT on L + U with true actions)")["metrics"]["fwm/rouge_l"]["mean"] == 72.5


def _load_script(name: str):
    """``benchmarks/<name>.py`` imported by name (spawned harness workers import it so too)."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    return importlib.import_module(name)


def test_harness_writes_its_tables_into_a_study_readme_not_the_project_readme(tmp_path, monkeypatch, capsys):
    """``benchmarks/harness.py``, ``swirl bench``'s command line as the studies cite it: ``--study DIR``: the JSON
    defaults to DIR/<config name>.json, its Markdown goes beside it and into DIR's README block named after the
    JSON (added when missing, replaced after); ``--readme`` is gone."""
    import json
    import shutil
    import sys
    from pathlib import Path

    from swirl_wm.reporting.study import read_blocks

    harness = _load_script("harness")
    root = Path(__file__).parents[2]
    study = tmp_path / "q"
    study.mkdir()
    shutil.copy(root / "studies/environments/webshop.json", study / "webshop.json")
    (study / "README.md").write_text("# q\n\nprose\n", encoding="utf-8")
    argv = ["harness.py", str(root / "configs/webshop.yaml"), "--render", "--study", str(study)]
    monkeypatch.setattr(sys, "argv", argv)
    harness.main()
    table = bench_tables(json.loads((study / "webshop.json").read_text(encoding="utf-8")))
    assert read_blocks(study / "README.md") == {"webshop": table}
    assert (study / "webshop").with_suffix(".md").read_text(encoding="utf-8") == f"# Benchmark: webshop\n\n{table}"
    assert "prose" in (study / "README.md").read_text(encoding="utf-8")
    harness.main()  # again: the block is replaced, not added twice
    assert (study / "README.md").read_text(encoding="utf-8").count("<!-- table:webshop:start -->") == 1
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", [*argv, "--readme", "README.md"])
    with pytest.raises(SystemExit):
        harness.main()
    assert "unrecognized arguments: --readme" in capsys.readouterr().err


def test_study_merges_the_seeds_of_one_labelled_size():
    study = _load_script("study")

    def result(seeds, sft, swirl, labelled=40):
        def stats(values):
            return {"fwm/field_accuracy": {"mean": sum(values) / len(values), "ci95": 0.0, "values": values}}
        return {"config": {"seed": seeds[0], "data": {"split": {"max_labelled_episodes": labelled}}},
                "variants": {"swirl": {}}, "seeds": seeds, "wall_time_s": 10.0, "git_commit": "abc",
                "run_dirs": {"swirl": [f"run{s}" for s in seeds]},
                "rows": [{"row": "sft", "seeds": seeds, "metrics": stats(sft), "delta_vs_sft": {}},
                         {"row": "swirl: iter1/phase1", "seeds": seeds, "metrics": stats(swirl),
                          "delta_vs_sft": stats([w - s for w, s in zip(swirl, sft, strict=True)])}]}

    merged = study.merge_results([result([0, 1], [0.5, 0.7], [0.6, 0.7]), result([2], [0.6], [0.9]),
                                  result([0], [0.1], [0.2], labelled=20)])
    assert [m["seeds"] for m in merged] == [[0, 1, 2], [0]]
    forty = merged[0]
    swirl = next(r for r in forty["rows"] if r["row"] == "swirl: iter1/phase1")
    assert swirl["metrics"]["fwm/field_accuracy"]["values"] == [0.6, 0.7, 0.9]
    assert swirl["delta_vs_sft"]["fwm/field_accuracy"]["mean"] == pytest.approx((0.1 + 0.0 + 0.3) / 3)
    assert forty["run_dirs"]["swirl"] == ["run0", "run1", "run2"] and forty["wall_time_s"] == 20.0
    assert study.study_of(forty, "fwm/field_accuracy")["arms"]["SWIRL (Phase I)"]["mean"] == pytest.approx(2.2 / 3)
    partial = result([5, 6], [0.5, 0.7], [0.6, 0.7])
    partial["rows"][0]["metrics"]["fwm/field_accuracy"]["values"] = [0.5]  # evaluated before the metric existed
    sft = study.merge_results([result([0], [0.5], [0.6]), partial])[0]["rows"][0]
    assert "fwm/field_accuracy" not in sft["metrics"]  # not a mean over some of the seeds
    with pytest.raises(ValueError, match="more than one result"):
        study.merge_results([result([0], [0.5], [0.6]), result([0], [0.5], [0.6])])
    other = result([3], [0.5], [0.6])
    other["variants"] = {"swirl": {}, "beta1": {}}
    with pytest.raises(ValueError, match="different configs or variants"):
        study.merge_results([result([0], [0.5], [0.6]), other])


def test_study_takes_the_oracle_from_separate_runs_paired_with_their_own_sft():
    study = _load_script("study")

    def arm(values, deltas=None):
        return {"mean": sum(values) / len(values), "ci95": 0.0, "values": values} | (
            {"delta_vs_sft": {"mean": sum(deltas) / len(deltas), "ci95": 0.0, "values": deltas}} if deltas else {})

    main = {"L": 20, "seeds": [0, 1, 2], "trivial": {}, "oracle_gap_closed": {}, "rl_vs_bootstrap": None,
            "arms": {"SFT": arm([0.6, 0.7, 0.8]), "SWIRL (Phase I)": arm([0.65, 0.7, 0.9], [0.05, 0.0, 0.1]),
                     "bootstrap": arm([0.7, 0.75, 0.8], [0.1, 0.05, 0.0])}}
    # Separate runs: their SFT′ differs from the study's SFT; seed 3 is not in the study, seed 2 has no oracle.
    oracle = {"L": 20, "seeds": [1, 0, 3], "trivial": {}, "oracle_gap_closed": {}, "rl_vs_bootstrap": None,
              "arms": {"SFT": arm([0.68, 0.62, 0.5]), "oracle": arm([0.88, 0.82, 0.9], [0.2, 0.2, 0.4])}}
    out = study.attach_oracle(main, oracle)
    assert out["arms"]["oracle"]["values"] == [0.82, 0.88] and out["arms"]["oracle"]["seeds"] == [0, 1]
    assert out["arms"]["oracle"]["delta_vs_sft"]["values"] == [0.2, 0.2]
    # (arm − SFT) / (oracle − SFT′) per shared seed: SWIRL 0.05 / 0.2 and 0.0 / 0.2; bootstrap 0.1 / 0.2, 0.05 / 0.2.
    assert out["oracle_gap_closed"]["SWIRL (Phase I)"]["values"] == pytest.approx([0.25, 0.0])
    assert out["oracle_gap_closed"]["bootstrap"]["values"] == pytest.approx([0.5, 0.25])
    assert out["oracle_gap_closed"].keys() == {"SWIRL (Phase I)", "bootstrap"}
    assert out["oracle_sft"] == {"seeds": [0, 1], "oracle_runs": [0.62, 0.68], "study": [0.6, 0.7]}
    assert "oracle" not in main["arms"]  # a new study, the input unchanged
    text = study.markdown([out], "fwm/field_accuracy")
    assert "Fraction of the oracle gap each arm closes" in text and "SFT′ 62.0 % / 68.0 %" in text
    assert "| 20 | +0.12 ± " in text and " | +0.38 ± " in text  # SWIRL's and the bootstrap's mean fraction
    assert "85.0 ± " in text and text.count("(n = 2)") == 4  # the oracle's cell, its change, the two gaps
    assert study.attach_oracle(main, oracle | {"seeds": [7, 8, 9]}) is main  # no shared seed
    with pytest.raises(ValueError, match="L = 40"):
        study.attach_oracle(main, oracle | {"L": 40})


def test_aggregate_reads_the_validation_split_when_asked() -> None:
    runs = {"swirl": [_run(0, 50, 53), _run(1, 60, 62)]}
    for run, shift in zip(runs["swirl"], (1, 2), strict=True):
        for phase in run["phases"]:
            phase["val"] = {"fwm/rouge_l": phase["test"]["fwm/rouge_l"] + shift}
    val = aggregate(runs, split="val")
    assert _row(val, "sft")["metrics"]["fwm/rouge_l"]["values"] == [51, 62]
    assert _row(val, "swirl: iter1/phase1")["delta_vs_sft"]["fwm/rouge_l"]["values"] == [3, 2]
    assert _row(aggregate(runs), "sft")["metrics"]["fwm/rouge_l"]["values"] == [50, 60]
