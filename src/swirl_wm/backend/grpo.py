"""One SWIRL phase: GRPO on one role, rewarded by the frozen opposite role (SWIRL §3.3–3.4).

- Phase I (``trained_role=FWM``): prompts ``(x, z)`` with z the latent action; G next states are
  sampled; reward ``log Q_φ(z | x, ŷ_k)``.
- Phase II (``trained_role=IDM``): prompts ``(x, y)``; G actions are sampled; reward
  ``log P_θ(y | x, ẑ_k)``.

The policy is loaded by TRL from ``policy_path``, and so is the reference model for the KL term: the
role's model at the start of the phase (trl-notes.md trap 5; method.md §1.4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from peft import PeftModel
from trl import GRPOTrainer

from swirl_wm.backend.adapters import attach_frozen, keeps_adapters, policy_model
from swirl_wm.backend.args import grpo_args, peft_config
from swirl_wm.backend.checkpoints import save_trained
from swirl_wm.backend.completions import CompletionsTable
from swirl_wm.backend.shared_prefix import share_prompt_prefix, shared_prefix_logps
from swirl_wm.config import GRPOPhaseConfig, LoraSettings
from swirl_wm.models.loading import load_tokenizer
from swirl_wm.models.prompts import PLAIN, PromptFormat, completion, role_prompt
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.records import Role, Transition


def phase_examples(trained_role: Role | str, transitions: Sequence[Transition], tokenizer,
                   fmt: PromptFormat = PLAIN) -> list[dict[str, str]]:
    """GRPO prompts of ``trained_role`` (a :class:`~swirl_wm.records.Role` or its name) and the columns the
    reward needs: ``x``, what the role conditions on, and the observed ``y`` (``x``, ``z``, ``y`` for Phase I;
    ``x``, ``y`` for Phase II).

    ``fmt`` is the run's prompt format (task description, the IDM's list of changes), in every prompt.

    Raises:
        ValueError: Phase I needs a (latent) action on every pair; an unknown role.
    """
    role = Role.of(trained_role)
    rows = []
    for t in transitions:
        given = role.given(t)
        if given is None:
            raise ValueError("Phase I needs latent actions: label the pairs with the IDM first")
        # the IDM's condition is the column y itself
        rows.append({"prompt": role_prompt(tokenizer, role, t, fmt), "x": t.x, role.conditions_on: given, "y": t.y})
    return rows


class SharedPrefixGRPOTrainer(GRPOTrainer):
    """TRL's ``GRPOTrainer`` whose log-probability passes (reference, old policy, policy with its graph)
    encode each distinct prompt once per micro-batch (:func:`~swirl_wm.backend.shared_prefix.shared_prefix_logps`);
    multimodal inputs, MoE auxiliary losses and micro-batches without a shared prompt take TRL's path.

    Args:
        share_prompt_prefix: False = every pass is TRL's own (a subclass that adds to the loss, such as the
            agent trainer, keeps one class for both settings).
        nll_target: ``row ↦ target text`` of a dataset row; given with ``nll_weight`` > 0, the loss adds
            ``nll_weight · mean NLL(target | prompt)`` over the micro-batch's distinct (prompt, target) pairs,
            scored in the policy's own forward pass on the same prompt cache (Phase I: the pair's observed
            next state given ``(x, ẑ)``, the bootstrap's loss inside GRPO). The NLL is logged as ``nll``.
        nll_weight: λ ≥ 0.
        **kwargs: passed to ``GRPOTrainer``.
    """

    def __init__(self, *, share_prompt_prefix: bool = True,
                 nll_target: Callable[[dict[str, Any]], str] | None = None, nll_weight: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.share_prompt_prefix = share_prompt_prefix
        self._nll_target = nll_target if nll_weight else None
        self.nll_weight = nll_weight
        self._targets: tuple[torch.Tensor, torch.Tensor] | None = None
        self._target_nll: torch.Tensor | None = None

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)
        if self._nll_target is not None:
            tokenizer = self.processing_class
            texts = [completion(tokenizer, self._nll_target(row)) for row in inputs]
            encoded = tokenizer(texts, add_special_tokens=False, padding=True, padding_side="right",
                                return_tensors="pt")
            device = output["completion_ids"].device
            output["target_ids"] = encoded["input_ids"].to(device)
            output["target_mask"] = encoded["attention_mask"].to(device)
        return output

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None,
                                           compute_entropy=False, compute_aux_loss=False, **multimodal):
        targets, self._targets = self._targets, None  # set by _compute_loss for the policy's own pass only
        if not self.share_prompt_prefix or compute_aux_loss or any(v is not None for v in multimodal.values()):
            if targets is not None:
                raise ValueError("swirl.phase1_nll_weight needs text-only GRPO without MoE auxiliary losses")
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size, compute_entropy, compute_aux_loss,
                **multimodal)
        batch_size = input_ids.size(0) if targets is not None else batch_size or input_ids.size(0)
        logps, entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            ids, mask = input_ids[start:start + batch_size], attention_mask[start:start + batch_size]
            with self.accelerator.autocast():
                shared = shared_prefix_logps(model, ids, mask, logits_to_keep, self.temperature, compute_entropy,
                                             targets)
            if shared is None:
                shared = super()._get_per_token_logps_and_entropies(model, ids, mask, logits_to_keep, None,
                                                                    compute_entropy)
            logps.append(shared[0])
            entropies.append(shared[1])
            if targets is not None:
                self._target_nll = shared[2]
        return torch.cat(logps), (torch.cat(entropies) if compute_entropy else None), None

    def _compute_loss(self, model, inputs):
        if self._nll_target is None or "target_ids" not in inputs:
            return super()._compute_loss(model, inputs)
        self._targets = (inputs["target_ids"], inputs["target_mask"])
        try:
            loss = super()._compute_loss(model, inputs)
        finally:
            self._targets = None
        nll, self._target_nll = self._target_nll, None
        assert nll is not None, "the policy's log-probability pass did not score the targets"
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["nll"].append(nll.mean().item())
        normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        return loss + self.nll_weight * nll.mean() / normalizer


def train_grpo(policy_path: str, reward: SwirlReward, transitions: Sequence[Transition],
                config: GRPOPhaseConfig, output_dir: Path, log_dir: Path, seed: int,
                lora: LoraSettings | None = None, frozen_adapter: str | None = None,
                nll_weight: float = 0.0) -> tuple[Path, list[dict]]:
    """Run GRPO on the role that ``reward`` trains (at ``policy_path``); save the result atomically to
    ``output_dir``.

    Args:
        reward: the phase's reward, holding the frozen opposite model; that model's ``prompt_format`` is the
            run's, lays out the policy's prompts too, and is saved with the result.
        transitions: the phase's pairs (with latent actions for Phase I).
        log_dir: TRL's ``output_dir`` (logs only).
        lora: train a LoRA adapter (the reference model is the base with the adapter disabled, or TRL's
            copy of the adapter when ``policy_path`` holds one), saved merged or, with ``lora.shared_base``,
            alone; ``None`` = full fine-tuning.
        frozen_adapter: with ``lora.shared_base``, the frozen role's adapter folder: it is loaded onto the
            policy's base and the reward's scorer scores with it there (:mod:`swirl_wm.backend.adapters`),
            replacing the scorer's own model, so the base weights are held once.
        nll_weight: Phase I only: λ of the observed next state's NLL ``λ · NLL(y | x, ẑ)`` added to GRPO's
            loss (:class:`SharedPrefixGRPOTrainer`); 0 = the paper's Phase I.

    Raises:
        ValueError: ``nll_weight`` > 0 for Phase II, or without ``config.share_prompt_prefix``.

    Returns:
        ``output_dir`` and TRL's log history (per step: ``reward``, ``reward_std``, ``kl``, ``loss``...).
    """
    tokenizer = load_tokenizer(policy_path)
    fmt = reward.scorer.prompt_format
    dataset = Dataset.from_list(phase_examples(reward.trained_role, transitions, tokenizer, fmt))
    model, peft = policy_model(policy_path, peft_config(lora))
    args = grpo_args(config, log_dir, seed, by_path=isinstance(model, str))
    suppressed = reward.scorer.suppressed_tokens(reward.trained_role)  # the state modality's constraint
    if suppressed:  # in TRL's sampling too (GenerationConfig.suppress_tokens)
        args.generation_kwargs = {**(args.generation_kwargs or {}), "suppress_tokens": suppressed}
    kwargs: dict[str, Any] = dict(model=model, reward_funcs=[reward], args=args, train_dataset=dataset,
                                  processing_class=tokenizer, peft_config=peft)
    if nll_weight:
        if not reward.trained_role.writes_state or not config.share_prompt_prefix:
            raise ValueError("the NLL term is Phase I's and rides on the shared-prefix pass: it needs "
                             "share_prompt_prefix: true")
        trainer = SharedPrefixGRPOTrainer(nll_target=lambda row: fmt.fwm_completion(row["x"], row["y"]),
                                          nll_weight=nll_weight, **kwargs)
    elif config.share_prompt_prefix:
        trainer = SharedPrefixGRPOTrainer(**kwargs)
    else:
        trainer = GRPOTrainer(**kwargs)
    if frozen_adapter is not None:
        if not isinstance(trainer.model, PeftModel):
            raise ValueError(f"{policy_path}: a frozen adapter needs the policy saved as an adapter too")
        reward.scorer.model = attach_frozen(trainer.model, frozen_adapter)  # the scorer's own copy is freed
    if config.share_prompt_prefix:
        share_prompt_prefix(trainer.model, config.num_generations)
    trainer.add_callback(CompletionsTable(trainer))  # log_completions: a table in TensorBoard too
    trainer.train()
    return save_trained(trainer, tokenizer, output_dir, fmt, merge=not keeps_adapters(lora)), trainer.state.log_history
