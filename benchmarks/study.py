"""The label-efficiency study: SFT, SWIRL, bootstrap and oracle against the labelled size L.

Each labelled size is one harness run (``benchmarks/harness.py``) of the study config with
``data.split.max_labelled_episodes=L``: validation, test and the unlabelled pool U stay fixed per seed,
only the SFT episodes change. This script reads those harness JSONs and writes, per L, the headline
metric of each arm (mean ± 95 % CI over seeds), the change over SFT paired by seed, RL against the
bootstrap on the same pseudo-labels, the fraction of the oracle gap each arm closes,
``(arm − SFT) / (oracle − SFT)`` (per seed, then mean), the trivial baselines, and a plot of the
headline metric against L.

    for L in 10 40 150; do
      python benchmarks/harness.py configs/physics-study.yaml --seeds 0 1 2 \\
          --base-config data.split.max_labelled_episodes=$L --runs-dir runs/study/L$L \\
          --output studies/label-efficiency/physics-L$L.json
    done
    python benchmarks/study.py studies/label-efficiency/physics-L*.json --output studies/label-efficiency/physics

The oracle (SFT on L + U with U's true actions) may come from separate runs that train SFT and the oracle
only, given with ``--oracle`` (see :func:`attach_oracle`):

    ONLY=swirl.iterations=0,baselines.bootstrap=false,baselines.oracle=true
    python benchmarks/harness.py configs/physics-study.yaml --seeds 0 1 2 --jobs 2 \\
        --base-config data.split.max_labelled_episodes=20,$ONLY \\
        --runs-dir runs/study-oracle/L20 --output studies/label-efficiency/physics-oracle-L20.json
    python benchmarks/study.py studies/label-efficiency/physics-L*.json \\
        --oracle studies/label-efficiency/physics-oracle-L*.json --output studies/label-efficiency/physics

``benchmarks/studies.py label-efficiency`` reruns the study's commands on the committed JSON and puts the
tables into the study's README.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from swirl_wm.files import atomic_write_bytes, atomic_write_text
from swirl_wm.glossary import is_fraction
from swirl_wm.metrics import summarise
from swirl_wm.reporting.benchmark import (
    BOOTSTRAP_PHASE1_ROW,
    BOOTSTRAP_ROW,
    ORACLE_ROW,
    PSEUDO_LABEL_SFT_ROW,
    seed_stats,
)
from swirl_wm.reporting.markdown import format_value
from swirl_wm.run_folder import Layout, read_predictions

# Phase II changes only the IDM (its FWM columns repeat Phase I's); both are kept for the IDM's metrics.
ARMS = {"SFT": "sft", "SWIRL (Phase I)": "swirl: iter1/phase1", "SWIRL (Phase II)": "swirl: iter1/phase2",
        "SWIRL (iter 2, Phase I)": "swirl: iter2/phase1", "SWIRL (iter 2, Phase II)": "swirl: iter2/phase2",
        "bootstrap": f"swirl: {BOOTSTRAP_ROW}", "oracle": ORACLE_ROW, "SWIRL β = 1 (Phase I)": "beta1: iter1/phase1",
        "SWIRL normalised reward (Phase I)": "norm: iter1/phase1",
        "bootstrap → Phase I": f"swirl: {BOOTSTRAP_PHASE1_ROW}",
        "SWIRL scale_rewards none (Phase I)": "noscale: iter1/phase1",
        "full SWIRL (iter 1, Phase II)": "full: iter1/phase2", "full SWIRL (iter 2, Phase I)": "full: iter2/phase1",
        "full SWIRL (iter 2, Phase II)": "full: iter2/phase2",
        "Phase I + fidelity α = 2": "fid2: iter1/phase1", "Phase I + fidelity α = 8": "fid8: iter1/phase1",
        "Phase I + NLL λ = 0.2": "nll02: iter1/phase1", "Phase I + NLL λ = 1": "nll1: iter1/phase1",
        "Phase I + NLL λ = 1, filtered ẑ": "nll1f: iter1/phase1",
        "Phase I + fidelity α = 2 + NLL λ = 1": "both: iter1/phase1",
        "Phase I, best-of-8 ẑ": "bootk8: iter1/phase1", "bootstrap, best-of-8 ẑ": f"bootk8: {BOOTSTRAP_ROW}",
        "pseudo-label SFT, best-of-8 ẑ": f"bootk8: {PSEUDO_LABEL_SFT_ROW}",
        "pseudo-label SFT": f"pseudo1: {PSEUDO_LABEL_SFT_ROW}",
        "pseudo-label SFT (the run's labels)": f"swirl: {PSEUDO_LABEL_SFT_ROW}",
        "Phase I + NLL λ = 1, best-of-8 ẑ": "nll1k8: iter1/phase1",
        "Phase I + fidelity α = 2 + NLL λ = 1, best-of-8 ẑ": "bothk8: iter1/phase1"}
# Each arm's FWM test predictions inside a run folder (``predictions/<folder>/test-fwm.jsonl``).
PREDICTIONS = {"SFT": "sft", "SWIRL (Phase I)": "iter1-phase1", "SWIRL (iter 2, Phase I)": "iter2-phase1",
               "bootstrap": "bootstrap", "oracle": "oracle", "bootstrap → Phase I": "bootstrap-phase1",
               "pseudo-label SFT (the run's labels)": "pseudo-label-sft"}
# Variants (harness --variant NAME) whose FWMs are arms of their own: arm → predictions folder.
VARIANT_ARMS = {"beta1": {"SWIRL β = 1 (Phase I)": "iter1-phase1"},
                "fid2": {"Phase I + fidelity α = 2": "iter1-phase1"},
                "fid8": {"Phase I + fidelity α = 8": "iter1-phase1"},
                "nll02": {"Phase I + NLL λ = 0.2": "iter1-phase1"},
                "nll1": {"Phase I + NLL λ = 1": "iter1-phase1"},
                "nll1f": {"Phase I + NLL λ = 1, filtered ẑ": "iter1-phase1"},
                "both": {"Phase I + fidelity α = 2 + NLL λ = 1": "iter1-phase1"},
                "bootk8": {"Phase I, best-of-8 ẑ": "iter1-phase1", "bootstrap, best-of-8 ẑ": "bootstrap",
                           "pseudo-label SFT, best-of-8 ẑ": "pseudo-label-sft"},
                "nll1k8": {"Phase I + NLL λ = 1, best-of-8 ẑ": "iter1-phase1"},
                "pseudo1": {"pseudo-label SFT": "pseudo-label-sft"},
                "bothk8": {"Phase I + fidelity α = 2 + NLL λ = 1, best-of-8 ẑ": "iter1-phase1"},
                "norm": {"SWIRL normalised reward (Phase I)": "iter1-phase1"},
                "noscale": {"SWIRL scale_rewards none (Phase I)": "iter1-phase1"},
                "full": {"full SWIRL (iter 2, Phase I)": "iter2-phase1"}}
EFFECT_KEY = "fwm/effect_accuracy"
PASSIVE_KEY = "fwm/passive_accuracy"


def _row(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in result["rows"] if r["row"] == name), None)


def _minus(values: list[float], base: list[float]) -> list[float]:
    """Per seed, ``values − base`` (the same seeds in the same order)."""
    return [v - b for v, b in zip(values, base, strict=True)]


def _gap_closed(gains: list[float], lifts: list[float]) -> dict[str, Any] | None:
    """The fraction of the oracle gap closed, ``gain / lift`` per seed (seeds where oracle = SFT left out),
    as mean ± 95 % CI with the per-seed values; ``None`` when no seed has a gap."""
    fractions = [g / lift for g, lift in zip(gains, lifts, strict=True) if lift != 0]
    return seed_stats(fractions) if fractions else None


def _gaps_closed(gains: dict[str, list[float]], lifts: list[float]) -> dict[str, dict[str, Any]]:
    """Per arm (``gains``: arm → its per-seed change over SFT, seeds aligned with ``lifts``, the oracle's), the
    fraction of the oracle gap it closes (:func:`_gap_closed`); the oracle itself and arms without a gap
    left out, and none at all unless the oracle's gain over SFT has a 95 % CI excluding 0 (a ratio needs a
    denominator that is there: one seed with a negative oracle gain flips its sign)."""
    lift = seed_stats(lifts) if lifts else None
    if lift is None or not abs(lift["mean"]) > lift["ci95"]:
        return {}
    out = {arm: _gap_closed(g, lifts) for arm, g in gains.items() if arm != "oracle"}
    return {arm: gap for arm, gap in out.items() if gap is not None}


def study_of(result: dict[str, Any], key: str) -> dict[str, Any]:
    """One labelled size's figures of ``key`` from a harness result (see the module docstring)."""
    seeds = result["seeds"]
    arms = {}
    for label, name in ARMS.items():
        row = _row(result, name)
        if row and key in row["metrics"]:
            arms[label] = row["metrics"][key] | {"delta_vs_sft": row.get("delta_vs_sft", {}).get(key)}
    trivial = {r["row"]: r["metrics"][key]["mean"] for r in result["rows"]
               if r["row"].endswith("(trivial)") and key in r["metrics"]}
    gaps = {}
    if {"SFT", "oracle"} <= arms.keys():
        sft = arms["SFT"]["values"]
        gaps = _gaps_closed({a: _minus(v["values"], sft) for a, v in arms.items()
                             if a != "SFT" and len(v["values"]) == len(sft)}, _minus(arms["oracle"]["values"], sft))
    phase1 = _row(result, "swirl: iter1/phase1") or {}
    return {"L": result["config"]["data"]["split"]["max_labelled_episodes"], "seeds": seeds, "arms": arms,
            "trivial": trivial, "oracle_gap_closed": gaps,
            "rl_vs_bootstrap": phase1.get("delta_vs_bootstrap", {}).get(key)}


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Config keys set differently in two results (seed and output folder aside); a key only one of them has
    is an option added in between, at its default, and not a difference."""
    if isinstance(a, dict) and isinstance(b, dict):
        shared = (a.keys() & b.keys()) - {"seed", "output_dir"}
        return [d for k in sorted(shared) for d in _differences(a[k], b[k], f"{path}{k}.")]
    return [] if a == b else [path.rstrip(".")]


def _merged_stats(parts: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    """``{metric: {mean, ci95, values}}`` of several results, each with its number of seeds, as one: per-seed
    values concatenated, the mean and CI recomputed (:func:`~swirl_wm.metrics.summarise`); a metric missing
    from any part, or with fewer values than its part has seeds (runs evaluated before it existed), is left
    out."""
    out = {}
    for key in set.intersection(*(set(p) for p, _ in parts)):
        if any(len(p[key]["values"]) != n for p, n in parts):
            continue
        out[key] = seed_stats([v for p, _ in parts for v in p[key]["values"]])
    return out


def merge_results(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One harness result per labelled size: results of the same size (the same config but its seed, the
    same variants, disjoint seeds; a size's seeds run in more than one harness call) become one, with
    every row's per-seed values — metrics and changes paired by seed — concatenated and their means and CIs
    recomputed; a row missing from any of them is left out. Run folders and wall times add up. A config key
    only one result has (an option added between the runs, at its default) is not a difference.

    Raises:
        ValueError: two results of one size with different configs or variants, or a seed in both.
    """
    by_size: dict[Any, list[dict[str, Any]]] = {}
    for result in results:
        by_size.setdefault(result["config"]["data"]["split"]["max_labelled_episodes"], []).append(result)
    merged = []
    for size, group in by_size.items():
        base = group[0]
        for other in group[1:]:
            differences = _differences(base["config"], other["config"])
            if differences or other["variants"] != base["variants"]:
                raise ValueError(f"L = {size}: two harness results with different configs or variants "
                                 f"({', '.join(differences) or 'variants'}); only seeds of one study may be merged")
        seeds = [s for r in group for s in r["seeds"]]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"L = {size}: seed(s) in more than one result: {sorted(seeds)}")
        if len(group) == 1:
            merged.append(base)
            continue
        rows = []
        for row in base["rows"]:
            parts = [next((r for r in g["rows"] if r["row"] == row["row"]), None) for g in group]
            if any(p is None for p in parts):
                continue
            rows.append({k: ([s for p in parts for s in p[k]] if k == "seeds" else
                             _merged_stats([(p.get(k, {}), len(p["seeds"])) for p in parts]) if isinstance(v, dict)
                             else v)
                         for k, v in row.items()})
        run_dirs = {v: [d for g in group for d in g.get("run_dirs", {}).get(v, [])] for v in base["variants"]}
        merged.append(base | {"seeds": seeds, "rows": rows, "run_dirs": run_dirs,
                              "wall_time_s": sum(g["wall_time_s"] for g in group)})
    return merged


