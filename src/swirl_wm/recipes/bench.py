"""The seeded benchmark (``swirl bench``): seeds × variants of one config, mean ± 95 % CI over seeds.

For each variant (the base config, then each ``NAME:key=value,key=value`` on top of it) and each seed,
:func:`bench` runs (or resumes) the whole pipeline in ``<runs_dir>/<config name>/<variant>/seed<k>``, then
aggregates the test metrics of every phase and baseline (:mod:`swirl_wm.reporting.benchmark`) into JSON
(config, variants, seeds, git commit, machine, wall time, rows; for SWIRL runs also ``val_rows``, the same on
validation, for choosing between variants without reading the test split) and a Markdown table beside it.
With a study folder (``studies/<question>``) the table also goes into that folder's README, in the block named
after the JSON (:func:`~swirl_wm.reporting.study.write_block`), and the JSON defaults to
``<study>/<config name>.json``; results never go into the project's README.

``jobs`` > 1 runs that many runs at a time, each in its own process with its output in
``<variant>/seed<k>.log`` beside its run folder (the base variant's seeds first; set ``model.torch_threads``
so that jobs × threads fits the cores). A finished run folder is read, not rerun (every stage is in its
ledger), so a second call with the same arguments only aggregates, and runs started by hand at these paths
with the same settings count too.

Variants that change only settings used after SFT (``swirl`` / ``baselines``; for agent runs ``rl`` /
``paw``) start from the base variant's SFT checkpoints of the same seed (hard-linked with their ledger
entries), so an ablation costs its phases only.

Agent configs (``swirl paw``'s, recognised by their top-level ``env``) run the agent pipeline instead: rows are
the random admissible policy (the trivial baseline), the walkthrough-SFT policy and each variant after RL, and the
JSON adds each variant's time and memory per RL step relative to the base variant, paired by seed (PaW's overhead
over GRPO), and each variant's dev-task learning curve over seeds where the runs recorded one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swirl_wm.config import (
    AgentRunConfig,
    ConfigError,
    RunConfig,
    is_agent_config,
    load_config,
    parse_override,
    set_dotted,
)
from swirl_wm.files import atomic_write_text
from swirl_wm.recipes.paw import run_agent
from swirl_wm.recipes.swirl import run_swirl
from swirl_wm.reporting.benchmark import agent_phases, aggregate, bench_tables, learning_curve, paired_change
from swirl_wm.reporting.run_info import missing_report_extra, provenance
from swirl_wm.reporting.study import write_block
from swirl_wm.run_folder import Announce

_SFT_STAGES = ("data", "sft", "sft/eval")
Variant = tuple[str, dict[str, Any]]  # name, {dotted key: value}


@dataclass(frozen=True)
class Kind:
    """What the benchmark runs for one kind of config."""

    schema: type[RunConfig] | type[AgentRunConfig]
    run: Callable[[Any], dict[str, Any]]  # config → metrics.json dict in the SWIRL loop's shape
    after_sft: tuple[str, ...]  # settings an ablation may change while sharing the base's data and SFT
    copied: tuple[str, ...]  # run sub-folders a variant takes over from the base run

    def base_name(self, config: Any) -> str:
        if isinstance(config, AgentRunConfig):
            return "grpo+paw" if config.paw.enabled else "grpo"
        return "swirl"


SWIRL = Kind(RunConfig, run_swirl, ("name", "output_dir", "swirl", "baselines"),
             ("data", "checkpoints/sft", "predictions/sft"))


def _run_agent(config: AgentRunConfig) -> dict[str, Any]:
    return agent_phases(run_agent(config))


AGENT = Kind(AgentRunConfig, _run_agent, ("name", "output_dir", "rl", "paw"), ("data", "checkpoints/sft"))


def kind_of(path: Path) -> Kind:
    """:data:`AGENT` for a ``swirl paw`` config (a top-level ``env``), else :data:`SWIRL`."""
    return AGENT if is_agent_config(path) else SWIRL


def parse_variant(text: str) -> Variant:
    """``"beta1:swirl.phase1.beta=1.0,swirl.phase2.beta=1.0"`` → ``("beta1", {dotted key: YAML value})``
    (each item as ``swirl train --set`` reads it).

    Raises:
        ConfigError: no name, no ``key=value``, or a value that is not YAML.
    """
    name, _, body = text.partition(":")
    if not name or not body:
        raise ConfigError(f"--variant {text!r}: expected NAME:key=value[,key=value...]")
    try:
        return name, dict(parse_override(item) for item in body.split(","))
    except ConfigError as err:
        raise ConfigError(f"--variant {text!r}: {err}") from None


def with_overrides(config: Any, overrides: Mapping[str, Any]) -> Any:
    """A copy of ``config`` (a RunConfig or AgentRunConfig) with dotted keys set, validated again.

    Raises:
        ConfigError: a path through a value; pydantic.ValidationError: an unknown key or a bad value.
    """
    raw = config.model_dump(mode="json")
    for dotted, value in overrides.items():
        set_dotted(raw, dotted, value)
    return type(config).model_validate(raw)


def _shares_sft(a: Any, b: Any, kind: Kind) -> bool:
    strip = lambda c: {k: v for k, v in c.model_dump(mode="json").items() if k not in kind.after_sft}  # noqa: E731
    return strip(a) == strip(b)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not supported
        shutil.copy2(source, target)


def seed_from_base(base_dir: Path, run_dir: Path, copied: tuple[str, ...] = SWIRL.copied) -> None:
    """Hard-link (copy across file systems) the base run's data, SFT checkpoints and their ledger entries into
    a fresh run folder. Links are safe: run files are only ever replaced by a rename, never written in
    place, so neither folder can change the other's files (a copy cost about 1 GB per variant)."""
    if (run_dir / "state.json").exists() or not (base_dir / "state.json").exists():
        return
    stages = json.loads((base_dir / "state.json").read_text(encoding="utf-8"))["stages"]
    if not all(s in stages for s in _SFT_STAGES):
        return
    if not all((base_dir / folder).is_dir() for folder in stages["sft"].values() if isinstance(folder, str)
               and folder.startswith("checkpoints/")):  # pruned by keep_checkpoints: the variant runs its own SFT
        return
    for sub in copied:
        if (base_dir / sub).exists():
            shutil.copytree(base_dir / sub, run_dir / sub, dirs_exist_ok=True, copy_function=_link_or_copy)
    shutil.rmtree(run_dir / "data" / "latent", ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "state.json", json.dumps({"stages": {s: stages[s] for s in _SFT_STAGES}}, indent=2))


