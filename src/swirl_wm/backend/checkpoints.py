"""Atomic checkpoints of a trainer's model: each checkpoint folder is written to a temporary sibling and
renamed, so a half-written checkpoint is never taken for a finished one (the run ledger,
:mod:`swirl_wm.run_folder`, records the stage only afterwards).
"""

from __future__ import annotations

from pathlib import Path

import torch
from peft import PeftModel
from transformers import PreTrainedTokenizerBase, Trainer

from swirl_wm.files import atomic_dir, ensure_free_space
from swirl_wm.models.prompts import PromptFormat

_TOKENIZER_BYTES = 20 * 2**20  # a tokenizer folder with its vocabulary is a few MB; rounded up


def save_trained(trainer: Trainer, tokenizer: PreTrainedTokenizerBase, output_dir: Path,
                 prompt_format: PromptFormat | None = None, merge: bool = True) -> Path:
    """Save a trainer's model (safetensors) and tokenizer to ``output_dir`` atomically, once per job, with
    the prompt format it was trained with (``prompt_format.json``; world-model roles only). A LoRA adapter
    (peft) is merged into the base weights first, so the folder holds a plain model; with ``merge=False``
    (``model.lora.shared_base``) the folder holds the trained adapter alone (peft's ``"default"``; not TRL's
    ``"ref"`` copy nor a frozen role's adapter), recording its base model's absolute path.

    Under ``accelerate launch`` every process trains, the main process writes, and all of them wait for
    the write to finish before going on. The weights are gathered as ``Trainer.save_model`` gathers them
    (``Accelerator.get_state_dict``: whole under FSDP with a full state dict and ZeRO-3 with 16-bit gathering,
    as the shipped ``configs/accelerate`` files set).

    Raises:
        FloatingPointError: a weight is NaN or infinite (nothing is written).
        NotEnoughDisk: the disk cannot hold the checkpoint (nothing is written).
    """
    accelerator = trainer.accelerator
    model = accelerator.unwrap_model(trainer.model)
    adapter_only = isinstance(model, PeftModel) and not merge
    if adapter_only:
        config = model.peft_config["default"]
        if Path(config.base_model_name_or_path).is_dir():  # a local base: absolute, readable from anywhere
            config.base_model_name_or_path = str(Path(config.base_model_name_or_path).resolve())
    elif isinstance(model, PeftModel):  # a LoRA run: fold the adapter into the weights, save a plain model
        model = model.merge_and_unload()
    state_dict = None
    broken = [name for name, p in model.named_parameters() if not bool(p.detach().isfinite().all())]
    # Every process checks its own (possibly sharded) parameters; all stop together if any found one.
    if int(accelerator.reduce(torch.tensor([len(broken)], device=accelerator.device), reduction="sum").item()):
        where = f"in {len(broken)} tensors (first: {broken[0]})" if broken else "on another process"
        raise FloatingPointError(f"training produced non-finite weights {where}; {output_dir} was not written. "
                                 "Lower the learning rate.")
    if not isinstance(trainer.model, PeftModel):
        # What Trainer.save_model does: the full weights, gathered from every process under FSDP and
        # DeepSpeed ZeRO-3 (a collective call, so every process makes it); the unwrapped model's otherwise.
        state_dict = accelerator.get_state_dict(getattr(trainer, "model_wrapped", None) or trainer.model)
    if accelerator.is_main_process:
        tensors = (state_dict or model.state_dict()).values()
        weights = sum(t.numel() * t.element_size() for t in tensors)
        ensure_free_space(Path(output_dir).parent, weights + _TOKENIZER_BYTES, f"the checkpoint {output_dir}")
        with atomic_dir(output_dir) as tmp:
            if adapter_only:
                model.save_pretrained(tmp, selected_adapters=["default"], safe_serialization=True)
            else:
                model.save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
            if prompt_format is not None:
                prompt_format.save(tmp)
    accelerator.wait_for_everyone()
    return output_dir