def _paired(values: list[float], base: list[float]) -> dict[str, Any] | None:
    if not values or len(values) != len(base):
        return None
    return seed_stats(_minus(values, base))


def attach_oracle(study: dict[str, Any], oracle: dict[str, Any]) -> dict[str, Any]:
    """``study`` (one labelled size, :func:`study_of` / :func:`effect_study`'s shape) with the oracle arm taken
    from ``oracle``, the same figures of separate runs of that size that trained SFT and the oracle only
    (``swirl.iterations=0``, ``baselines.oracle=true``: the study's runs did not keep their checkpoints, and
    SFT is not bit-identical across commits). The oracle's change over SFT is paired with the SFT of its own
    run, and the fraction of the oracle gap an arm of the study closes is, per seed present in both,
    ``(arm − SFT) / (oracle − SFT′)`` with SFT′ that run's SFT; ``oracle_sft`` keeps SFT′ beside the
    study's SFT for the same seeds, so that a reader sees how far the two SFTs differ.

    Args:
        study: one labelled size's figures, with ``seeds`` and the arm ``SFT`` (the others with ``delta_vs_sft``).
        oracle: the oracle runs' figures of the same size and key (arms ``SFT`` and ``oracle``).

    Returns:
        A new study: arm ``oracle`` over the shared seeds (its ``seeds`` listed when fewer than the study's),
        ``oracle_gap_closed`` (arm → mean ± 95 % CI with per-seed values; arms with a change over SFT on
        every seed of the study, none where oracle = SFT′ on every seed),
        ``oracle_sft``. ``study`` unchanged when the oracle runs lack the arm or share no seed.

    Raises:
        ValueError: the two are of different labelled sizes.
    """
    if oracle["L"] != study["L"]:
        raise ValueError(f"oracle runs of L = {oracle['L']} given for the study's L = {study['L']}")
    arm, sft = oracle["arms"].get("oracle"), oracle["arms"].get("SFT")
    shared = [s for s in study["seeds"] if s in oracle["seeds"]]
    if not arm or not sft or not shared or not (arm.get("delta_vs_sft") or {}).get("values"):
        return study
    index = {s: oracle["seeds"].index(s) for s in shared}
    values = [arm["values"][index[s]] for s in shared]
    lifts = [arm["delta_vs_sft"]["values"][index[s]] for s in shared]
    out = study | {"arms": study["arms"] | {"oracle": seed_stats(values) | {"delta_vs_sft": seed_stats(lifts)}
                                            | ({"seeds": shared} if shared != study["seeds"] else {})}}
    own = {s: v for s, v in zip(study["seeds"], study["arms"].get("SFT", {}).get("values", []), strict=False)}
    out["oracle_sft"] = {"seeds": shared, "oracle_runs": [sft["values"][index[s]] for s in shared],
                         "study": [own.get(s) for s in shared]}
    gains = {}
    for name, stats in study["arms"].items():
        changes = (stats.get("delta_vs_sft") or {}).get("values")
        if changes and len(changes) == len(study["seeds"]):
            by_seed = dict(zip(study["seeds"], changes, strict=True))
            gains[name] = [by_seed[s] for s in shared]
    out["oracle_gap_closed"] = _gaps_closed(gains, lifts)
    return out


