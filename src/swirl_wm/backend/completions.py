"""A table of recent GRPO completions in TensorBoard: with ``log_completions`` TRL prints the
prompts, completions, rewards and advantages of each logging step and sends them to wandb / trackio only;
this callback writes the same rows as a TensorBoard text table (tag ``completions``), so the default logger
shows what the policy generates and how it was rewarded."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback
from transformers.integrations import TensorBoardCallback

_ROWS = 8  # rows per table when TRL's num_completions_to_print is unset


def _cell(value: Any) -> str:
    text = str(value)
    return (text[:400] + " …" if len(text) > 400 else text).replace("|", "\\|").replace("\n", " ⏎ ")


def completions_markdown(logs: dict[str, Any], rows: int) -> str:
    """The last ``rows`` of TRL's completion log (``prompt``, ``completion``, ``rewards`` by reward name,
    ``advantages``) as a Markdown table; empty when nothing was logged."""
    prompts, completions = list(logs.get("prompt", [])), list(logs.get("completion", []))
    if not prompts:
        return ""
    rewards = {name: list(values) for name, values in logs.get("rewards", {}).items()}
    advantages = list(logs.get("advantages", []))
    start = max(0, len(prompts) - rows)
    head = ["prompt", "completion", *rewards, "advantage"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(rewards) + 1)]
    for i in range(start, len(prompts)):
        cells = [_cell(prompts[i]), _cell(completions[i]), *(f"{v[i]:.3f}" for v in rewards.values()),
                 f"{advantages[i]:.3f}" if i < len(advantages) else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


class CompletionsTable(TrainerCallback):
    """On each log of a GRPO trainer with ``log_completions``, add its recent completions to the TensorBoard
    run as a text table (nothing when TensorBoard is not among ``report_to``)."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_log(self, args: Any, state: Any, _control: Any, **kwargs: Any) -> None:
        trainer = self.trainer
        if not getattr(trainer, "log_completions", False) or not trainer.accelerator.is_main_process:
            return
        writer = next((c.tb_writer for c in trainer.callback_handler.callbacks
                       if isinstance(c, TensorBoardCallback) and c.tb_writer is not None), None)
        text = completions_markdown(getattr(trainer, "_logs", {}), trainer.num_completions_to_print or _ROWS)
        if writer is not None and text:
            writer.add_text("completions", text, state.global_step)
            writer.flush()
