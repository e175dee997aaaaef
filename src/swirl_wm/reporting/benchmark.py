"""Aggregate several seeded runs into benchmark rows: mean ± 95 % CI per metric, and the paired change
over SFT (the comparisons SWIRL §4 reports: SWIRL vs SFT, RL vs SFT on pseudo-labels, and test-time
verification).

Input: ``{variant: [metrics.json dict of seed 1, seed 2, ...]}``, as the training loop writes them. A *row*
is one model evaluated on the test split over the seeds: ``sft``; every SWIRL phase of every variant
(``<variant>: iter1/phase1`` ...); the baselines a run computed (``best-of-N``, ``bootstrap``); and the trivial
baselines (``… (trivial)``; for agent runs the random admissible policy).

The change over SFT is *paired*: per seed, the row's value minus that seed's SFT value (same data, same
split, same warm start), then mean ± CI over seeds. A CI that excludes 0 is what "beats SFT" means here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from swirl_wm.metrics import summarise
from swirl_wm.reporting.markdown import MISSING, TRIVIAL_NAMES, format_value

# Columns of the Markdown table, when present in the runs (the JSON keeps every metric).
TABLE_KEYS = ("fwm/exact_match", "fwm/bleu", "fwm/rouge_l", "fwm/json_field_f1", "fwm/well_formed",
              "fwm/field_accuracy", "fwm/effect_accuracy", "fwm/psnr", "fwm/ssim", "fwm/code_accuracy",
              "fwm/changed_cell_accuracy", "fwm/unchanged_cells_broken",
              "fwm/embedding_similarity", "fwm/log_likelihood", "idm/exact_match", "idm/bleu", "idm/rouge_l",
              "idm/grounded_accuracy")


BOOTSTRAP_ROW = "bootstrap (SFT on pseudo-labels)"
BOOTSTRAP_PHASE1_ROW = "bootstrap → Phase I"
ORACLE_ROW = "oracle (SFT on L + U with true actions)"
PSEUDO_LABEL_SFT_ROW = "pseudo-label SFT (the oracle's recipe, IDM actions)"
RANDOM_ROW = f"{TRIVIAL_NAMES['random']} (trivial)"  # agent runs' trivial baseline (baseline/random)

# Columns for agent runs (PaW, method.md §2): task success (held-out, then train tasks), the policy's own world
# model, whether GRPO had a signal (groups with mixed outcomes), and RL cost per step.
AGENT_TABLE_KEYS = ("agent/success_rate", "agent/train_success_rate", "agent/mean_return", "agent/mean_steps",
                    "wm/exact_match", "wm/rouge_l", "rl/mixed_groups", "rl/seconds_per_step", "rl/peak_rss_mb")
CURVE_KEY = "agent/success_rate"  # the dev-task learning curve's metric (greedy play, recipes/paw.py)


def seed_stats(values: Sequence[float]) -> dict[str, Any]:
    """One metric over seeds in the harness JSON's shape: ``{"mean", "ci95", "values"}``, the mean and the
    half-width of its 95 % CI from :func:`~swirl_wm.metrics.summarise` (NaN for a single value), and the
    per-seed values as given (a list)."""
    mean, ci = summarise(values)
    return {"mean": mean, "ci95": ci, "values": list(values)}


def agent_phases(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """An agent run's ``metrics.json`` in the SWIRL loop's shape, so that :func:`aggregate` takes it.

    Phases: ``sft`` (the walkthrough-SFT policy on the test tasks) and ``rl`` (after GRPO or GRPO + PaW),
    whose test metrics also carry the RL stage's ``rl/seconds_per_step`` (s) and ``rl/peak_rss_mb`` (MiB), and
    ``rl/mixed_groups``: the fraction of groups with mixed outcomes (a non-zero advantage), mean over the
    generation batches. Where the run played train tasks (``eval.train_tasks``), each phase also carries their
    success rate as ``agent/train_success_rate`` (fraction). The random admissible policy (``baseline/random``)
    becomes the trivial baseline ``random``; the dev-task learning curve (``eval.curve_every``), ``curve``: the
    RL stage's points, ``{"step", "agent/...": value}``. A record the run lacks leaves its key out.

    Raises:
        KeyError: no ``sft/eval``, ``rl`` or ``rl/eval`` stage.
    """
    stages = metrics["stages"]
    rl = stages["rl"]
    extra = {"rl/seconds_per_step": rl["seconds_per_step"], "rl/peak_rss_mb": rl["peak_rss_mb"]}
    mixed = [r["mixed_groups"] for r in rl.get("rollouts", []) if "mixed_groups" in r]
    if mixed:
        extra["rl/mixed_groups"] = sum(mixed) / len(mixed)
    out: dict[str, Any] = {"run": metrics["run"], "phases": [
        {"name": "sft", "test": _with_train_success(stages["sft/eval"])},
        {"name": "rl", "test": _with_train_success(stages["rl/eval"]) | extra}]}
    if "baseline/random" in stages:
        out["trivial_baselines"] = {"random": {"test": _with_train_success(stages["baseline/random"])}}
    if rl.get("curve"):
        out["curve"] = rl["curve"]
    return out


def _with_train_success(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """An agent evaluation's test metrics, plus ``agent/train_success_rate`` where it played train tasks."""
    train = evaluation.get("train") or {}
    return dict(evaluation["test"]) | (
        {"agent/train_success_rate": train["agent/success_rate"]} if "agent/success_rate" in train else {})