def effect_study(result: dict[str, Any], key: str = "fwm/effect_accuracy") -> dict[str, Any]:
    """One labelled size's test effect accuracy (:func:`~swirl_wm.metrics.effect_accuracy`: the
    fields the action changed), or with ``key="fwm/passive_accuracy"`` its complement (the fields the action
    left alone), per arm, recomputed from each run's saved predictions (runs evaluated before the metric
    existed have none in their ledger), in :func:`study_of`'s shape. Only the arms the harness config ran,
    with a value for every seed; trivial rows: the copy rule, and the no-op rule (0 on effects, 1 on the
    passive fields, by construction)."""
    from swirl_wm.envs import physics
    from swirl_wm.evaluation.evaluate import noop_prediction
    from swirl_wm.metrics import effect_accuracy, passive_accuracy

    measure = effect_accuracy if key == EFFECT_KEY else passive_accuracy

    config = result["config"]
    ran = {"SFT", "SWIRL (Phase I)"} | ({"bootstrap"} if config["baselines"]["bootstrap"] else set()) \
        | ({"oracle"} if config["baselines"]["oracle"] else set()) \
        | ({"SWIRL (iter 2, Phase I)"} if config["swirl"]["iterations"] >= 2 else set()) \
        | ({"bootstrap → Phase I"} if config["baselines"].get("bootstrap_phase1") else set())
    by_arm: dict[str, list[float]] = {}
    copy: list[float] = []
    base = next(iter(result["variants"]))
    runs = [(run_dir, {a: f for a, f in PREDICTIONS.items() if a in ran})
            for run_dir in result.get("run_dirs", {}).get(base, [])]
    runs += [(run_dir, VARIANT_ARMS[v]) for v in VARIANT_ARMS for run_dir in result.get("run_dirs", {}).get(v, [])]
    for run_dir, folders in runs:
        for arm, folder in folders.items():
            path = Path(run_dir) / Layout.predictions(folder, "test", "fwm")
            if not path.exists():
                continue
            rows = read_predictions(path)
            xs, refs = [r["x"] for r in rows], [r["reference"] for r in rows]
            passive = [noop_prediction("physics", x) for x in xs]
            score = measure([r["prediction"] for r in rows], refs, passive, physics.state_fields)
            by_arm.setdefault(arm, []).append(score if score is not None else float("nan"))
            if arm == "SFT":
                copy.append(measure(xs, refs, passive, physics.state_fields) or 0.0)
    seeds = len(result["seeds"])
    by_arm = {arm: values for arm, values in by_arm.items() if len(values) == seeds}
    sft = by_arm.get("SFT", [])
    arms = {}
    for arm, values in by_arm.items():
        arms[arm] = seed_stats(values)
        if arm != "SFT" and (delta := _paired(values, sft)):
            arms[arm]["delta_vs_sft"] = delta
    gaps = {}
    if {"SFT", "oracle"} <= by_arm.keys():
        gaps = _gaps_closed({a: _minus(v, sft) for a, v in by_arm.items() if a != "SFT"},
                            _minus(by_arm["oracle"], sft))
    trivial = ({"copy the state (ŷ = x) (trivial)": summarise(copy)[0],
                "no-op rule (passive dynamics) (trivial)": 0.0 if key == EFFECT_KEY else 1.0} if copy else {})
    return {"L": config["data"]["split"]["max_labelled_episodes"], "seeds": result["seeds"], "arms": arms,
            "trivial": trivial, "oracle_gap_closed": gaps,
            "rl_vs_bootstrap": _paired(by_arm.get("SWIRL (Phase I)", []), by_arm.get("bootstrap", []))}


