"""SFT warm start of the FWM and the IDM on the labelled split (SWIRL §4; method.md §1.2).

FWM examples: prompt ``(x, z)`` → completion ``y``; IDM examples: prompt ``(x, y)`` → completion ``z``.
The loss covers completion tokens only (TRL ``completion_only_loss``). With shared weights one model is
trained on both kinds of examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset
from transformers import PreTrainedTokenizerBase
from trl import SFTTrainer

from swirl_wm.config import SFTConfig
from swirl_wm.models.loading import load_model, load_tokenizer
from swirl_wm.models.prompts import Role, build_prompt, completion
from swirl_wm.records import Transition
from swirl_wm.training.checkpoints import save_trained
from swirl_wm.training.trl_args import sft_args


def sft_examples(transitions: Sequence[Transition], tokenizer: PreTrainedTokenizerBase,
                 roles: Sequence[Role], description: str | None = None) -> list[dict[str, str]]:
    """Prompt/completion pairs for ``roles`` from labelled transitions (``description``: the run's task
    description, in every prompt).

    Raises:
        ValueError: a transition has no action (SFT needs labelled data).
    """
    examples = []
    for t in transitions:
        if t.z is None:
            raise ValueError(f"SFT needs labelled transitions; episode {t.episode_id} step {t.step} has no z")
        for role in roles:
            prompt = build_prompt(tokenizer, role, t.x, t.z if role == "fwm" else t.y, description)
            examples.append({"prompt": prompt, "completion": completion(tokenizer, t.y if role == "fwm" else t.z)})
    return examples


def train_sft(init_path: str, output_dir: Path, log_dir: Path, transitions: Sequence[Transition],
              roles: Sequence[Role], config: SFTConfig, seed: int, description: str | None = None
              ) -> tuple[Path, list[dict]]:
    """Fine-tune the model at ``init_path`` on the roles' examples; save it atomically to ``output_dir``.

    Args:
        log_dir: TRL's ``output_dir`` (logs only: nothing is saved by TRL itself).

    Returns:
        ``output_dir`` (safetensors weights + tokenizer) and TRL's log history (one dict per step).
    """
    tokenizer = load_tokenizer(init_path)
    examples = sft_examples(transitions, tokenizer, roles, description)
    return train_on_examples(init_path, output_dir, log_dir, examples, config, seed)


def train_on_examples(init_path: str, output_dir: Path, log_dir: Path, examples: Sequence[dict[str, Any]],
                      config: SFTConfig, seed: int) -> tuple[Path, list[dict]]:
    """SFT of the model at ``init_path`` on prompt/completion pairs, or on tokenized ``input_ids`` with a
    ``completion_mask`` (loss on the completion / masked tokens only); save atomically.

    Returns:
        ``output_dir`` and TRL's log history.
    """
    tokenizer = load_tokenizer(init_path)
    dataset = Dataset.from_list(list(examples)).shuffle(seed=seed)
    trainer = SFTTrainer(model=load_model(init_path), args=sft_args(config, log_dir, seed),
                         train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    return save_trained(trainer, tokenizer, output_dir), trainer.state.log_history
