"""Atomic checkpoints and the run ledger that makes a killed run resumable.

A stage (SFT, a phase, an evaluation) is recorded in ``state.json`` only after its outputs are in place;
each checkpoint folder is written to a temporary sibling and renamed, so a half-written checkpoint is
never taken for a finished one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from peft import PeftModel
from transformers import PreTrainedTokenizerBase, Trainer

from swirl_wm.files import atomic_dir, atomic_write_text, ensure_free_space
from swirl_wm.models.prompts import PromptFormat

_TOKENIZER_BYTES = 20 * 2**20  # a tokenizer folder with its vocabulary is a few MB; rounded up


class RunLedger:
    """Completed stages of a run, persisted in ``<run>/state.json`` (atomic writes).

    ``stages`` maps a stage name (``"sft"``, ``"iter1/phase1"``, ...) to what it produced (checkpoint
    paths relative to the run folder, metrics).
    """

    def __init__(self, run_dir: Path, writer: bool = True) -> None:
        self.path = run_dir / "state.json"
        self.writer = writer  # only the main process of a multi-process job writes
        self.stages: dict[str, dict[str, Any]] = {}
        self.reload()

    def reload(self) -> None:
        """Re-read the ledger from disk (other processes do so after the main one recorded a stage)."""
        if self.path.exists():
            self.stages = json.loads(self.path.read_text(encoding="utf-8"))["stages"]

    def done(self, stage: str) -> bool:
        return stage in self.stages

    def record(self, stage: str, result: dict[str, Any]) -> None:
        self.stages[stage] = result
        if self.writer:
            atomic_write_text(self.path, json.dumps({"stages": self.stages}, indent=2))


def save_trained(trainer: Trainer, tokenizer: PreTrainedTokenizerBase, output_dir: Path,
                 prompt_format: PromptFormat | None = None) -> Path:
    """Save a trainer's model (safetensors) and tokenizer to ``output_dir`` atomically, once per job, with
    the prompt format it was trained with (``prompt_format.json``; world-model roles only). A LoRA adapter
    (peft) is merged into the base weights first, so the folder always holds a plain model.

    Under ``accelerate launch`` every process trains, the main process writes, and all of them wait for
    the write to finish before going on.

    Raises:
        FloatingPointError: a weight is NaN or infinite (nothing is written).
        NotEnoughDisk: the disk cannot hold the checkpoint (nothing is written).
    """
    accelerator = trainer.accelerator
    model = accelerator.unwrap_model(trainer.model)
    if isinstance(model, PeftModel):  # a LoRA run: fold the adapter into the weights, save a plain model
        model = model.merge_and_unload()
    broken = [name for name, p in model.named_parameters() if not bool(p.detach().isfinite().all())]
    if broken:  # never write a NaN checkpoint: the last good one stays the phase's input
        raise FloatingPointError(f"training produced non-finite weights in {len(broken)} tensors (first: "
                                 f"{broken[0]}); {output_dir} was not written. Lower the learning rate.")
    if accelerator.is_main_process:
        weights = sum(p.numel() * p.element_size() for p in model.state_dict().values())
        ensure_free_space(Path(output_dir).parent, weights + _TOKENIZER_BYTES, f"the checkpoint {output_dir}")
        with atomic_dir(output_dir) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
            if prompt_format is not None:
                prompt_format.save(tmp)
    accelerator.wait_for_everyone()
    return output_dir
