"""``swirl``: train and evaluate world models with SWIRL from the command line.

Commands: ``swirl demo``, ``swirl train CONFIG.yaml``, ``swirl eval --run DIR --data FILE.jsonl``,
``swirl report RUN_DIR`` (the run's HTML page),
``swirl push RUN_DIR --role fwm|idm --repo-id USER/NAME`` (a trained role and its model card to the hub),
``swirl bench CONFIG.yaml --seeds 0,1,2 --variant NAME:KEY=VALUE --study studies/<question>`` (seeds × variants),
``swirl diagnose RUN_DIR`` (the reward-signal checks of a finished run),
``swirl speed iteration|scaling|scorer|...`` (the speed measurements, cli/speed.py),
``swirl predict`` / ``swirl label`` / ``swirl rollout`` (use a trained world model),
``swirl data generate --env NAME --output FILE.jsonl``,
``swirl data import --format NAME --input PATH --output FILE.jsonl``. Each parses, validates the config,
calls one library function and prints the result.
"""

from __future__ import annotations

import json
import logging
import os
from enum import Enum
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from swirl_wm.cli.speed import speed_app
from swirl_wm.data.importers import FORMATS
from swirl_wm.envs.registry import ENVIRONMENTS

# Nothing reaches the network unless the user names a hub model (environments.md): the hub is switched
# off before transformers is imported, except for a run whose model is a hub id (see _offline_unless_hub).
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(help="swirl-wm: world models from state-only logs (SWIRL, arXiv:2602.06130).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Create and convert transition data.", no_args_is_help=True)
app.add_typer(data_app, name="data")
config_app = typer.Typer(help="Inspect run configs.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(speed_app, name="speed")
console = Console()
if not console.is_terminal:  # logs and CI: rich would wrap the results table at 80 columns
    console.width = 160
# The library reports counts and speeds (e.g. ScienceWorld's transitions/s) through `logging`.
logging.basicConfig(level=logging.WARNING, format="%(message)s")
logging.getLogger("swirl_wm").setLevel(logging.INFO)

CONFIGS = files("swirl_wm") / "configs"
GENERATED = tuple(ENVIRONMENTS)  # live environments of `swirl data generate` (envs/registry.py)
GeneratedEnv = Enum("GeneratedEnv", {name: name for name in GENERATED}, type=str)
# recorded data sets of `swirl data import` (data/importers; their modules are imported on use)
ImportFormat = Enum("ImportFormat", {name: name for name in FORMATS}, type=str)


def _print_version(show: bool) -> None:
    if show:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("swirl-wm")
        except PackageNotFoundError:  # run from a source tree that was never installed
            from swirl_wm import __version__ as number
        typer.echo(f"swirl-wm {number}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                               help="print the version and exit")] = False,
) -> None:
    """Options before the command (``swirl --version``)."""


def _fail(message: str) -> typer.Exit:
    console.print("error:", message, style="bold red", markup=False, soft_wrap=True)
    return typer.Exit(code=2)


SetOption = Annotated[list[str] | None, typer.Option(
    "--set", metavar="KEY=VALUE", help="override a config field by its dotted key, e.g. --set sft.learning_rate=1e-4 "
    "(YAML value; repeatable)")]


def _load(path: Path, overrides: dict[str, Any], schema: type | None = None, sets: list[str] | None = None):
    """The config at ``path`` (``RunConfig``, or ``schema``) with the non-None ``overrides`` and the ``--set``
    items; errors exit 2."""
    from swirl_wm.config import ConfigError, RunConfig, load_config, parse_override

    try:
        dotted = {k: v for k, v in overrides.items() if v is not None} | dict(map(parse_override, sets or []))
        return load_config(path, dotted, schema=schema or RunConfig)
    except (ConfigError, OSError) as err:
        raise _fail(str(err)) from None


def _offline_unless_hub(model: str) -> None:
    """Hub access only for a model given as a hub id (not a preset, not a local folder)."""
    if model in ("smollm2", "tiny", "small") or Path(model).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _run(config) -> None:
    _offline_unless_hub(config.model.name_or_path)
    import torch

    from swirl_wm.data.jsonl import DataError
    from swirl_wm.recipes.swirl import run_swirl

    try:
        metrics = run_swirl(config, announce=lambda msg: console.print(msg, style="cyan", markup=False))
    except torch.OutOfMemoryError:
        raise _fail("out of memory: lower sft.per_device_train_batch_size, swirl.phase*.per_device_train_batch_"
                    "size (with gradient_accumulation_steps to keep the batch), eval.batch_size or "
                    "max_completion_length; finished stages are kept, so re-run the same command") from None
    except (DataError, ValueError, OSError, RuntimeError, FloatingPointError, ImportError) as err:
        raise _fail(str(err)) from None
    for table in summary_tables(metrics, console.width):
        console.print(table)
    best = metrics["best"]
    console.print(f"best FWM: {best['fwm']}  best IDM: {best['idm']}  (by validation)")
    console.print(f"run folder: {config.output_dir}  wall time: {metrics['run']['wall_time_s']:.0f} s")
    _print_log_location(config)
    from swirl_wm.reporting.run_info import missing_report_extra

    if (note := missing_report_extra()) is not None:
        console.print(note, markup=False)


def summary_tables(metrics: dict[str, Any], width: int) -> list[Table]:
    """The test split's headline metrics per phase, trained baseline (bootstrap, oracle...) and trivial
    baseline, for a console ``width`` columns wide:
    as many tables as it takes, each with the names and as many metric columns as fit, so that no name or
    value is shrunk, cut or wrapped (at 80 columns one shrunk table cut ``iter1/phase1`` and
    ``iter1/phase2`` to the same ``iter1/…``); long metric names fold in the header."""
    from swirl_wm.reporting.markdown import SUMMARY_KEYS, format_value, metrics_rows, model_baseline_rows

    header, rows = metrics_rows(metrics, "test", only=SUMMARY_KEYS)
    trained = [("baseline", [name, "", *(format_value(key, values.get(key)) for key in header[2:])])
               for name, values in model_baseline_rows(metrics, "test")]
    phases = sum(kind == "phase" for kind, _ in rows)
    rows = rows[:phases] + trained + rows[phases:]  # phases, trained baselines, then the trivial ones
    widest = [max([len(cells[i]) for _, cells in rows] + [len(name) if i < 2 else 6])
              for i, name in enumerate(header)]
    chunks: list[list[int]] = [[]]
    used = fixed = 1 + widest[0] + 3 + widest[1] + 3  # a column takes its cells, 2 of padding and 1 of border
    for i in range(2, len(header)):
        if chunks[-1] and used + widest[i] + 3 > width:
            chunks.append([])
            used = fixed
        chunks[-1].append(i)
        used += widest[i] + 3
    tables = []
    for number, chunk in enumerate(chunks):
        title = f"Test split ({len(metrics['phases'])} phases)" + (", continued" if number else "")
        table = Table(title=title, title_justify="left")
        for i in (0, 1, *chunk):
            table.add_column(header[i], justify="left" if i < 2 else "right", no_wrap=i < 2, overflow="fold",
                             min_width=widest[i])
        for kind, cells in rows:
            style = "bold" if kind == "phase" and cells[1] else "italic" if kind == "baseline" else None
            table.add_row(*(Text(cells[i]) for i in (0, 1, *chunk)), style=style)  # Text: not rich markup
        tables.append(table)
    return tables


def _print_log_location(config) -> None:
    loggers = set(config.sft.report_to)
    loggers |= set(config.rl.report_to) if hasattr(config, "rl") else {
        name for phase in (config.swirl.phase1, config.swirl.phase2) for name in phase.report_to}
    if "tensorboard" in loggers:
        console.print(f"training curves: tensorboard --logdir {Path(config.output_dir) / 'logs'}")


DEMO_MODELS = ("small", "smollm2", "tiny")  # each with its packaged demo config


@app.command()
def demo(
    model: Annotated[str, typer.Option(help="'small' (default), 'smollm2', 'tiny', or a model folder")] = "small",
    output_dir: Annotated[Path | None, typer.Option(help="run folder (default runs/demo[-MODEL])")] = None,
    seed: Annotated[int | None, typer.Option(help="seed (default 0)")] = None,
    sets: SetOption = None,
) -> None:
    """Embedded physics world: SFT, then Phase I on the unlabelled half beside the bootstrap, then a table of
    SFT vs the unlabelled-data arms vs the trivial baselines.

    --model small (default) is the CPU tier (configs/demo.yaml in the package); --model smollm2 runs
    SmolLM2-135M (configs/demo-smollm2.yaml), as does a model folder; --model tiny the pipeline at smoke-test
    size (configs/demo-tiny.yaml).
    """
    preset = {"small": "demo.yaml", "tiny": "demo-tiny.yaml"}.get(model, "demo-smollm2.yaml")
    overrides: dict[str, Any] = {"seed": seed, "output_dir": output_dir}
    if model not in DEMO_MODELS:
        overrides["output_dir"] = output_dir or Path(f"runs/demo-{Path(model).name}")
    config = _load(Path(str(CONFIGS / preset)), overrides, sets=sets)
    if model not in DEMO_MODELS:
        from pydantic import ValidationError

        from swirl_wm.config import ModelConfig

        try:
            chosen = ModelConfig.model_validate(config.model.model_dump() | {"name_or_path": model})
        except ValidationError as err:
            raise _fail(f"--model: {err.errors()[0]['msg'].removeprefix('Value error, ')}") from None
        config = config.model_copy(update={"model": chosen})
    _run(config)


@app.command()
def train(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="run config (see configs/)")],
    output_dir: Annotated[Path | None, typer.Option(help="override output_dir")] = None,
    seed: Annotated[int | None, typer.Option(help="override seed")] = None,
    sets: SetOption = None,
) -> None:
    """Run (or resume) SFT + SWIRL as the config says; the same command resumes an interrupted run."""
    _run(_load(config_path, {"output_dir": output_dir, "seed": seed}, sets=sets))


