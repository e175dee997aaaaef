"""Simulate a state-only log from a labelled one: write each episode as an episode of states, keeping the
actions of a seeded share of the episodes and removing all the others' (``"actions": null``).

    python scripts/hide_actions.py --input labelled.jsonl --output states.jsonl --keep 0.25 --seed 0

Any input ``swirl`` reads (transitions or episode JSONL, Parquet, a ``datasets`` folder). An episode's
states are its first ``x`` followed by every ``y``. Used to make ``examples/physics-state-logs.jsonl`` and the
ProPara walk-through of the README.
"""

from __future__ import annotations

import argparse
import json
import random

from swirl_wm.data.jsonl import group_episodes
from swirl_wm.data.tables import read_any
from swirl_wm.files import atomic_write_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--keep", type=float, required=True, help="share of episodes that keep their actions")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    episodes = group_episodes(read_any(args.input))
    keep = set(random.Random(args.seed).sample(range(len(episodes)), round(args.keep * len(episodes))))
    lines = []
    for i, e in enumerate(episodes):
        states = [e.transitions[0].x, *(t.y for t in e.transitions)]
        actions = [t.z for t in e.transitions] if i in keep else None
        lines.append(json.dumps({"episode_id": e.episode_id, "env": e.env, "states": states, "actions": actions},
                                ensure_ascii=False) + "\n")
    atomic_write_text(args.output, "".join(lines))
    print(f"wrote {len(episodes)} episodes to {args.output}: {len(keep)} keep their actions")


if __name__ == "__main__":
    main()
