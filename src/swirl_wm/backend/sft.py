"""SFT warm start of the FWM and the IDM on the labelled split (SWIRL §4; method.md §1.2).

FWM examples: prompt ``(x, z)`` → completion ``y``; IDM examples: prompt ``(x, y)`` → completion ``z``.
The loss covers completion tokens only (TRL ``completion_only_loss``). With shared weights one model is
trained on both kinds of examples.

A killed SFT resumes from its last complete trainer checkpoint (``sft.checkpoint_steps``; transformers'
``resume_from_checkpoint``), saved in the logs folder: a checkpoint counts once its marker file has been
renamed into place after transformers wrote the rest of it, so one that a kill cut short is never resumed
from. The checkpoints are removed when SFT finishes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset
from transformers import EarlyStoppingCallback, PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback, TrainerState
from trl import SFTTrainer

from swirl_wm.backend.adapters import keeps_adapters, policy_model
from swirl_wm.backend.args import peft_config, sft_args
from swirl_wm.backend.checkpoints import save_trained
from swirl_wm.config import LoraSettings, SFTConfig
from swirl_wm.files import atomic_write_text
from swirl_wm.models.loading import load_tokenizer
from swirl_wm.models.prompts import PLAIN, PromptFormat, completion, role_prompt
from swirl_wm.records import Role, Transition


def sft_examples(transitions: Sequence[Transition], tokenizer: PreTrainedTokenizerBase,
                 roles: Sequence[Role | str], fmt: PromptFormat = PLAIN) -> list[dict[str, str]]:
    """Prompt/completion pairs for ``roles`` (:class:`~swirl_wm.records.Role` or their names) from labelled
    transitions, laid out by the run's prompt format ``fmt``.

    Raises:
        ValueError: a transition has no action (SFT needs labelled data); an unknown role.
    """
    roles = [Role.of(r) for r in roles]
    examples = []
    for t in transitions:
        if t.z is None:
            raise ValueError(f"SFT needs labelled transitions; episode {t.episode_id} step {t.step} has no z")
        for role in roles:
            examples.append({"prompt": role_prompt(tokenizer, role, t, fmt),
                             "completion": completion(tokenizer, fmt.target(role, t))})
    return examples


Measure = Callable[[PreTrainedModel, PreTrainedTokenizerBase], dict[str, float]]


class LearningCurve(TrainerCallback):
    """After each validation-loss evaluation, ``measure`` the model in training (generation metrics on a
    few validation transitions) and log the result with the step: the SFT learning curve, which shows whether
    the warm start has converged before SWIRL's phases build on it.

    Runs on the main process only; the model is put back in training mode afterwards.
    """

    def __init__(self, measure: Measure) -> None:
        self.measure = measure

    def on_evaluate(self, args, state: TrainerState, _control, model=None, processing_class=None, **kwargs):
        if not state.is_world_process_zero or model is None:
            return
        was_training = model.training
        values = self.measure(model, processing_class)
        model.train(was_training)
        state.log_history.append({"step": state.global_step, **values})


COMPLETE = "swirl_complete"  # written last into a trainer checkpoint, by rename: the checkpoint is whole


def _checkpoints(log_dir: Path) -> list[Path]:
    """The trainer's ``checkpoint-<step>`` folders in ``log_dir``, by step."""
    found = [f for f in Path(log_dir).glob("checkpoint-*") if f.is_dir() and f.name.split("-")[-1].isdigit()]
    return sorted(found, key=lambda f: int(f.name.split("-")[-1]))


def last_checkpoint(log_dir: Path) -> Path | None:
    """The complete trainer checkpoint of the highest step in ``log_dir`` (one holding :data:`COMPLETE`), or
    ``None``."""
    complete = [f for f in _checkpoints(log_dir) if (f / COMPLETE).is_file()]
    return complete[-1] if complete else None