@app.command()
def paw(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="agent run config (configs/paw-*.yaml)")],
    output_dir: Annotated[Path | None, typer.Option(help="override output_dir")] = None,
    seed: Annotated[int | None, typer.Option(help="override seed")] = None,
    sets: SetOption = None,
) -> None:
    """Agent RL: walkthrough SFT, then GRPO on trajectories with PaW's world-model loss (paw.enabled), then
    success rate and the policy's world model on held-out tasks. Re-running resumes."""
    from swirl_wm.config import AgentRunConfig

    config = _load(config_path, {"output_dir": output_dir, "seed": seed}, schema=AgentRunConfig, sets=sets)
    _offline_unless_hub(config.model.name_or_path)
    import torch

    from swirl_wm.recipes.paw import run_agent
    from swirl_wm.run_folder import Layout

    try:
        metrics = run_agent(config, announce=lambda msg: console.print(msg, style="cyan", markup=False))
    except torch.OutOfMemoryError:
        raise _fail("out of memory: lower rl.per_device_train_batch_size, eval.batch_size or "
                    "rollout.max_context_tokens; finished stages are kept, so re-run the same command") from None
    except (ValueError, OSError, RuntimeError, FloatingPointError, KeyError, ImportError) as err:
        raise _fail(str(err)) from None
    console.print(Markdown((Path(config.output_dir) / Layout.REPORT).read_text(encoding="utf-8")))
    console.print(f"run folder: {config.output_dir}  wall time: {metrics['run']['wall_time_s']:.0f} s")
    _print_log_location(config)


