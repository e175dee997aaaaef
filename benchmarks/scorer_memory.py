"""Peak memory and time of the scorer's log-probability step (`models/scoring.mean_token_logprob`) against
the full log-softmax it replaced, on SmolLM2-sized logits (TRL's `selective_log_softmax`).

    python benchmarks/scorer_memory.py --output studies/speed/scorer-memory.json

Each variant runs in a fresh subprocess so its peak RSS (ru_maxrss) is its own, after a warm-up call on
tiny inputs (the first call's lazy imports would otherwise count).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = """
import resource, sys, time, torch
from swirl_wm.models.scoring import mean_token_logprob
torch.manual_seed(0); torch.set_num_threads(1)
B, T, V = {B}, {T}, {V}
mean_token_logprob(torch.randn(1, 2, 8), torch.zeros(1, 2, dtype=torch.long), torch.ones(1, 2))  # lazy imports
torch.log_softmax(torch.randn(1, 2, 8), -1)
logits = torch.randn(B, T, V); labels = torch.randint(V, (B, T)); mask = torch.ones(B, T)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if "{variant}" == "full":
    lp = torch.log_softmax(logits.float(), -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    out = (lp * mask).sum(-1) / mask.sum(-1)
else:
    out = mean_token_logprob(logits, labels, mask, -1e9)
seconds = time.perf_counter() - start
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base, seconds, float(out.sum()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=49152, help="SmolLM2's vocabulary")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    from swirl_wm.reporting.run_info import provenance

    result = provenance(config=vars(args) | {"output": str(args.output)}, seed=0) | {"variants": {}}
    for variant in ("full", "selective"):
        code = CHILD.format(B=args.batch, T=args.tokens, V=args.vocab, variant=variant)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        result["variants"][variant] = {"extra_peak_rss_mb": int(out[0]) / 1024, "seconds": float(out[1]),
                                       "checksum": float(out[2])}
    full, selective = result["variants"]["full"], result["variants"]["selective"]
    result["same_result"] = abs(full["checksum"] - selective["checksum"]) <= 1e-3 * abs(full["checksum"])
    result["logits_mb"] = args.batch * args.tokens * args.vocab * 4 / 2**20
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result["variants"], indent=2), "same result:", result["same_result"],
          f"logits {result['logits_mb']:.0f} MB")


if __name__ == "__main__":
    main()
