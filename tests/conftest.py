"""Shared fixtures. Tests pin torch to one thread (trl-notes.md: 2 threads on a busy 2-core machine are
6.6x slower) and never touch the network."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

from hypothesis import settings  # noqa: E402

# Property tests draw the same examples on every run, so a failure in CI reruns here and a rare example
# cannot turn CI red by chance.
settings.register_profile("swirl", derandomize=True, database=None)
settings.load_profile("swirl")


@pytest.fixture(scope="session")
def tiny_path() -> str:
    """Folder of the tiny preset model (built once into the model cache)."""
    from swirl_wm.models.loading import resolve_model

    return resolve_model("tiny").path


@pytest.fixture(scope="session")
def tiny(tiny_path):
    """(model, tokenizer) of the tiny preset, fp32, eval mode."""
    from swirl_wm.models.loading import load_model, load_tokenizer

    return load_model(tiny_path), load_tokenizer(tiny_path)


@pytest.fixture(scope="session")
def chromium():
    """Path of a headless-capable Chromium (``/usr/bin/chromium``; ``scripts/install_chromium.sh`` is tried
    once when it is missing); skips when none can be had."""
    import subprocess
    from pathlib import Path

    binary = Path(os.environ.get("MINIWOB_CHROME_BINARY", "/usr/bin/chromium"))
    if not binary.is_file():
        script = Path(__file__).parents[1] / "scripts" / "install_chromium.sh"
        try:
            subprocess.run(["bash", str(script)], check=False, timeout=240, capture_output=True)
        except (OSError, subprocess.TimeoutExpired) as error:
            pytest.skip(f"no {binary} and scripts/install_chromium.sh failed: {error}")
    if not binary.is_file():
        pytest.skip(f"no {binary} (scripts/install_chromium.sh could not install it)")
    return binary