@config_app.command("show")
def config_show(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="a `swirl train` or `swirl paw` config")],
    sets: SetOption = None,
) -> None:
    """Print the resolved config (every default written out) after validation and the --set overrides."""
    from swirl_wm.config import AgentRunConfig, dump_config, is_agent_config

    try:
        agent = is_agent_config(config_path)
    except (OSError, yaml.YAMLError) as err:
        raise _fail(f"{config_path}: {err}") from None
    config = _load(config_path, {}, schema=AgentRunConfig if agent else None, sets=sets)
    typer.echo(dump_config(config), nl=False)


@app.command("eval")
def evaluate(
    run: Annotated[Path, typer.Option(help="a run folder written by `swirl train`/`swirl demo`/`swirl paw`")],
    data: Annotated[Path | None, typer.Option(
        help="JSONL transitions with gold actions (required for SWIRL runs; for agent runs, expert episodes "
             "for the policy's world model, default the run's held-out walkthroughs)")] = None,
    phase: Annotated[str, typer.Option(
        help="'best' or a phase name: sft, iter1/phase1, self-training (SWIRL); sft, rl (agent)")] = "best",
    output: Annotated[Path | None, typer.Option(help="write the metrics as JSON here")] = None,
    rollout_steps: Annotated[int, typer.Option(min=0, help="SWIRL runs: also roll the labelled episodes' gold "
                                                      "plans out for up to this many steps (metrics per step)")] = 0,
    device: Annotated[str | None, typer.Option(help="SWIRL runs: cpu, cuda, cuda:1... (default: a GPU if any)")
                      ] = None,
) -> None:
    """Evaluate a run: a SWIRL run's FWM and IDM (of one phase) on any transitions file — supervised metrics
    on its labelled transitions, cycle consistency on all (no labels needed), per-step rollouts with
    --rollout-steps — or an agent run's policy on its held-out tasks (success rate, return, steps) and as a
    world model of expert episodes."""
    _offline_unless_hub(str(run))  # a run's checkpoints are local folders
    from swirl_wm.config import ConfigError, is_agent_config
    from swirl_wm.data.jsonl import DataError
    from swirl_wm.run_folder import Layout

    try:
        if is_agent_config(run / Layout.CONFIG):  # a swirl paw run
            from swirl_wm.recipes.paw import evaluate_agent_run

            metrics = evaluate_agent_run(run, phase, data)
        else:
            from swirl_wm.evaluation.run_eval import evaluate_run

            if data is None:
                raise ValueError(f"{run} is a SWIRL run: pass --data, a JSONL of transitions (e.g. "
                                 f"{run / 'data/test.jsonl'})")
            metrics = evaluate_run(run, data, phase, rollout_steps, device)
    except (ConfigError, DataError, ValueError, OSError, KeyError, yaml.YAMLError) as err:
        raise _fail(str(err)) from None
    text = json.dumps(metrics, indent=2)
    if output:
        from swirl_wm.files import atomic_write_text

        atomic_write_text(output, text)
    console.print(text)


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="a finished run folder written by `swirl train` or `swirl demo`")],
) -> None:
    """Write RUN/report.html from the run's metrics.json: one self-contained page (metrics per phase and split
    with the trivial baselines, GRPO reward / KL / completion-length curves, latent-action diagnostics,
    rollout curves, a sample of test transitions with predictions; figures embedded)."""
    from swirl_wm.envs.extras import require
    from swirl_wm.reporting.run_info import REPORT_PACKAGES
    from swirl_wm.run_folder import Layout

    source = run / Layout.METRICS
    try:
        for package in REPORT_PACKAGES:
            require(package, "report")
        from swirl_wm.reporting.html import write_html_report

        metrics = json.loads(source.read_text(encoding="utf-8"))
        if "phases" not in metrics or "best" not in metrics:
            raise ValueError(f"{source}: not a finished SWIRL run's metrics (no 'phases' / 'best'); agent runs "
                             "(`swirl paw`) have report.md only")
        path = write_html_report(metrics, run)
    except (OSError, ValueError, KeyError, ImportError) as err:
        raise _fail(f"{source}: {err}" if isinstance(err, KeyError) else str(err)) from None
    console.print(f"wrote {path}", markup=False)


