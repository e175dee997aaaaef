"""What the agent benchmarks (``paw_overhead.py``, ``rollout_speed.py``) share: their command line, the
config and policy they load, and the header of the JSON they write (config, seed, machine, git commit)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from swirl_wm.config import AgentRunConfig, load_config
from swirl_wm.models.loading import resolve_model
from swirl_wm.reporting.run_info import provenance


def parser(doc: str, tasks: int, repeats: int, tasks_help: str = "tasks to play") -> argparse.ArgumentParser:
    """``CONFIG --model --tasks --repeats --threads --output``, with this benchmark's defaults."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", type=Path, help="an agent config (configs/paw-*.yaml)")
    p.add_argument("--model", help="policy checkpoint or model name (default: the config's model)")
    p.add_argument("--tasks", type=int, default=tasks, help=tasks_help)
    p.add_argument("--repeats", type=int, default=repeats)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    p.add_argument("--output", type=Path, required=True)
    return p


def setup(args: argparse.Namespace) -> tuple[AgentRunConfig, str]:
    """Set the thread count; return the agent config and the policy's local path."""
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.config, schema=AgentRunConfig)
    return config, resolve_model(args.model or config.model.name_or_path).path


def write(name: str, args: argparse.Namespace, config: AgentRunConfig, device: str, figures: dict[str, Any]
          ) -> None:
    """Write the benchmark's JSON (header + ``figures``) to ``--output`` and print it without the bulky keys."""
    result = provenance(benchmark=name, config_path=str(args.config), config=config.model_dump(mode="json"),
                        model=args.model or config.model.name_or_path, seed=config.seed, repeats=args.repeats,
                        device=device, threads=torch.get_num_threads()) | figures
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "config")}, indent=2))