def learning_curve(runs: Mapping[str, Sequence[Mapping[str, Any]]], key: str = CURVE_KEY
                   ) -> dict[str, list[dict[str, Any]]]:
    """Each variant's dev-task learning curve over seeds: at every RL step some seed evaluated, ``key``'s mean ±
    95 % CI (:func:`seed_stats`).

    Args:
        runs: ``{variant: [agent_phases dict per seed]}``; a run without a ``curve`` (``eval.curve_every`` unset)
            adds nothing.
        key: the curve points' metric (a fraction for success rates).

    Returns:
        ``{variant: [{"step", "mean", "ci95", "values"}, ...]}`` in step order (step 0: the SFT policy, before
        the first RL step), a step that only some seeds reached also listing their ``"seeds"``; variants with
        no curve are left out.
    """
    out = {}
    for variant, seed_runs in runs.items():
        by_step: dict[int, dict[int, float]] = {}
        for metrics in seed_runs:
            for point in metrics.get("curve") or []:
                if key in point:
                    by_step.setdefault(int(point["step"]), {})[metrics["run"]["seed"]] = point[key]
        if not by_step:
            continue
        seeds = [m["run"]["seed"] for m in seed_runs]
        points = []
        for step in sorted(by_step):
            have = [s for s in seeds if s in by_step[step]]
            points.append({"step": step} | seed_stats([by_step[step][s] for s in have]) | (
                {"seeds": have} if len(have) < len(seeds) else {}))
        out[variant] = points
    return out


def paired_change(runs: Sequence[Mapping[str, Any]], base: Sequence[Mapping[str, Any]], key: str,
                  phase: str = "rl") -> dict[str, Any]:
    """Relative change of ``key`` in ``phase`` over the base variant, paired by seed, in % (mean ± 95 % CI).

    Used for PaW's overhead over GRPO: ``rl/seconds_per_step`` of GRPO + PaW over GRPO's, seed by seed.

    Raises:
        ValueError: the two lists hold different seeds.
    """
    seeds = [m["run"]["seed"] for m in runs]
    if seeds != [m["run"]["seed"] for m in base]:
        raise ValueError(f"seeds {seeds} differ from the base's {[m['run']['seed'] for m in base]}")
    value = lambda m: next(p["test"][key] for p in m["phases"] if p["name"] == phase)  # noqa: E731
    changes = [100 * (value(m) / value(b) - 1) for m, b in zip(runs, base, strict=True)]
    return seed_stats(changes)


def _rows_of_run(variant: str, metrics: Mapping[str, Any], base: bool, split: str = "test"
                 ) -> dict[str, dict[str, float]]:
    """``split``'s metrics of every model in one run, keyed by row name."""
    rows: dict[str, dict[str, float]] = {}
    for phase in metrics["phases"]:
        if phase["name"] == "sft":
            if base:
                rows["sft"] = phase[split]
            continue
        # A phase evaluates both roles; the untrained role carries the previous numbers, so keep the
        # trained role's keys and the FWM's (what the benchmark is about) of every phase.
        rows[f"{variant}: {phase['name']}"] = phase[split]
    baselines = metrics.get("baselines", {})
    if "best_of_n" in baselines:
        rows[f"{variant}: best-of-{baselines['best_of_n']['n']} (SFT FWM, IDM picks)"] = baselines["best_of_n"][split]
    if "bootstrap" in baselines:
        rows[f"{variant}: {BOOTSTRAP_ROW}"] = baselines["bootstrap"][split]
    if "bootstrap_phase1" in baselines:
        rows[f"{variant}: {BOOTSTRAP_PHASE1_ROW}"] = baselines["bootstrap_phase1"][split]
    if "pseudo_label_sft" in baselines:
        rows[f"{variant}: {PSEUDO_LABEL_SFT_ROW}"] = baselines["pseudo_label_sft"][split]
    if "oracle" in baselines and base:
        rows[ORACLE_ROW] = baselines["oracle"][split]
    if base:  # the trivial baselines: same test transitions for every variant of a seed
        for name, per_split in metrics.get("trivial_baselines", {}).items():
            rows[f"{TRIVIAL_NAMES.get(name, name)} (trivial)"] = per_split[split]
    return rows