@app.command()
def push(
    run: Annotated[Path, typer.Argument(help="a finished run folder written by `swirl train` or `swirl demo`")],
    role: Annotated[str, typer.Option(help="the role to upload: fwm or idm")],
    repo_id: Annotated[str, typer.Option(help="the hub repository, <user or organisation>/<name>")],
    phase: PhaseOption = "best",
    private: Annotated[bool, typer.Option(help="create the repository private")] = False,
) -> None:
    """Upload one role's checkpoint of RUN to the Hugging Face hub with its model card (base model, method,
    data, metrics beside the trivial baselines, config, how to load it); uses the token of `hf auth login`
    or HF_TOKEN."""
    from swirl_wm.reporting.hub import push_role

    try:
        url = push_role(run, role, repo_id, phase=phase, private=private)
    except (OSError, KeyError, ValueError) as err:
        raise _fail(str(err).strip("'\"")) from None
    console.print(f"pushed the {role.upper()} of {phase!r} to {url}", markup=False)


def _seed_list(items: list[str]) -> list[int]:
    """``["0,1", "2"]`` → ``[0, 1, 2]`` (``--seeds 0,1,2`` or ``--seeds 0 --seeds 1 ...``)."""
    try:
        return [int(part) for item in items for part in item.split(",") if part.strip()]
    except ValueError:
        raise _fail(f"--seeds {','.join(items)}: expected whole numbers, e.g. --seeds 0,1,2") from None


