"""One checkpoint of a run folder, evaluated on the run's held-out split beside the trivial baselines,
while (or without) the run going on: the warm-start check of an SFT model before any RL stage ran
(is the SFT FWM above copying the state, does the IDM name the action?). Reads the run's
``config.yaml``, data splits and checkpoint; writes nothing into the run folder. Writes JSON (run,
checkpoint, role, split, metrics, trivial baselines, machine, git commit) and prints the headline figures.

    python benchmarks/checkpoint_eval.py runs/bfcl-study/bfcl-study/swirl/seed0 --checkpoint checkpoints/sft/fwm \\
        --role fwm --output studies/bfcl/whole-state-sft-fwm-seed0.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from swirl_wm.config import load_config
from swirl_wm.data.splits import Splits
from swirl_wm.evaluation.baselines import trivial_baselines
from swirl_wm.evaluation.evaluate import evaluate_role
from swirl_wm.files import atomic_write_text
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.reporting.run_info import provenance
from swirl_wm.run_folder import Layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--checkpoint", required=True, help="run-relative, e.g. checkpoints/sft/fwm")
    parser.add_argument("--role", choices=["fwm", "idm"], required=True)
    parser.add_argument("--split", choices=["val", "test"], default="test")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-examples", type=int, default=None, help="default: the run's eval.max_examples")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.run / "config.yaml")
    run = SwirlRun(config, print)
    splits = Splits.load(run.path(Layout.DATA))
    transitions = getattr(splits, args.split)[: args.max_examples or config.eval.max_examples]
    quiet = config.eval.model_copy(update={"embedding_similarity": False})
    metrics, _ = evaluate_role(args.role, run.scorer(args.checkpoint), transitions, quiet)
    trivial = trivial_baselines(splits.labelled, transitions, quiet, run.prompt_format.state_modality)
    out = provenance(run=str(args.run), checkpoint=args.checkpoint, role=args.role, split=args.split,
                     transitions=len(transitions), metrics=metrics, trivial_baselines=trivial)
    atomic_write_text(args.output, json.dumps(out, indent=2) + "\n")
    print(json.dumps({"model": {k: v for k, v in metrics.items() if k.count("/") == 1},
                      "trivial": {name: {k: v for k, v in m.items() if k.count("/") == 1}
                                  for name, m in trivial.items()}}, indent=1))


if __name__ == "__main__":
    main()
