"""How right are a run's pseudo-labels: over the latent-labelled pairs of iteration 1's Phase I
(``data/latent/iter1.jsonl``, the pairs the bootstrap and the pseudo-label SFT train on), the share whose latent
action reproduces the observed transition in the simulator (grounded accuracy) and the share equal to the
logged action, per run folder. Physics-style environments only (those that execute actions). Writes JSON
(inputs, per run the figures, machine, git commit).

    python benchmarks/latent_accuracy.py runs/p1obj/L20/physics-study/{swirl,bootk8}/seed* \\
        --output studies/phase1-objective/latent-accuracy-L20.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from swirl_wm.data.jsonl import read_transitions
from swirl_wm.evaluation.evaluate import APPLY, grounded
from swirl_wm.files import atomic_write_text
from swirl_wm.records import original_state
from swirl_wm.reporting.run_info import provenance
from swirl_wm.run_folder import Layout


def latent_accuracy(run_dir: Path) -> dict[str, float | int]:
    """``pairs``, ``grounded`` (share whose action reproduces ``x → y``) and ``exact`` (share equal to the
    logged ``meta.action``) of ``run_dir``'s iteration-1 latent actions.

    Raises:
        FileNotFoundError: the run has no ``data/latent/iter1.jsonl``.
        KeyError: its environment does not execute actions.
    """
    pairs = read_transitions(run_dir / Layout.latent(1))
    apply = APPLY[pairs[0].env]
    hits = [grounded(apply, original_state(t, "x"), t.z, original_state(t, "y")) for t in pairs]
    exact = [t.z == (t.meta or {}).get("action") for t in pairs]
    return {"pairs": len(pairs), "grounded": sum(hits) / len(pairs), "exact": sum(exact) / len(pairs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="SWIRL run folders")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    results = {str(r): latent_accuracy(r) for r in args.runs}
    print(json.dumps(results, indent=1))
    atomic_write_text(args.output, json.dumps(provenance(inputs=[str(r) for r in args.runs], results=results),
                                              indent=1) + "\n")


if __name__ == "__main__":
    main()