@app.command()
def bench(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="a `swirl train` or `swirl paw` config")],
    seeds: Annotated[list[str] | None, typer.Option(
        "--seeds", help="seeds, comma-separated or repeated (default 0,1,2)")] = None,
    variants: Annotated[list[str] | None, typer.Option(
        "--variant", metavar="NAME:KEY=VALUE,...", help="a variant on top of the base config, e.g. "
        "beta1:swirl.phase1.beta=1.0 (repeatable)")] = None,
    base_config: Annotated[str | None, typer.Option(
        metavar="KEY=VALUE,...", help="dotted keys applied to the config before every variant (the base)")] = None,
    runs_dir: Annotated[Path, typer.Option(help="run folders: RUNS_DIR/<config name>/<variant>/seed<k>")
                        ] = Path("runs/bench"),
    study: Annotated[Path | None, typer.Option(
        help="a study folder (studies/<question>): the JSON goes there and its tables into its README")] = None,
    output: Annotated[Path | None, typer.Option(
        help="the result JSON (a .md beside it); default with --study: STUDY/<config name>.json")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="runs at a time, each in its own process with its output in "
                                                  "<run folder>.log (set model.torch_threads so that jobs × threads "
                                                  "fits the cores)")] = 1,
    render: Annotated[bool, typer.Option(help="only re-render the Markdown (and --study's block) from the "
                                              "existing JSON")] = False,
) -> None:
    """Seeded benchmark: the base config and each --variant over every seed (finished run folders are read,
    not rerun), mean ± 95 % CI over seeds and the change over SFT paired by seed, into a result JSON with its
    provenance and a Markdown table beside it (and into the --study folder's README)."""
    from swirl_wm.config import ConfigError
    from swirl_wm.data.jsonl import DataError
    from swirl_wm.recipes.bench import bench as run_bench
    from swirl_wm.recipes.bench import parse_variant, write_bench_tables

    if output is None and study is None:
        raise _fail("give --study studies/<question> (the JSON goes there) or --output FILE.json")
    base = _load_any(config_path, base_config)
    _offline_unless_hub(base.model.name_or_path)
    try:
        if render:
            target = output or study / f"{base.name}.json"  # type: ignore[operator]
            result = json.loads(target.read_text(encoding="utf-8"))
        else:
            result, target = run_bench(
                config_path, _seed_list(seeds or ["0,1,2"]), [parse_variant(v) for v in variants or []],
                parse_variant(f"base:{base_config}")[1] if base_config else {}, runs_dir, output, study, jobs,
                announce=lambda msg: console.print(msg, style="cyan", markup=False))
        table = write_bench_tables(result, target, study)
    except (ConfigError, DataError, ValueError, OSError, RuntimeError, KeyError, yaml.YAMLError) as err:
        raise _fail(str(err)) from None
    console.print(table, markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {target}" + (f" and its table into {study / 'README.md'}" if study else ""), markup=False)


def _load_any(path: Path, base_config: str | None):
    """A ``swirl train`` or ``swirl paw`` config with the ``--base-config`` items; errors exit 2."""
    from swirl_wm.config import AgentRunConfig, is_agent_config

    try:
        agent = is_agent_config(path)
    except (OSError, yaml.YAMLError) as err:
        raise _fail(f"{path}: {err}") from None
    return _load(path, {}, schema=AgentRunConfig if agent else None,
                 sets=base_config.split(",") if base_config else None)


@app.command()
def diagnose(
    run: Annotated[Path, typer.Argument(help="a finished `swirl train` run folder that kept its checkpoints")],
    pairs: Annotated[int | None, typer.Option(min=1, help="pairs per phase, its first ones (default: the run's "
                                                          "swirl.warm_start_check.pairs, else 16)")] = None,
    output: Annotated[Path | None, typer.Option(help="write the JSON here (default: print it)")] = None,
) -> None:
    """The reward-signal checks of a finished run: before each Phase I, does the IDM's reward rank the FWM's
    samples by quality (and how accurate are the latent actions); before each Phase II, does the FWM's reward
    rank the IDM's actions by whether they explain the transition. The same checks and seeds as the run's own
    swirl.warm_start_check, on the models each phase started from."""
    _offline_unless_hub(str(run))  # a run's checkpoints are local folders
    from swirl_wm.config import ConfigError
    from swirl_wm.recipes.diagnose import diagnose as run_diagnose

    progress = Console(stderr=True)  # stdout carries the JSON alone
    try:
        result = run_diagnose(run, pairs, announce=lambda msg: progress.print(msg, style="cyan", markup=False))
    except (ConfigError, ValueError, OSError, KeyError, yaml.YAMLError) as err:
        raise _fail(str(err)) from None
    text = json.dumps(result, indent=2)
    if output is None:
        typer.echo(text)
        return
    from swirl_wm.files import atomic_write_text

    atomic_write_text(output, text + "\n")
    console.print(f"wrote {output}", markup=False)


RunOption = Annotated[Path | None, typer.Option(help="a run folder written by `swirl train` (or use --fwm/--idm)")]
PhaseOption = Annotated[str, typer.Option(
    help="'best' (by validation) or a phase name: sft, iter1/phase1, ..., self-training")]
FwmOption = Annotated[Path | None, typer.Option(help="a plain HF folder holding the FWM (instead of --run)")]
IdmOption = Annotated[Path | None, typer.Option(help="a plain HF folder holding the IDM (default: --fwm, shared)")]
DescriptionOption = Annotated[str | None, typer.Option(
    help="with --fwm: the task description (default: the one saved with the model, prompt_format.json)")]
DeviceOption = Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1... (default: a GPU if any)")]
OutputOption = Annotated[Path | None, typer.Option(help="write JSONL here (default: print); for image states also "
                                                   "a PNG per row in OUTPUT's name + '-frames/'")]


def _world_model(run: Path | None, phase: str, fwm: Path | None, idm: Path | None, description: str | None,
                 device: str | None):
    """The world model named on the command line: a run's phase, or two plain HF folders."""
    if (run is None) == (fwm is None):
        raise _fail("name the models with --run RUN_FOLDER or with --fwm FOLDER [--idm FOLDER], not both")
    _offline_unless_hub(str(run or fwm))
    try:
        if run is not None:
            from swirl_wm.evaluation.run_eval import load_world_model

            return load_world_model(run, phase, device)
        from swirl_wm.models.world_model import WorldModel

        return WorldModel.from_pretrained(str(fwm), str(idm) if idm else None, description=description, device=device)
    except (OSError, KeyError, ValueError, yaml.YAMLError) as err:
        raise _fail(str(err)) from None


def _read_input(path: Path):
    from swirl_wm.data.jsonl import DataError
    from swirl_wm.data.tables import read_any

    try:
        return read_any(path)
    except (DataError, OSError) as err:
        raise _fail(str(err)) from None


def _emit(rows: list[dict[str, Any]], output: Path | None) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if output is None:
        console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
        return
    from swirl_wm.files import atomic_write_text

    atomic_write_text(output, text)
    console.print(f"wrote {len(rows)} rows to {output}")


def _emit_frames(model: Any, pictures: list[Any], output: Path | None) -> None:
    """For image states with an --output, each row's picture as a PNG in ``<output without suffix>-frames/``."""
    from swirl_wm.modality.image import ImageModality
    from swirl_wm.reporting.frames import write_pngs

    if output is None or not isinstance(model.modality, ImageModality):
        return
    folder = output.with_name(output.stem + "-frames")
    paths = write_pngs(model.modality, pictures, folder)
    console.print(f"wrote {len(paths)} PNG files to {folder}")


@app.command()
def predict(
    run: RunOption = None, phase: PhaseOption = "best", fwm: FwmOption = None, idm: IdmOption = None,
    description: DescriptionOption = None, device: DeviceOption = None, output: OutputOption = None,
    x: Annotated[str | None, typer.Option(help="a prior state (with --z)")] = None,
    z: Annotated[str | None, typer.Option(help="an action (with --x)")] = None,
    input_path: Annotated[Path | None, typer.Option("--input", help="transitions (JSONL, Parquet, datasets folder); "
                                                    "each labelled one gets predictions")] = None,
    n: Annotated[int, typer.Option(min=1, help="next states per input: 1 = greedy, more = sampled (T 0.7, p .96)")
                 ] = 1,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
) -> None:
    """The FWM's next state(s) for (x, z): one pair from --x/--z, or every labelled transition of --input."""
    if (x is None or z is None) == (input_path is None):
        raise _fail("give --x and --z, or --input FILE")
    rows = [{"x": x, "z": z}] if input_path is None else [
        {"episode_id": t.episode_id, "step": t.step, "x": t.x, "z": t.z, "y": t.y}
        for t in _read_input(input_path) if t.z is not None]
    if not rows:
        raise _fail(f"{input_path}: no transition has an action to predict from")
    model = _world_model(run, phase, fwm, idm, description, device)
    from swirl_wm.reporting.frames import predict_strips

    states = model.predict([r["x"] for r in rows], [r["z"] for r in rows], n=n, seed=seed)
    out = [r | {"predictions": s} for r, s in zip(rows, states, strict=True)]
    _emit(out, output)
    _emit_frames(model, [predict_strips(r) for r in out], output)


@app.command()
def label(
    input_path: Annotated[Path, typer.Option("--input", help="state-only or partly labelled transitions (JSONL, "
                                             "Parquet, datasets folder)")],
    output: Annotated[Path, typer.Option(help="JSONL of the transitions with the IDM's actions")],
    run: RunOption = None, phase: PhaseOption = "best", fwm: FwmOption = None, idm: IdmOption = None,
    description: DescriptionOption = None, device: DeviceOption = None,
    min_logprob: Annotated[float | None, typer.Option(help="confidence filter: an action whose mean token "
                                                      "log-prob is below this stays unlabelled (released code: -2.0)")
                           ] = None,
    relabel: Annotated[bool, typer.Option(help="also replace gold actions (kept in meta.gold_action)")] = False,
) -> None:
    """Annotate transitions with the IDM's actions and their confidence (meta.idm_action, meta.idm_logprob)."""
    from swirl_wm.data.jsonl import write_transitions

    transitions = _read_input(input_path)
    model = _world_model(run, phase, fwm, idm, description, device)
    labelled = model.label(transitions, min_logprob=min_logprob, relabel=relabel)
    write_transitions(output, labelled)
    sources = [t.meta["label_source"] for t in labelled]
    console.print(f"wrote {len(labelled)} transitions to {output}: {sources.count('idm')} labelled by the IDM, "
                  f"{sources.count('gold')} gold kept, {sources.count('none')} below --min-logprob left unlabelled")


@app.command()
def rollout(
    run: RunOption = None, phase: PhaseOption = "best", fwm: FwmOption = None, idm: IdmOption = None,
    description: DescriptionOption = None, device: DeviceOption = None, output: OutputOption = None,
    x0: Annotated[str | None, typer.Option(help="a start state (with --action, repeated: the plan)")] = None,
    action: Annotated[list[str] | None, typer.Option(help="one action of the plan; repeat for each step")] = None,
    input_path: Annotated[Path | None, typer.Option("--input", help="episodes (JSONL, Parquet, datasets folder): each "
                                                    "labelled one is rolled out from its first state")] = None,
    steps: Annotated[int, typer.Option(min=1, help="with --input: the first STEPS actions of each episode")] = 6,
) -> None:
    """Roll a plan out in the FWM, which feeds on its own predictions: from --x0 with the --action plan, or
    from the first state of each fully labelled episode of --input with its gold actions."""
    from swirl_wm.data.jsonl import group_episodes

    if (x0 is None or not action) == (input_path is None):
        raise _fail("give --x0 and at least one --action, or --input FILE")
    if input_path is None:
        rows = [{"x0": x0, "actions": list(action or [])}]
    else:
        episodes = [e for e in group_episodes(_read_input(input_path)) if all(t.z is not None for t in e.transitions)]
        if not episodes:
            raise _fail(f"{input_path}: no episode has an action at every step")
        rows = [{"episode_id": e.episode_id, "x0": e.transitions[0].x,
                 "actions": [t.z for t in e.transitions[:steps]],
                 "true_states": [t.y for t in e.transitions[:steps]]} for e in episodes]
    model = _world_model(run, phase, fwm, idm, description, device)
    from swirl_wm.reporting.frames import rollout_strips

    chains = model.rollout([r["x0"] for r in rows], [r["actions"] for r in rows])
    out = [r | {"predicted_states": c} for r, c in zip(rows, chains, strict=True)]
    _emit(out, output)
    _emit_frames(model, [rollout_strips(r) for r in out], output)


@data_app.command("generate")
def data_generate(
    env: Annotated[GeneratedEnv, typer.Option(help="the environment to record")],
    output: Annotated[Path, typer.Option(help="JSONL file to write (one transition per line)")],
    config_path: Annotated[Path | None, typer.Option("--config", help="take data.<env> settings from a config")
                           ] = None,
    seed: Annotated[int, typer.Option(help="generation seed")] = 0,
    n_episodes: Annotated[int | None, typer.Option(help="physics: number of episodes")] = None,
) -> None:
    """Generate transitions from a built-in environment into a JSONL file."""
    from swirl_wm.config import RunConfig
    from swirl_wm.data.jsonl import write_episodes
    from swirl_wm.recipes.data import build_episodes

    config = _load(config_path, {}) if config_path else RunConfig()
    raw = config.model_dump() | {"seed": seed}
    raw["data"]["env"] = env.value
    if n_episodes is not None:
        raw["data"]["physics"]["n_episodes"] = n_episodes
    try:
        config = RunConfig.model_validate(raw)
    except ValueError as err:
        raise _fail(str(err)) from None
    episodes = build_episodes(config)
    write_episodes(output, episodes)
    console.print(f"wrote {sum(len(e) for e in episodes)} transitions of {len(episodes)} episodes to {output}")


@data_app.command("import")
def data_import(
    fmt: Annotated[ImportFormat, typer.Option("--format", help="the recorded data set's format")],
    input_path: Annotated[Path, typer.Option("--input", help="the recorded file (propara: a grids file or the "
                                             "folder of the three)")],
    output: Annotated[Path, typer.Option(help="JSONL file to write (one transition per line)")],
    max_state_chars: Annotated[int, typer.Option(
        min=100, help="budget per state in characters; a longer state keeps its head and tail")] = 2000,
) -> None:
    """Import a recorded real data set (shared/data) into a JSONL file of transitions."""
    from swirl_wm.data.importers import import_episodes
    from swirl_wm.data.jsonl import DataError, write_episodes
    from swirl_wm.data.truncate import count_truncated

    try:
        episodes = import_episodes(fmt.value, input_path, max_state_chars)
    except (DataError, OSError) as err:
        raise _fail(str(err)) from None
    write_episodes(output, episodes)
    console.print(f"wrote {sum(len(e) for e in episodes)} transitions of {len(episodes)} episodes to {output} "
                  f"({count_truncated(episodes)} with a state cut to {max_state_chars} chars)")


if __name__ == "__main__":
    app()
