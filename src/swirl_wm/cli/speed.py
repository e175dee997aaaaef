"""``swirl speed``: the speed measurements of studies/speed and studies/agents (:mod:`swirl_wm.recipes.speed`).
Each command runs one measurement, writes its JSON (with the provenance header) and prints a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

speed_app = typer.Typer(help="Speed measurements: a SWIRL iteration against stock TRL (interleaved repeats), its "
                             "scaling, the scorer, the SFT step, agent rollouts, PaW's overhead.",
                        no_args_is_help=True)
console = Console()

OutputOption = Annotated[Path, typer.Option(help="the result JSON to write")]
ModelOption = Annotated[str, typer.Option(help="a preset (smollm2, tiny) or a model folder")]
ThreadsOption = Annotated[int, typer.Option(min=0, help="torch CPU threads (0: torch's default)")]


def _write(result: dict[str, Any], output: Path) -> None:
    from swirl_wm.files import atomic_write_text

    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output, json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {output}", markup=False)


def _fail(message: str) -> typer.Exit:
    console.print("error:", message, style="bold red", markup=False, soft_wrap=True)
    return typer.Exit(code=2)


@speed_app.command()
def iteration(
    output: OutputOption,
    model: ModelOption = "smollm2",
    pairs: Annotated[int, typer.Option(min=1, help="physics transitions (prompts of each phase)")] = 8,
    generations: Annotated[int, typer.Option(min=2, help="G, samples per prompt")] = 8,
    steps: Annotated[int, typer.Option(min=1, help="optimizer steps per phase")] = 2,
    max_completion: Annotated[int, typer.Option(min=1, help="Phase I's completion budget (tokens)")] = 48,
    idm_completion: Annotated[int, typer.Option(min=1, help="Phase II's completion budget (tokens)")] = 10,
    objects: Annotated[int, typer.Option(min=1, help="objects per physics state (the prompt's length)")] = 2,
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads")] = 2,
    seed: int = 0,
    repeats: Annotated[int, typer.Option(min=1, help="runs of each pipeline, interleaved A B, B A, ... "
                                                     "(≥ 3 for a reported ratio)")] = 3,
    pipeline: Annotated[list[str] | None, typer.Option(
        help="'stock TRL' and/or 'swirl-wm' (default both; one alone for a scaling row)")] = None,
    allow_dirty: Annotated[bool, typer.Option(help="measure a tree with uncommitted changes (the JSON's commit "
                                                   "then says +dirty)")] = False,
) -> None:
    """One SWIRL iteration (Phase I, then Phase II) through swirl-wm and through stock TRL on the same work,
    interleaved over --repeats, timed part by part; the speed-up is the median per-repeat ratio with its
    95 % bootstrap interval. On a GPU it runs in bf16. Refuses uncommitted changes unless --allow-dirty."""
    from swirl_wm.recipes.speed import PIPELINES, DirtyTreeError, IterationSettings, iteration_speed

    settings = IterationSettings(model=model, pairs=pairs, generations=generations, steps=steps,
                                 max_completion=max_completion, idm_completion=idm_completion, objects=objects,
                                 threads=threads, seed=seed, repeats=repeats, pipelines=tuple(pipeline or PIPELINES))
    try:
        result = iteration_speed(settings, allow_dirty,
                                 announce=lambda msg: console.print(msg, style="cyan", markup=False))
    except (DirtyTreeError, ValueError, OSError) as err:
        raise _fail(str(err)) from None
    _write(result, output)
    for name, run in result["pipelines"].items():
        console.print(f"{name}: median {run['iteration_seconds']:.1f} s per iteration", markup=False)
    if "speedup_vs_stock_trl" in result:
        ratio = result["speedup_vs_stock_trl"]
        low, high = ratio["interval"]
        console.print(f"swirl-wm over stock TRL: ×{ratio['median_ratio']:.2f} (95 % bootstrap interval "
                      f"{low:.2f}–{high:.2f}, {ratio['repeats']} repeats); largest reward difference "
                      f"{result['max_reward_difference']:.1g} nats/token", markup=False)


@speed_app.command()
def scaling(
    files: Annotated[list[Path], typer.Argument(help="`swirl speed iteration` JSON; the first is the reference")],
    output: OutputOption,
) -> None:
    """How the swirl-wm iteration scales with G, prompts per step and state length: one row per file, each
    time also at the reference file's machine speed."""
    from swirl_wm.recipes.speed import scaling as run_scaling
    from swirl_wm.reporting.speed import scaling_markdown

    try:
        result = run_scaling({str(path): json.loads(path.read_text(encoding="utf-8")) for path in files})
    except (OSError, ValueError, KeyError) as err:
        raise _fail(f"{err}") from None
    console.print(scaling_markdown(result["rows"]), markup=False, highlight=False)
    _write(result, output)


