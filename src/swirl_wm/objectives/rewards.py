"""SWIRL's rewards: each phase is rewarded by the frozen opposite model (arXiv:2602.06130 §3.3–3.4).

- Phase I trains the FWM: for a generated next state ``ŷ_k`` the reward is ``log Q_φ(z | x, ŷ_k)``, the
  frozen IDM's mean per-token log-probability of the latent action (variational information
  maximisation, Theorem 3.1).
- Phase II trains the IDM: for a generated action ``ẑ_k`` the reward is ``log P_θ(y | x, ẑ_k)``, the
  frozen FWM's mean per-token log-probability of the real next state (ELBO, Theorem 3.2).

One class serves both phases, parametrised by the role being trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swirl_wm.models.prompts import Role, fwm_prompt, idm_prompt
from swirl_wm.models.scoring import Scorer


class SwirlReward:
    """TRL reward function (a plain callable, trl-notes.md trap 6) holding the frozen scorer.

    Args:
        trained_role: ``"fwm"`` (Phase I: completions are next states ŷ, scored by the IDM) or ``"idm"``
            (Phase II: completions are actions ẑ, scored by the FWM).
        scorer: the frozen opposite model's :class:`Scorer`.

    The dataset must carry columns ``x`` and ``z`` (Phase I) or ``x`` and ``y`` (Phase II); TRL passes
    every dataset column to the reward as a keyword argument, repeated G times.
    """

    def __init__(self, trained_role: Role, scorer: Scorer) -> None:
        if trained_role not in ("fwm", "idm"):
            raise ValueError(f"unknown role {trained_role!r}")
        self.trained_role = trained_role
        self.scorer = scorer
        self.__name__ = f"log_{'Q' if trained_role == 'fwm' else 'P'}"

    def scoring_pairs(self, completions: Sequence[str], x: Sequence[str], target: Sequence[str]
                      ) -> tuple[list[str], list[str]]:
        """The (prompt, target) pairs the frozen model scores, one per completion."""
        tokenizer = self.scorer.tokenizer
        if self.trained_role == "fwm":  # score z given (x, ŷ)
            prompts = [idm_prompt(tokenizer, xi, yi, self.scorer.prompt_format)
                       for xi, yi in zip(x, completions, strict=True)]
        else:  # score y given (x, ẑ)
            prompts = [fwm_prompt(tokenizer, xi, zi, self.scorer.prompt_format)
                       for xi, zi in zip(x, completions, strict=True)]
        return prompts, list(target)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[str], x: Sequence[str],
                 **columns: Any) -> list[float]:
        """Return one reward (nats per token, ≥ the scorer's clamp) per completion.

        Raises:
            KeyError: the dataset lacks the ``z`` (Phase I) or ``y`` (Phase II) column.
        """
        target = columns["z"] if self.trained_role == "fwm" else columns["y"]
        pair_prompts, targets = self.scoring_pairs(completions, x, target)
        return self.scorer(pair_prompts, targets)