def aggregate(runs: Mapping[str, Sequence[Mapping[str, Any]]], split: str = "test") -> list[dict[str, Any]]:
    """Benchmark rows over seeds.

    Args:
        runs: ``{variant: [metrics dict per seed]}``; the first variant is the base, whose ``sft`` phase is
            the SFT row. Every variant must list its seeds in the same order as the base.
        split: ``"test"`` (the reported figures) or ``"val"`` (what a choice between variants may read).

    Returns:
        One dict per row, in order: ``{"row", "variant", "seeds", "metrics": {key: {"mean", "ci95",
        "values"}}, "delta_vs_sft": {key: {"mean", "ci95", "values"}}}`` (a metric that only some of the
        row's runs have — one added after the others ran — also lists its ``"seeds"``), and for a variant's
        ``iter1/phase1`` row when its runs have the bootstrap baseline, ``"delta_vs_bootstrap"`` over the FWM
        metrics (RL vs SFT on the same pseudo-labels, paired by seed; SWIRL Table 7). ``ci95`` is the half-width of
        the 95 % t-interval (NaN with one seed). Units are those of the metric (fractions in [0, 1],
        BLEU/ROUGE-L in [0, 100], log-likelihood in nats per token).

    Raises:
        ValueError: no runs, or a variant's seeds differ from the base's.
    """
    if not runs:
        raise ValueError("no runs to aggregate")
    base_name = next(iter(runs))
    seeds = [m["run"]["seed"] for m in runs[base_name]]
    per_row: dict[str, dict[str, Any]] = {}
    sft_by_seed: dict[int, dict[str, float]] = {}
    for variant, seed_runs in runs.items():
        if [m["run"]["seed"] for m in seed_runs] != seeds:
            raise ValueError(f"variant {variant!r} has seeds {[m['run']['seed'] for m in seed_runs]}, "
                             f"the base {base_name!r} has {seeds}")
        for metrics in seed_runs:
            seed = metrics["run"]["seed"]
            for row, values in _rows_of_run(variant, metrics, base=variant == base_name, split=split).items():
                entry = per_row.setdefault(row, {"row": row, "variant": variant, "by_seed": {}})
                entry["by_seed"][seed] = values
                if row == "sft":
                    sft_by_seed[seed] = values
    out = []
    for entry in per_row.values():
        keys = sorted({k for values in entry["by_seed"].values() for k in values})
        metrics_out = {}
        for key in keys:
            have = [s for s in seeds if key in entry["by_seed"].get(s, {})]  # a metric newer than some runs
            values = [entry["by_seed"][s][key] for s in have]
            metrics_out[key] = seed_stats(values) | (
                {"seeds": have} if len(have) < len(entry["by_seed"]) else {})
        row = {"row": entry["row"], "variant": entry["variant"], "seeds": sorted(entry["by_seed"]),
               "metrics": metrics_out,
               "delta_vs_sft": {} if entry["row"] == "sft" else _paired(entry["by_seed"], sft_by_seed, seeds, keys)}
        bootstrap = per_row.get(f"{entry['variant']}: {BOOTSTRAP_ROW}")
        if entry["row"] == f"{entry['variant']}: iter1/phase1" and bootstrap:
            row["delta_vs_bootstrap"] = _paired(entry["by_seed"], bootstrap["by_seed"], seeds,
                                                [k for k in keys if k.startswith("fwm/")])
        out.append(row)
    return out