def _cell(key: str, stats: dict[str, Any] | None, delta: bool = False) -> str:
    if not stats:
        return "—"
    mean, ci = stats["mean"], stats["ci95"]
    if is_fraction(key):
        unit = " pp" if delta else " %"
        text = f"{100 * mean:+.1f}" if delta else f"{100 * mean:.1f}"
        return text + (f" ± {100 * ci:.1f}" if ci == ci else "") + unit + (" *" if delta and abs(mean) > ci else "")
    text = f"{mean:+.2f}" if delta else f"{mean:.2f}"
    return text + (f" ± {ci:.2f}" if ci == ci else "") + (" *" if delta and abs(mean) > ci else "")


def _gap_cell(gap: dict[str, Any] | None) -> str:
    if not gap:
        return "—"
    return f"{gap['mean']:+.2f}" + (f" ± {gap['ci95']:.2f}" if gap["ci95"] == gap["ci95"] else "")


def _fewer(study: dict[str, Any], arm: str) -> str:
    """`` (n = k)`` after an arm's cell when it covers fewer seeds than its row (an oracle of separate runs)."""
    seeds = study["arms"].get(arm, {}).get("seeds")
    return f" (n = {len(seeds)})" if seeds is not None and len(seeds) != len(study["seeds"]) else ""


