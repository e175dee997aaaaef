#!/usr/bin/env bash
# The CUDA check: on one GPU, within 8 minutes and with no network, install what this project needs beyond the
# machine's torch from a folder of wheels, run the tiny demo, the SmolLM2 demo cut short and the iteration
# benchmark in bf16, and write their figures into studies/speed/cuda/ (scripts/cuda_check.py does the work).
# Exits non-zero, naming the step, on any failure or CUDA error.
#
#   bash scripts/cuda_check.sh [--wheels DIR] [--out DIR] [--allow-dirty]
#   bash scripts/cuda_check.sh --cpu-dry-run      # the same steps on the CPU at tiny sizes (no GPU needed)
#
# PYTHON picks the interpreter (default python3: the one with the machine's CUDA build of torch).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# The Python part keeps its own 480 s budget; this outer limit only catches a hang outside its steps.
status=0
timeout --kill-after=15 520 "$PYTHON" scripts/cuda_check.py "$@" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "CUDA CHECK FAILED: over its time limit (8 minutes and a margin)" >&2
elif [ "$status" -ne 0 ]; then
  echo "CUDA CHECK FAILED (exit $status): see the message above" >&2
fi
exit "$status"
