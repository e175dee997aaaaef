"""``scripts/cuda_check.py``'s pieces that need no GPU: which requirements it installs from the wheel folder and
which output counts as a CUDA error. Its whole run on the CPU is ``bash scripts/cuda_check.sh --cpu-dry-run``
(minutes; studies/speed/README.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "cuda_check.py"


@pytest.fixture(scope="module")
def cuda_check():
    spec = importlib.util.spec_from_file_location("cuda_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_machines_torch_is_kept_and_the_rest_is_required(cuda_check) -> None:
    names = {cuda_check._name(r) for r in cuda_check.requirements()}
    assert "torch" not in names
    assert {"transformers", "trl", "accelerate", "datasets", "pydantic", "gguf", "tensorboard"} <= names


def test_missing_means_absent_or_out_of_range(cuda_check) -> None:
    assert cuda_check.missing(["pytest", "pytest>=1"]) == []
    assert cuda_check.missing(["pytest<1", "no-such-distribution-here"]) == ["pytest<1", "no-such-distribution-here"]


@pytest.mark.parametrize(("line", "error"), [
    ("RuntimeError: CUDA error: device-side assert triggered", True),
    ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", True),
    ("RuntimeError: CUBLAS_STATUS_EXECUTION_FAILED when calling cublasGemmEx", True),
    ("an illegal memory access was encountered", True),
    ("torch 2.13.0+cu128, cuda: True, 78 GiB", False),
])
def test_cuda_errors_are_recognised_in_any_output(cuda_check, line: str, error: bool) -> None:
    assert bool(cuda_check.CUDA_ERRORS.search(line)) is error