def markdown(studies: list[dict[str, Any]], key: str, split: str = "test") -> str:
    """Tables of the study: the arms and trivial baselines per L, and the changes over SFT (on ``split``)."""
    arms = list(dict.fromkeys(a for s in studies for a in s["arms"]))
    trivial = list(dict.fromkeys(t for s in studies for t in s["trivial"]))
    lines = [f"{'Validation' if split == 'val' else 'Test'} {key}, mean ± 95 % CI over seeds; italic: trivial "
             "baselines (no model).", "",
             "| L (labelled episodes) | seeds | " + " | ".join(arms) + " | " + " | ".join(f"*{t}*" for t in trivial)
             + " |", "|---:|---:|" + "---:|" * (len(arms) + len(trivial))]
    for s in studies:
        lines.append(f"| {s['L']} | {len(s['seeds'])} | " + " | ".join(_cell(key, s["arms"].get(a)) + _fewer(s, a)
                                                                  for a in arms)
                     + " | " + " | ".join(format_value(key, s["trivial"].get(t)) for t in trivial) + " |")
    others = [a for a in arms if a != "SFT"]
    lines += ["", "Change over SFT, paired by seed (`*`: the 95 % CI excludes 0); RL − bootstrap on the same "
              "pseudo-labels.", "",
              "| L | " + " | ".join(others) + " | RL − bootstrap |", "|---:|" + "---:|" * (len(others) + 1)]
    for s in studies:
        lines.append(f"| {s['L']} | " + " | ".join(_cell(key, s["arms"].get(a, {}).get("delta_vs_sft"), True)
                                                  + _fewer(s, a) for a in others)
                     + f" | {_cell(key, s['rl_vs_bootstrap'], True)} |")
    closing = [a for a in others if any(a in s["oracle_gap_closed"] for s in studies)]
    if closing:
        lines += ["", "Fraction of the oracle gap each arm closes, (arm − SFT) / (oracle − SFT), per seed, then "
                  "mean ± 95 % CI (1: as good as the oracle; 0: no better than SFT); only where the oracle's gain "
                  "over SFT has a 95 % CI excluding 0.", "",
                  "| L | " + " | ".join(closing) + " |", "|---:|" + "---:|" * len(closing)]
        for s in studies:
            gaps = s["oracle_gap_closed"]
            lines.append(f"| {s['L']} | " + " | ".join(_gap_cell(gaps.get(a)) + (_fewer(s, "oracle") if a in gaps
                                                                                   else "") for a in closing) + " |")
    notes = [s for s in studies if s.get("oracle_sft")]
    if notes:
        lines += ["", "The oracle ran separately (SFT and the oracle only; its change and the gap are paired with "
                  "that run's own SFT, SFT′):"]
        for s in notes:
            o = s["oracle_sft"]
            lines.append(f"- L = {s['L']}, seeds {', '.join(map(str, o['seeds']))}: SFT′ "
                         + " / ".join(format_value(key, v) for v in o["oracle_runs"]) + ", this table's SFT "
                         + " / ".join(format_value(key, v) for v in o["study"]))
    return "\n".join(lines) + "\n"