@speed_app.command()
def scorer(
    output: OutputOption,
    model: ModelOption = "smollm2",
    pairs: Annotated[int, typer.Option(min=1, help="scored pairs per reward (G × prompts of a step)")] = 64,
    batch: Annotated[int, typer.Option(min=1)] = 16,
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    threads: ThreadsOption = 1,
    seed: int = 0,
) -> None:
    """The frozen scorer on each phase's reward, output layer at every position vs at the targets' only."""
    from swirl_wm.recipes.speed import scorer_speed

    result = scorer_speed(model, pairs, batch, repeats, threads, seed)
    for name, r in result["results"].items():
        console.print(f"{name}: {r['seconds_every_position']:.2f} → {r['seconds_target_positions']:.2f} s, "
                      f"×{r['speedup']:.2f}, largest score difference {r['max_score_difference']:.1g}", markup=False)
    _write(result, output)


@speed_app.command("scorer-memory")
def scorer_memory(
    output: OutputOption,
    batch: Annotated[int, typer.Option(min=1)] = 16,
    tokens: Annotated[int, typer.Option(min=1)] = 128,
    vocab: Annotated[int, typer.Option(min=2, help="vocabulary size (SmolLM2's by default)")] = 49152,
) -> None:
    """Peak memory and time of the scorer's log-probabilities against a full log-softmax."""
    from swirl_wm.recipes.speed import scorer_memory as run

    result = run(batch, tokens, vocab)
    console.print(json.dumps(result["variants"]), f"same result: {result['same_result']}", markup=False)
    _write(result, output)


@speed_app.command("sft-step")
def sft_step(
    output: OutputOption,
    model: ModelOption = "smollm2",
    steps: Annotated[int, typer.Option(min=1)] = 4,
    batch: Annotated[int, typer.Option(min=1)] = 8,
    threads: ThreadsOption = 2,
    seed: int = 0,
) -> None:
    """One SFT step through TRL against a plain forward and backward."""
    from swirl_wm.recipes.speed import sft_step as run

    result = run(model, steps, batch, threads, seed)
    console.print(f"plain {result['plain_s_per_step']:.2f} s/step, TRL {result['trl_s_per_step_incl_setup']:.2f} "
                  "s/step (set-up included)", markup=False)
    _write(result, output)


AgentConfig = Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="an agent config (configs/paw-*.yaml)")]
PolicyOption = Annotated[str | None, typer.Option(help="policy checkpoint or model (default: the config's model)")]


@speed_app.command()
def rollout(
    config_path: AgentConfig,
    output: OutputOption,
    model: PolicyOption = None,
    tasks: Annotated[int, typer.Option(min=1, help="test tasks to play")] = 10,
    repeats: Annotated[int, typer.Option(min=1)] = 2,
    threads: ThreadsOption = 0,
) -> None:
    """Agent rollouts: one KV cache per episode against the batch re-encoded every step (greedy, same actions)."""
    from swirl_wm.recipes.speed import rollout_speed

    try:
        result = rollout_speed(config_path, model, tasks, repeats, threads)
    except ImportError as err:
        raise _fail(str(err)) from None
    console.print(f"batch {result['seconds']['batch']:.1f} s, episode {result['seconds']['episode']:.1f} s, "
                  f"same actions: {result['same_actions']}", markup=False)
    _write(result, output)


@speed_app.command("paw-overhead")
def paw_overhead(
    config_path: AgentConfig,
    output: OutputOption,
    model: PolicyOption = None,
    tasks: Annotated[int, typer.Option(min=1, help="tasks in the batch (each played G times)")] = 2,
    repeats: Annotated[int, typer.Option(min=1)] = 5,
    threads: ThreadsOption = 0,
) -> None:
    """PaW's loss forward + backward against plain GRPO's on the same batch of rollouts."""
    from swirl_wm.recipes.speed import paw_overhead as run

    try:
        result = run(config_path, model, tasks, repeats, threads)
    except ImportError as err:
        raise _fail(str(err)) from None
    console.print(f"PaW over GRPO: loss {result['overhead_loss_pct']:+.1f} %, whole step "
                  f"{result['overhead_step_pct']:+.1f} %", markup=False)
    _write(result, output)
