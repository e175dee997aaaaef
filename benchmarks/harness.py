"""Seeded benchmark harness: SFT vs SWIRL vs baselines vs ablations, mean ± 95 % CI over seeds.

The command line of ``swirl bench`` (:func:`swirl_wm.recipes.bench.bench`) as the study READMEs cite it
(``--seeds 0 1 2``, run folders under ``runs/harness`` by default); the same runs, JSON and tables.

For each variant (the base config, then each ``--variant NAME:key=value,key=value`` on top of it) and each
seed, runs (or resumes) the whole pipeline in ``<runs-dir>/<name>/<variant>/seed<k>``, then aggregates the
test metrics of every phase and baseline (``swirl_wm.reporting.benchmark``) into JSON (config, variants,
seeds, git commit, machine, wall time, rows; for SWIRL runs also ``val_rows``, the same on validation, for
choosing between variants without reading the test split) and a Markdown table beside it. ``--study studies/<question>``
also writes the table into that study folder's README, between ``<!-- table:NAME:start -->`` and
``<!-- table:NAME:end -->`` (NAME: the JSON's file name without ``.json``; the block is added if missing),
and puts the JSON there (``<config name>.json``) unless ``--output`` says otherwise.

``--jobs N`` runs N runs at a time, each in its own process with its output in ``<variant>/seed<k>.log``
beside its run folder (the base variant's seeds first; set ``model.torch_threads`` so that N × threads fits
the cores). A finished run folder is read, not rerun, so runs started by hand at these paths with the same
settings count too.

Variants that change only settings used after SFT (``swirl`` / ``baselines``; for agent runs ``rl`` /
``paw``) start from the base variant's SFT checkpoints of the same seed (copied with their ledger
entries), so an ablation costs its phases only.

Agent configs (``swirl paw``'s, recognised by their top-level ``env``) run the agent pipeline instead: rows
are the random admissible policy (the trivial baseline), the walkthrough-SFT policy and each variant after RL
(success rate on the test tasks and on the train tasks played, return, steps, the policy's world model, the
fraction of GRPO groups with mixed outcomes, RL seconds per step and peak memory), and the JSON adds each
variant's time and memory per RL step relative to the base variant, paired by seed (PaW's overhead over GRPO),
and with ``eval.curve_every`` each variant's dev-task learning curve over seeds (a table, and
``<output stem>-curve.png`` with the ``report`` extra).

    python benchmarks/harness.py configs/physics-bench.yaml --seeds 0 1 2 \\
        --variant greedy:swirl.latent_action.mode=greedy --variant beta1:swirl.phase1.beta=1.0 \\
        --study studies/label-efficiency                     # → studies/label-efficiency/physics-bench.json
    python benchmarks/harness.py configs/paw-textworld.yaml --base-config paw.enabled=false --seeds 0 1 2 \\
        --variant paw:paw.enabled=true --output studies/agents/paw-textworld.json --study studies/agents
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from swirl_wm.config import ConfigError, load_config
from swirl_wm.recipes.bench import bench, kind_of, parse_variant, with_overrides, write_bench_tables


def _variant(text: str) -> tuple[str, dict[str, Any]]:
    try:
        return parse_variant(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number ≥ 1")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--base-config", type=lambda text: _variant(f"base:{text}")[1], default={},
                        help="key=value[,key=value...] applied to the config before every variant (the base)")
    parser.add_argument("--variant", type=_variant, action="append", default=[])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/harness"))
    parser.add_argument("--output", type=Path,
                        help="the result JSON (a .md beside it); default with --study: STUDY/<config name>.json")
    parser.add_argument("--study", type=Path,
                        help="a study folder (studies/<question>) whose README gets the table, in the block "
                             "table:<output name>")
    parser.add_argument("--jobs", type=_positive, default=1,
                        help="runs at a time, each in its own process with its output in <run folder>.log "
                             "(set model.torch_threads so that jobs × threads fits the cores); default 1")
    parser.add_argument("--render", action="store_true",
                        help="only re-render the Markdown (and --study's block) from the existing --output JSON")
    args = parser.parse_args()
    if args.output is None and args.study is None:
        parser.error("--output or --study is required")
    if args.render:
        base = with_overrides(load_config(args.config, schema=kind_of(args.config).schema), args.base_config)
        output = args.output or args.study / f"{base.name}.json"
        result = json.loads(output.read_text(encoding="utf-8"))
    else:
        result, output = bench(args.config, args.seeds, args.variant, args.base_config, args.runs_dir, args.output,
                               args.study, args.jobs)
    print(write_bench_tables(result, output, args.study))


if __name__ == "__main__":
    main()