def plot(studies: list[dict[str, Any]], key: str, path: Path) -> None:
    """The headline metric against L for the four arms (error bars: 95 % CI) and the trivial baselines."""
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    xs = [s["L"] for s in studies]
    scale = 100.0 if is_fraction(key) else 1.0
    for arm in ARMS:
        if "Phase II" in arm and key.startswith("fwm/"):
            continue  # the same FWM as the Phase I before it
        points = [(s["L"], s["arms"][arm]) for s in studies if arm in s["arms"]]
        if points:
            ax.errorbar([p[0] for p in points], [scale * p[1]["mean"] for p in points],
                        yerr=[scale * p[1]["ci95"] if p[1]["ci95"] == p[1]["ci95"] else 0 for p in points],
                        marker="o", capsize=3, label=arm)
    for name in dict.fromkeys(t for s in studies for t in s["trivial"]):
        ax.plot(xs, [scale * s["trivial"].get(name, float("nan")) for s in studies], "--", label=name)
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.minorticks_off()
    ax.set_xlabel("labelled episodes L (log scale)")
    ax.set_ylabel(f"test {key}" + (" (%)" if scale == 100.0 else ""))
    ax.set_title("Label efficiency on the physics world")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    atomic_write_bytes(path, buffer.getvalue())


def _complete(result: dict[str, Any], key: str) -> bool:
    """Whether the SFT row of ``result`` has ``key`` and every row that has it has one value per seed."""
    rows = [r for r in result["rows"] if key in r["metrics"]]
    return any(r["row"] == "sft" for r in rows) and all(len(r["metrics"][key]["values"]) == len(r["seeds"])
                                                        for r in rows)


