"""Shared-weights SWIRL as two LoRA adapters on one frozen base (``model.lora.shared_base``).

Each role's checkpoint is a peft adapter folder on the run's base model. A trainer starts from it with
:func:`policy_model` (the adapter becomes peft's trainable ``"default"`` adapter; with β > 0 TRL copies it
into a frozen ``"ref"`` adapter, the phase's reference model, grpo_trainer.py). In a GRPO phase the frozen
role is loaded as a third, non-trainable adapter on the same base and scored through
:class:`FrozenAdapter`, so one copy of the base weights serves policy, reference and reward model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel
from transformers import PreTrainedModel

from swirl_wm.config import LoraSettings
from swirl_wm.models.loading import adapter_base, is_adapter, load_model

FROZEN = "frozen"


def keeps_adapters(lora: LoraSettings | None) -> bool:
    """Whether checkpoints hold the role's adapter alone (``model.lora.shared_base``) rather than merged."""
    return lora is not None and lora.shared_base


def policy_model(path: str, lora: LoraConfig | None, load: bool = False
                 ) -> tuple[str | PreTrainedModel, LoraConfig | None]:
    """What a TRL trainer gets as ``model`` and ``peft_config`` for the policy at ``path``.

    An adapter folder is loaded on its base with the adapter trainable (peft's ``"default"``) and no new
    ``peft_config`` (training continues that adapter); a plain folder is passed by path (loaded when
    ``load``) with ``lora`` (a new adapter, or full fine-tuning when ``None``). Loading the policy from a
    folder keeps TRL's reference model right (trl-notes.md trap 5).
    """
    if not is_adapter(path):
        return (load_model(path) if load else path), lora
    base = load_model(adapter_base(path)).train()
    return PeftModel.from_pretrained(base, path, is_trainable=True), None


class FrozenAdapter:
    """The frozen role of a phase as a view of the policy's base with the adapter ``name``: called like a
    causal LM (``input_ids``, ``attention_mask`` → output with ``.logits``, shape ``(batch, seq, vocab)``),
    without gradients, in eval mode, and without changing the policy's active adapter or its train/eval
    mode (peft's per-row ``adapter_names``)."""

    def __init__(self, policy: PeftModel, name: str = FROZEN) -> None:
        self._policy = policy  # not an nn.Module attribute: Scorer puts its model in eval mode
        self.name = name

    @property
    def device(self) -> torch.device:
        return self._policy.device

    def eval(self) -> FrozenAdapter:
        return self

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs: Any) -> Any:
        training = self._policy.training
        self._policy.eval()  # peft takes adapter_names only in eval mode (and dropout is off for scoring)
        try:
            return self._policy(input_ids=input_ids, attention_mask=attention_mask,
                                adapter_names=[self.name] * len(input_ids), **kwargs)
        finally:
            self._policy.train(training)


def attach_frozen(policy: PeftModel, path: str | Path) -> FrozenAdapter:
    """Load the frozen role's adapter folder ``path`` onto ``policy``'s base as a non-trainable adapter.

    Raises:
        ValueError: ``path`` is not an adapter folder, or it was trained on another base model.
    """
    if not is_adapter(path):
        raise ValueError(f"{path}: model.lora.shared_base needs the frozen role saved as an adapter "
                         f"(adapter_config.json); this folder holds a whole model")
    ours = Path(policy.peft_config["default"].base_model_name_or_path).resolve()
    theirs = Path(adapter_base(path)).resolve()
    if ours != theirs:
        raise ValueError(f"{path}: adapter of base {theirs}, but the policy's base is {ours}")
    training = policy.training
    policy.load_adapter(str(path), adapter_name=FROZEN, is_trainable=False)  # (which puts it in eval mode)
    policy.train(training)
    return FrozenAdapter(policy)