def _paired(rows: Mapping[int, Mapping[str, float]], base: Mapping[int, Mapping[str, float]],
            seeds: Sequence[int], keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per key, ``rows[seed] − base[seed]`` over the seeds that have it in both, as mean ± 95 % CI (keys
    with no such seed are left out)."""
    out = {}
    for key in keys:
        deltas = [rows[s][key] - base[s][key] for s in seeds if key in rows.get(s, {}) and key in base.get(s, {})]
        if deltas:
            out[key] = seed_stats(deltas)
    return out


def _cell(key: str, stat: Mapping[str, float] | None, signed: bool = False) -> str:
    if stat is None or not math.isfinite(stat["mean"]):
        return MISSING
    value = format_value(key, stat["mean"])
    half = format_value(key, abs(stat["ci95"])) if math.isfinite(stat["ci95"]) else "n/a"
    if signed:  # a change of a fraction is in percentage points
        value, half = (v.replace(" %", " pp") for v in (value, half))
        value = value if value.startswith("-") else "+" + value
    marker = " *" if signed and math.isfinite(stat["ci95"]) and abs(stat["mean"]) > stat["ci95"] else ""
    return f"{value} ± {half}{marker}"


def benchmark_tables(rows: Sequence[Mapping[str, Any]], keys: Sequence[str] = TABLE_KEYS) -> str:
    """Markdown tables: test metrics (mean ± 95 % CI over seeds), the paired change over SFT, and where
    rows carry it the paired change of Phase I over the bootstrap baseline (FWM metrics).

    Only ``keys`` present in at least one row become columns. In a change table, ``*`` marks a change
    whose 95 % CI excludes zero.
    """
    present = [k for k in keys if any(k in r["metrics"] for r in rows)]
    head = "| model | " + " | ".join(present) + " |\n|" + "---|" * (len(present) + 1) + "\n"
    table = head + "".join(
        f"| {r['row']} | " + " | ".join(_cell(k, r["metrics"].get(k)) for k in present) + " |\n" for r in rows)
    deltas = [r for r in rows if r["delta_vs_sft"]]
    change = head + "".join(
        f"| {r['row']} | " + " | ".join(_cell(k, r["delta_vs_sft"].get(k), signed=True) for k in present) + " |\n"
        for r in deltas)
    n = max((len(r["seeds"]) for r in rows), default=0)
    text = (f"Test split, mean ± 95 % CI over {n} seed{'s' if n != 1 else ''}.\n\n{table}\n"
            f"Change over SFT, paired by seed (`*`: the 95 % CI excludes 0).\n\n{change}")
    versus = [r for r in rows if r.get("delta_vs_bootstrap")]
    fwm = [k for k in present if k.startswith("fwm/")]
    if versus and fwm:
        text += ("\nRL vs SFT on the same pseudo-labels: Phase I minus the bootstrap baseline, paired by seed.\n\n"
                 "| model | " + " | ".join(fwm) + " |\n|" + "---|" * (len(fwm) + 1) + "\n" + "".join(
                     f"| {r['row']} − bootstrap | " + " | ".join(
                         _cell(k, r["delta_vs_bootstrap"].get(k), signed=True) for k in fwm) + " |\n"
                     for r in versus))
    return text


def curve_table(curve: Mapping[str, Sequence[Mapping[str, Any]]], key: str = CURVE_KEY) -> str:
    """The learning curves of :func:`learning_curve` as one Markdown table: RL steps as rows (step 0: the SFT
    policy), variants as columns, each cell the mean ± 95 % CI over seeds (``(n = k)`` where only k seeds
    reached the step, ``—`` where none did)."""
    variants = list(curve)
    by_step: dict[int, dict[str, Mapping[str, Any]]] = {}
    for variant, points in curve.items():
        for point in points:
            by_step.setdefault(point["step"], {})[variant] = point
    lines = ["| RL step | " + " | ".join(variants) + " |", "|---|" + "---:|" * len(variants)]
    for step in sorted(by_step):
        cells = [_cell(key, by_step[step].get(v)) + (f" (n = {len(by_step[step][v]['seeds'])})"
                                                      if "seeds" in by_step[step].get(v, {}) else "")
                 for v in variants]
        lines.append(f"| {step if step else '0 (SFT)'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def bench_tables(result: Mapping[str, Any]) -> str:
    """The Markdown of a :func:`~swirl_wm.recipes.bench.bench` result (``swirl bench``): its metric tables
    (:func:`benchmark_tables`), and for an agent run (a config with ``env``) each variant's RL cost relative to
    the base variant, paired by seed, and where the runs recorded it the dev-task learning curve
    (:func:`curve_table`)."""
    if "env" not in result["config"]:
        return benchmark_tables(result["rows"], TABLE_KEYS)
    per_type = sorted({k for r in result["rows"] for k in r["metrics"] if k.startswith("agent/success_rate/")})
    text = benchmark_tables(result["rows"], AGENT_TABLE_KEYS[:1] + tuple(per_type) + AGENT_TABLE_KEYS[1:])
    base = next(iter(result["variants"]))
    lines = [f"\nRL cost relative to {base}, paired by seed (%, mean ± 95 % CI).\n",
             "| variant | seconds per RL step | peak RSS |", "|---|---:|---:|"]
    for variant, cost in result.get("cost_vs_base", {}).items():
        cells = [f"{c['mean']:+.1f} ± {c['ci95']:.1f} %" if math.isfinite(c["ci95"]) else f"{c['mean']:+.1f} %"
                 for c in (cost["rl/seconds_per_step"], cost["rl/peak_rss_mb"])]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    text += "\n".join(lines) + "\n"
    if result.get("curve"):
        text += ("\nDev-task success (greedy play) against RL steps, mean ± 95 % CI over seeds (eval.curve_every); "
                 "step 0 is the SFT policy.\n\n" + curve_table(result["curve"]))
    return text