def analyse(inputs: dict[str, dict[str, Any]], oracle_inputs: dict[str, dict[str, Any]] | None = None,
            key: str = "fwm/field_accuracy", extra_keys: Sequence[str] = ("idm/grounded_accuracy",)) -> dict[str, Any]:
    """The study's figures, as the JSON this script writes.

    Args:
        inputs: harness results by their path (those of one labelled size are merged, :func:`merge_results`).
        oracle_inputs: harness results of SFT-and-oracle-only runs by their path (:func:`attach_oracle`).
        key: the headline metric; with ``fwm/field_accuracy`` the effect and passive accuracy come too.
        extra_keys: further metrics, each with the same tables.

    Returns:
        ``key``, ``inputs`` and ``oracle_inputs`` (the paths), ``studies`` (one per labelled size, by L),
        ``extra`` (metric → studies), the inputs' ``git_commits``, the ``machine`` and the summed ``wall_time_s``.
    """
    oracle_inputs = oracle_inputs or {}
    results = merge_results(list(inputs.values()))
    oracles = {r["config"]["data"]["split"]["max_labelled_episodes"]: r
               for r in merge_results(list(oracle_inputs.values()))}

    def figures(result: dict[str, Any], key: str) -> dict[str, Any]:
        """``key``'s study of one size: from the runs' ledgers, else (effects) from their saved predictions."""
        def one(r: dict[str, Any]) -> dict[str, Any]:
            return study_of(r, key) if _complete(r, key) or key not in (EFFECT_KEY, PASSIVE_KEY) \
                else effect_study(r, key)
        study = one(result)
        oracle = oracles.get(study["L"])
        return attach_oracle(study, one(oracle)) if oracle else study

    studies = sorted((figures(r, key) for r in results), key=lambda s: s["L"])
    extra = {k: sorted((figures(r, k) for r in results), key=lambda s: s["L"]) for k in extra_keys}
    if key == "fwm/field_accuracy":
        for effect_key in (EFFECT_KEY, PASSIVE_KEY):
            by_size = sorted((figures(r, effect_key) for r in results), key=lambda s: s["L"])
            if any(s["arms"] for s in by_size):
                extra[effect_key] = by_size
    everything = list(inputs.values()) + list(oracle_inputs.values())
    return {"key": key, "inputs": list(inputs), "oracle_inputs": list(oracle_inputs), "studies": studies,
            "extra": extra, "git_commits": sorted({r["git_commit"] or "" for r in everything}),
            "machine": results[0]["machine"], "wall_time_s": sum(r["wall_time_s"] for r in everything)}


