"""What a run keeps of a TRL trainer's log history."""

from __future__ import annotations


def train_log_of(history: list[dict]) -> list[dict[str, float]]:
    """The per-step entries of a TRL log history worth keeping: reward (and each reward function's mean,
    ``rewards/<name>/mean``), KL, loss, learning rate, the mean completion length, Phase I's NLL term
    (``nll``), the validation loss and the SFT learning curve's ``curve/...`` metrics."""
    keys = ("reward", "reward_std", "kl", "loss", "learning_rate", "eval_loss", "completions/mean_length", "nll")

    def kept(key: str) -> bool:
        return key in keys or key.startswith("curve/") or (key.startswith("rewards/") and key.endswith("/mean"))

    return [{"step": h["step"], **{k: v for k, v in h.items() if kept(k)}} for h in history
            if "step" in h and "train_runtime" not in h and any(kept(k) and k != "learning_rate" for k in h)]
