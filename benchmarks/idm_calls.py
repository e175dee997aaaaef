"""How well an IDM names BFCL tool calls, beyond exact match: from the IDM predictions a run saved
(``predictions/<stage>/<split>-idm.jsonl``), the share of well-formed calls, of calls naming the right
function, and of the gold call's arguments given with the right value (keyword or position), beside the
trivial baseline of the run's labelled split: its most frequent call. Writes JSON (runs, stage, split, figures,
git commit, machine).

    python benchmarks/idm_calls.py runs/bfcl/bfcl-study/swirl/seed{0,1,2,3,4} --stage sft --split val \\
        --output studies/bfcl/idm-calls-val.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from swirl_wm.data.splits import Splits
from swirl_wm.envs.bfcl import ParsedCall, parse_call
from swirl_wm.files import atomic_write_text
from swirl_wm.reporting.run_info import provenance
from swirl_wm.run_folder import Layout, read_predictions


def _parse(text: str) -> ParsedCall | None:
    try:
        return parse_call(text)
    except ValueError:
        return None


def _arguments(call: ParsedCall) -> set[tuple[str, str]]:
    """A call's arguments as (position or keyword, value) pairs, values compared by their JSON text."""
    return ({(str(i), json.dumps(v, sort_keys=True, default=str)) for i, v in enumerate(call.args)}
            | {(k, json.dumps(v, sort_keys=True, default=str)) for k, v in call.kwargs.items()})


def call_figures(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Fractions over the transitions: ``exact`` (normalised call text equal), ``well_formed`` (parses as a
    call), ``function`` (right function name), ``arguments`` (gold arguments given with the right value,
    pooled over all transitions; a call with no argument counts only through ``function``).

    Raises:
        ValueError: the lists differ in length, are empty, or a reference does not parse.
    """
    if len(predictions) != len(references) or not references:
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    exact = function = well = 0
    hit_args = gold_args = 0
    for prediction, reference in zip(predictions, references, strict=True):
        gold = parse_call(reference)
        guess = _parse(prediction)
        args = _arguments(gold)
        gold_args += len(args)
        if guess is None:
            continue
        well += 1
        exact += guess.text == gold.text
        if guess.name == gold.name:
            function += 1
            hit_args += len(args & _arguments(guess))
    n = len(references)
    return {"exact": exact / n, "well_formed": well / n, "function": function / n,
            "arguments": hit_args / gold_args if gold_args else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--stage", default="sft")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    result: dict[str, Any] = provenance(stage=args.stage, split=args.split, runs={})
    for run in args.runs:
        rows = read_predictions(run / Layout.predictions(args.stage, args.split, "idm"))
        references = [r["reference"] for r in rows]
        splits = Splits.load(run / Layout.DATA)
        constant = Counter(t.z for t in splits.labelled).most_common(1)[0][0]
        result["runs"][str(run)] = {
            "transitions": len(rows), "idm": call_figures([r["prediction"] for r in rows], references),
            "most frequent call": {"call": constant, **call_figures([constant] * len(rows), references)},
        }
        print(run, json.dumps(result["runs"][str(run)], indent=1))
    atomic_write_text(args.output, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
