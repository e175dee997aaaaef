"""The one place that translates this project's configs into TRL's ``SFTConfig`` / ``GRPOConfig``.

CPU vs CUDA: TRL defaults ``bf16`` and ``gradient_checkpointing`` to True; on CPU both are switched off
(trl-notes.md trap 1: checkpointing costs 23–50 % per step there), on CUDA bf16 is used when supported.
The loop saves each phase's final model atomically; TRL saves only SFT's resumable checkpoints
(``sft.checkpoint_steps``) and early stopping's evaluation checkpoints, which SFT removes when it finishes.
"""

from __future__ import annotations

from pathlib import Path

import torch
from peft import LoraConfig
from trl import GRPOConfig
from trl import SFTConfig as TRLSFTConfig

from swirl_wm.config import GRPOPhaseConfig, LoraSettings, SFTConfig


def _device_args(seed: int, output_dir: Path, report_to: list[str]) -> dict:
    cuda = torch.cuda.is_available()
    return {
        "output_dir": str(output_dir),
        "use_cpu": not cuda,
        "bf16": cuda and torch.cuda.is_bf16_supported(),
        "gradient_checkpointing": False,
        "seed": seed,
        "data_seed": seed,
        "report_to": report_to or "none",
        "save_strategy": "no",
        "logging_steps": 1,
        "disable_tqdm": False,
    }


def sft_args(config: SFTConfig, output_dir: Path, seed: int, validate: bool = False) -> TRLSFTConfig:
    """TRL SFT arguments: loss on the completion only (prompt tokens masked).

    With ``config.checkpoint_steps`` a resumable checkpoint (optimizer, scheduler and RNG states included) is
    saved into ``output_dir``, the logs folder, every that many steps; which ones are kept is
    :class:`~swirl_wm.backend.sft.ResumeCheckpoints`'s business. With ``validate`` the validation loss is
    computed every ``config.eval_steps`` steps (else once per epoch); with ``config.early_stopping_patience``
    too, checkpoints are saved at each evaluation instead (resumable when ``checkpoint_steps`` is set, the
    model alone otherwise) and the best by validation loss is loaded at the end.
    """
    saving: dict = {}
    if config.checkpoint_steps:
        saving = {"save_strategy": "steps", "save_steps": config.checkpoint_steps, "save_only_model": False}
    if validate:
        strategy = "steps" if config.eval_steps else "epoch"
        saving |= {"eval_strategy": strategy, "eval_steps": config.eval_steps,
                   "per_device_eval_batch_size": config.per_device_train_batch_size}
        if config.early_stopping_patience:
            saving |= {"save_strategy": strategy, "save_steps": config.eval_steps, "load_best_model_at_end": True,
                       "metric_for_best_model": "eval_loss", "greater_is_better": False,
                       "save_only_model": not config.checkpoint_steps}
    return TRLSFTConfig(
        **(_device_args(seed, output_dir, config.report_to) | saving),
        learning_rate=config.learning_rate,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        lr_scheduler_type=config.lr_scheduler_type,
        max_length=config.max_length,
        completion_only_loss=True,
        packing=False,
    )


def grpo_args(config: GRPOPhaseConfig, output_dir: Path, seed: int, by_path: bool = True) -> GRPOConfig:
    """TRL GRPO arguments for one SWIRL phase (method.md §1.6: β, ε, T, top-p; advantages per group).

    ``by_path``: TRL loads the policy from a folder (else it gets a loaded model, an adapter on its base).
    """
    return GRPOConfig(
        **_device_args(seed, output_dir, config.report_to),
        learning_rate=config.learning_rate,
        num_generations=config.num_generations,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        max_steps=config.max_steps,
        num_train_epochs=1,
        beta=config.beta,
        epsilon=config.epsilon,
        temperature=config.temperature,
        top_p=config.top_p,
        max_completion_length=config.max_completion_length,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type=config.lr_scheduler_type,
        remove_unused_columns=False,
        log_completions=config.log_completions,
        # TRL loads the policy and the reference from the checkpoint folder: safetensors only, no remote code
        model_init_kwargs={"use_safetensors": True, "trust_remote_code": False} if by_path else None,
    )


def peft_config(lora: LoraSettings | None) -> LoraConfig | None:
    """peft's ``LoraConfig`` for a causal LM from the run's ``model.lora`` (``None`` = full fine-tuning); TRL's
    trainers take it as ``peft_config``."""
    if lora is None:
        return None
    return LoraConfig(r=lora.r, lora_alpha=lora.lora_alpha, lora_dropout=lora.lora_dropout,
                      target_modules=lora.target_modules, task_type="CAUSAL_LM")
