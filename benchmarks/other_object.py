"""How often an FWM changes the object an action does *not* name (the mechanism of Phase I's trade):
over the test transitions of the physics world whose action names one object, the share where the
prediction gets the *other* objects' velocity or temperature wrong, per run folder and arm (from the saved
test predictions). Writes JSON (inputs, per run and arm the share and count, machine, git commit).

    python benchmarks/other_object.py runs/study3/L80/physics-study/{swirl,beta1}/seed* \\
        --output studies/label-efficiency/other-object-L80.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from swirl_wm.envs import physics
from swirl_wm.files import atomic_write_text
from swirl_wm.reporting.run_info import provenance
from swirl_wm.run_folder import Layout, read_predictions

ARMS = ("sft", "iter1-phase1", "iter2-phase1", "bootstrap", "bootstrap-phase1")


def other_object_error(rows: list[dict]) -> tuple[float, int]:
    """The share of ``rows`` (saved FWM predictions) with an action naming one object in which another
    object's ``vel`` or ``temp`` is predicted wrong, and the number of such rows."""
    wrong = total = 0
    for row in rows:
        state = physics.parse_state(row["x"])
        names = [o.name for o in state.objects]
        action = physics.parse_action(row["given"], names)
        if action.obj is None:
            continue
        truth, guess = physics.state_fields(row["reference"]), _fields(row["prediction"])
        others = [n for n in names if n != action.obj]
        total += 1
        wrong += any(guess.get(f"{n}.{k}") != truth[f"{n}.{k}"] for n in others for k in ("vel", "temp"))
    return (wrong / total if total else float("nan")), total


def _fields(text: str) -> dict[str, str]:
    try:
        return physics.state_fields(text)
    except ValueError:
        return {}  # an unparseable prediction gets every field wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", type=Path, nargs="+", help="run folders")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    results = {}
    for run in args.runs:
        for arm in ARMS:
            path = run / Layout.predictions(arm, "test", "fwm")
            if path.exists():
                rows = read_predictions(path)
                share, n = other_object_error(rows)
                results.setdefault(str(run), {})[arm] = {"share": share, "transitions": n}
                print(run, arm, f"{100 * share:.1f} % of {n}")
    out = provenance(inputs=[str(r) for r in args.runs], results=results)
    atomic_write_text(args.output, json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
