"""Two readings of an FWM's malformed patches (``model.fwm_target: changes``): generate the FWM's
greedy completions on a run's held-out split once, then score the next states (a) with a malformed patch
taken as the predicted state text itself (strict: a wrong state) and (b) as no change, ``ŷ = x`` (the
project's reading, :meth:`~swirl_wm.models.prompts.PromptFormat.next_state`), beside copying the state, and
the well-formed patches alone against copying on the same transitions. Writes JSON (run, checkpoint,
split, figures, machine, git commit).

    python benchmarks/changes_readings.py runs/bfcl-changes/bfcl-study/swirl/seed0 --checkpoint checkpoints/sft/fwm \\
        --split val --output studies/bfcl/patch-readings-seed0-val.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from swirl_wm.config import load_config
from swirl_wm.data.splits import Splits
from swirl_wm.evaluation.evaluate import prediction_metrics
from swirl_wm.files import atomic_write_text
from swirl_wm.modality.changes import apply_changes, is_patch
from swirl_wm.models.generation import generate
from swirl_wm.models.prompts import fwm_prompt
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.reporting.run_info import provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--checkpoint", default="checkpoints/sft/fwm", help="run-relative FWM folder")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.run / "config.yaml")
    run = SwirlRun(config, lambda _: None)
    transitions = getattr(Splits.load(run.path("data")), args.split)[: config.eval.max_examples]
    scorer = run.scorer(args.checkpoint)
    prompts = [fwm_prompt(scorer.tokenizer, t.x, t.z, scorer.prompt_format) for t in transitions]
    raw = generate(scorer.model, scorer.tokenizer, prompts, config.eval.max_new_tokens_state,
                   batch_size=config.eval.batch_size, desc="FWM patches")
    ok = [is_patch(t.x, r) for t, r in zip(transitions, raw, strict=True)]
    patched = [apply_changes(t.x, r) if o else None for t, r, o in zip(transitions, raw, ok, strict=True)]
    quiet = config.eval.model_copy(update={"embedding_similarity": False})

    def score(items, states):
        return prediction_metrics("fwm", items, states, quiet) if items else {}

    good = [i for i, o in enumerate(ok) if o]
    figures = {
        "transitions": len(transitions), "well_formed": len(good) / len(transitions),
        "strict": score(transitions, [p if o else r for p, r, o in zip(patched, raw, ok, strict=True)]),
        "malformed_as_no_change": score(transitions, [p if o else t.x for p, t, o in
                                                      zip(patched, transitions, ok, strict=True)]),
        "copy": score(transitions, [t.x for t in transitions]),
        "well_formed_only": score([transitions[i] for i in good], [patched[i] for i in good]),
        "copy_on_well_formed": score([transitions[i] for i in good], [transitions[i].x for i in good]),
    }
    out = provenance(run=str(args.run), checkpoint=args.checkpoint, split=args.split, figures=figures)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(out, indent=1))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