def report(out: dict[str, Any]) -> str:
    """The Markdown of :func:`analyse`'s figures: the headline's tables, then each extra metric's."""
    split = out.get("split", "test")
    return markdown(out["studies"], out["key"], split) + "".join(f"\n{markdown(v, k, split)}"
                                                                for k, v in out["extra"].items())


def write(out: dict[str, Any], output: Path) -> str:
    """:func:`analyse`'s figures to ``output`` + ``.json``, ``.md`` (:func:`report`, returned) and ``.png`` (the
    headline against L; ``-effect.png`` the effect accuracy's, where the study has it)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output.with_suffix(".json"), json.dumps(out, indent=2))
    text = report(out)
    atomic_write_text(output.with_suffix(".md"), text)
    plot(out["studies"], out["key"], output.with_suffix(".png"))
    if EFFECT_KEY in out["extra"]:
        plot(out["extra"][EFFECT_KEY], EFFECT_KEY, output.with_name(output.name + "-effect.png"))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+",
                        help="harness JSONs; those of one labelled size (other seeds) are merged")
    parser.add_argument("--key", default="fwm/field_accuracy", help="the headline metric")
    parser.add_argument("--extra-key", action="append", default=["idm/grounded_accuracy"])
    parser.add_argument("--output", type=Path, required=True, help="path prefix: writes .json, .md and .png")
    parser.add_argument("--split", choices=("test", "val"), default="test",
                        help="val: the harness JSONs' validation rows (val_rows), for choosing between variants "
                             "without reading the test split")
    parser.add_argument("--oracle", type=Path, nargs="*", default=[],
                        help="harness JSONs of SFT-and-oracle-only runs (swirl.iterations=0, baselines.oracle=true) "
                             "that supply the oracle arm of their labelled size (see attach_oracle)")
    args = parser.parse_args()
    load = lambda paths: {str(p): on_split(json.loads(p.read_text(encoding="utf-8")), args.split, p)  # noqa: E731
                          for p in paths}
    out = analyse(load(args.results), load(args.oracle), args.key, args.extra_key) | {"split": args.split}
    print(write(out, args.output))


def on_split(result: dict[str, Any], split: str, path: Path) -> dict[str, Any]:
    """A harness result whose ``rows`` are those of ``split`` (its ``val_rows`` for ``"val"``).

    Raises:
        SystemExit: ``"val"`` asked of a result written without validation rows.
    """
    if split == "test":
        return result
    if "val_rows" not in result:
        raise SystemExit(f"{path}: no val_rows (written by an older harness); re-run its harness command, "
                         f"which reads the finished runs")
    return result | {"rows": result["val_rows"]}


if __name__ == "__main__":
    main()