class ResumeCheckpoints(TrainerCallback):
    """After transformers has written a checkpoint, mark it complete (:data:`COMPLETE`, renamed into place)
    and remove every other one but the best so far (kept for ``load_best_model_at_end``), so a kill at any
    moment leaves at least one complete checkpoint once the first has been written.

    Source: transformers writes ``checkpoint-<step>`` in place (weights, optimizer, RNG, then
    ``trainer_state.json``) and, with ``save_total_limit``, removes the older ones before the callbacks'
    ``on_save``; a kill in between would leave only a partial folder.
    """

    def on_save(self, args, state: TrainerState, _control, **kwargs):
        if not state.is_world_process_zero:
            return
        newest = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        atomic_write_text(newest / COMPLETE, f"{state.global_step}\n")
        keep = {newest.resolve()}
        if state.best_model_checkpoint:
            keep.add(Path(state.best_model_checkpoint).resolve())
        for folder in _checkpoints(Path(args.output_dir)):
            if folder.resolve() not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def train_sft(init_path: str, output_dir: Path, log_dir: Path, transitions: Sequence[Transition],
              roles: Sequence[Role], config: SFTConfig, seed: int, fmt: PromptFormat = PLAIN,
              val_transitions: Sequence[Transition] = (), measure: Measure | None = None,
              lora: LoraSettings | None = None) -> tuple[Path, list[dict]]:
    """Fine-tune the model at ``init_path`` on the roles' examples; save it atomically to ``output_dir``.

    Args:
        log_dir: TRL's ``output_dir`` (logs, and the evaluation checkpoints of early stopping).
        fmt: the run's prompt format; saved with the checkpoint.
        val_transitions: labelled validation transitions: the validation loss is tracked on their examples
            (and early stopping uses it, ``config.early_stopping_patience``); empty = no evaluation.
        measure: generation metrics of the model in training, logged at each evaluation (the learning curve).
        lora: train a LoRA adapter instead of every weight (saved merged, or alone with ``lora.shared_base``;
            an adapter folder at ``init_path`` goes on training that adapter); ``None`` = full fine-tuning.

    Returns:
        ``output_dir`` (safetensors weights + tokenizer) and TRL's log history (one dict per step, plus
        ``eval_loss`` entries and the ``measure`` results at each evaluation).

    Raises:
        ValueError: a transition has no action.
    """
    tokenizer = load_tokenizer(init_path)
    examples = sft_examples(transitions, tokenizer, roles, fmt)
    val = sft_examples(val_transitions, tokenizer, roles, fmt) if val_transitions else []
    return train_on_examples(init_path, output_dir, log_dir, examples, config, seed, val,
                             [LearningCurve(measure)] if measure and val else [], fmt, lora)


def train_on_examples(init_path: str, output_dir: Path, log_dir: Path, examples: Sequence[dict[str, Any]],
                      config: SFTConfig, seed: int, eval_examples: Sequence[dict[str, Any]] = (),
                      callbacks: Sequence[TrainerCallback] = (), prompt_format: PromptFormat | None = None,
                      lora: LoraSettings | None = None) -> tuple[Path, list[dict]]:
    """SFT of the model at ``init_path`` on prompt/completion pairs, or on tokenized ``input_ids`` with a
    ``completion_mask`` (loss on the completion / masked tokens only); save atomically (with
    ``prompt_format`` when the model is a world-model role).

    With ``eval_examples`` the validation loss is tracked (:func:`~swirl_wm.backend.args.sft_args`) and,
    with ``config.early_stopping_patience``, training stops early and the best checkpoint is the one saved.
    With ``config.checkpoint_steps``, training resumes from the last complete checkpoint in ``log_dir``
    (:func:`last_checkpoint`) that an interrupted call left, and the checkpoints are removed at the end.

    Returns:
        ``output_dir`` and TRL's log history (a resumed run's includes the steps before the interruption).
    """
    tokenizer = load_tokenizer(init_path)
    dataset = Dataset.from_list(list(examples)).shuffle(seed=seed)
    validate = bool(eval_examples)
    extra = list(callbacks)
    if validate and config.early_stopping_patience:
        extra.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    eval_dataset = Dataset.from_list(list(eval_examples)) if validate else None
    resume = last_checkpoint(log_dir) if config.checkpoint_steps else None
    for folder in _checkpoints(log_dir):  # cut short by a kill, or not resumable
        if folder != resume:
            shutil.rmtree(folder, ignore_errors=True)
    model, peft = policy_model(init_path, peft_config(lora), load=True)
    trainer = SFTTrainer(model=model, args=sft_args(config, log_dir, seed, validate),
                         train_dataset=dataset, eval_dataset=eval_dataset, processing_class=tokenizer,
                         callbacks=[*extra, ResumeCheckpoints()], peft_config=peft)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    path = save_trained(trainer, tokenizer, output_dir, prompt_format, merge=not keeps_adapters(lora))
    for folder in _checkpoints(log_dir):  # for resuming and picking the best only
        shutil.rmtree(folder, ignore_errors=True)
    return path, trainer.state.log_history