def _logged(run: Callable[[Any], dict[str, Any]], config: Any, log: Path) -> dict[str, Any]:
    """``run(config)`` in a worker process with its stdout and stderr (file descriptors 1 and 2, so the
    trainers' progress bars too) appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    with log.open("a", encoding="utf-8") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        return run(config)


Call = tuple[str, Callable[[Any], dict[str, Any]], Any, Path]  # label, run, config, log


def run_many(calls: Sequence[Call], jobs: int = 1, announce: Announce = print) -> list[dict[str, Any]]:
    """Each ``(label, run, config, log)`` call's ``run(config)``, results in the calls' order: one after
    another in this process (``jobs = 1``, output to the terminal), or ``jobs`` at a time, each in a fresh
    process (``spawn``, one per run, so memory and torch's thread settings start clean) writing to its
    ``log``. The label is announced as each run starts (is queued, with its log, when ``jobs > 1``).

    Raises:
        whatever a run raises (the runs already started finish first when ``jobs > 1``).
    """
    if jobs == 1:
        results = []
        for label, run, config, _ in calls:
            announce(f"== {label}")
            sys.stdout.flush()
            results.append(run(config))
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = []
        for label, run, config, log in calls:
            announce(f"== {label} (output: {log})")
            sys.stdout.flush()
            futures.append(pool.submit(_logged, run, config, log))
        return [future.result() for future in futures]


def bench(config_path: Path, seeds: Sequence[int], variants: Sequence[Variant] = (),
          base_overrides: Mapping[str, Any] | None = None, runs_dir: Path = Path("runs/bench"),
          output: Path | None = None, study: Path | None = None, jobs: int = 1,
          announce: Announce = print) -> tuple[dict[str, Any], Path]:
    """Run (or read) every seed of the base config and of each variant, aggregate them, and write the result.

    Args:
        config_path: a ``swirl train`` or ``swirl paw`` config.
        seeds: the seeds, in the order of every row's ``values``.
        variants: ``(name, {dotted key: value})`` on top of the base, as :func:`parse_variant` reads them.
        base_overrides: dotted keys applied to the config before every variant (the base).
        runs_dir: run folders go to ``<runs_dir>/<config name>/<variant>/seed<k>``.
        output: the result JSON (a ``.md`` beside it); default ``<study>/<config name>.json``.
        study: a study folder whose README gets the tables in the block named after the JSON.
        jobs: runs at a time, each in its own process (:func:`run_many`).

    Returns:
        The result (``config_path``, ``config``, ``variants``, ``seeds``, the provenance header, per-run wall
        times, ``run_dirs``, ``rows``; SWIRL: ``val_rows`` and ``latent_actions``; agents: ``cost_vs_base`` and
        ``curve``, :func:`~swirl_wm.reporting.benchmark.learning_curve`'s) and the path of its JSON.

    Raises:
        ValueError: neither ``output`` nor ``study``; ConfigError, pydantic.ValidationError: a bad override;
        whatever a run raises.
    """
    if output is None and study is None:
        raise ValueError("bench: give an output JSON or a study folder (studies/<question>)")
    kind = kind_of(config_path)
    base = with_overrides(load_config(config_path, schema=kind.schema), base_overrides or {})
    output = output or study / f"{base.name}.json"  # type: ignore[operator]
    base_variant = kind.base_name(base)
    all_variants: list[Variant] = [(base_variant, {}), *variants]
    start = time.monotonic()
    runs: dict[str, list[dict[str, Any]]] = {}
    run_dirs: dict[str, list[str]] = {}
    # The base variant's runs first: the other variants start from their SFT checkpoints.
    for wave in (all_variants[:1], all_variants[1:]):
        calls, names = [], []
        for variant, overrides in wave:
            for seed in seeds:
                config = with_overrides(base, {**overrides, "seed": seed})
                run_dir = runs_dir / base.name / variant / f"seed{seed}"
                config = config.model_copy(update={"output_dir": run_dir})
                base_dir = runs_dir / base.name / base_variant / f"seed{seed}"
                if variant != base_variant and _shares_sft(config, with_overrides(base, {"seed": seed}), kind):
                    seed_from_base(base_dir, run_dir, kind.copied)
                calls.append((f"{variant} seed {seed} → {run_dir}", kind.run, config,
                              run_dir.with_name(f"seed{seed}.log")))
                names.append(variant)
                run_dirs.setdefault(variant, []).append(str(run_dir))
        for variant, metrics in zip(names, run_many(calls, jobs, announce), strict=True):
            runs.setdefault(variant, []).append(metrics)
    rows = aggregate(runs)
    result = {"config_path": str(config_path), "config": base.model_dump(mode="json"),
              "variants": dict(all_variants), "seeds": list(seeds)} | provenance(start) | {
        "run_wall_time_s": {v: [m["run"]["wall_time_s"] for m in ms] for v, ms in runs.items()},
        "run_dirs": run_dirs, "rows": rows}
    if kind is SWIRL:  # validation rows: what a choice between variants may read (the test rows report)
        result["val_rows"] = aggregate(runs, split="val")
        result["latent_actions"] = {v: [[p.get("latent_actions") for p in m["phases"] if "latent_actions" in p]
                                        for m in ms] for v, ms in runs.items()}
    else:
        result["cost_vs_base"] = {v: {key: paired_change(ms, runs[base_variant], key)
                                      for key in ("rl/seconds_per_step", "rl/peak_rss_mb")}
                                  for v, ms in runs.items() if v != base_variant}
        result["curve"] = learning_curve(runs)
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, json.dumps(result, indent=2))
    return result, output


def write_bench_tables(result: Mapping[str, Any], output: Path, study: Path | None = None) -> str:
    """The result's Markdown tables (:func:`~swirl_wm.reporting.benchmark.bench_tables`), written beside its
    JSON (``output`` with ``.md``) and, with ``study``, into the study README's block named after the JSON;
    returns them. An agent result with learning curves also gets their plot beside the JSON
    (``<output stem>-curve.png``, :func:`~swirl_wm.reporting.plot.plot_learning_curve`) when the ``report`` extra
    is installed."""
    table = bench_tables(result)
    if result.get("curve") and missing_report_extra() is None:
        from swirl_wm.reporting.plot import plot_learning_curve  # matplotlib: the report extra

        plot_learning_curve(result, output.with_name(f"{output.stem}-curve.png"))
    atomic_write_text(output.with_suffix(".md"), f"# Benchmark: {result['config']['name']}\n\n{table}")
    if study is not None:
        write_block(study / "README.md", output.stem, table)
    return table
