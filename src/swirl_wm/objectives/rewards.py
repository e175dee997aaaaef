"""SWIRL's rewards: each phase is rewarded by the frozen opposite model (arXiv:2602.06130 §3.3–3.4).

- Phase I trains the FWM: for a generated next state ``ŷ_k`` the reward is ``log Q_φ(z | x, ŷ_k)``, the
  frozen IDM's mean per-token log-probability of the latent action (variational information
  maximisation, Theorem 3.1).
- Phase II trains the IDM: for a generated action ``ẑ_k`` the reward is ``log P_θ(y | x, ẑ_k)``, the
  frozen FWM's mean per-token log-probability of the real next state (ELBO, Theorem 3.2).

One class serves both phases, parametrised by the role being trained. Where the environment's actions form
a finite set ``A(x)``, Phase I may use the normalised reward ``log Q(z | x, ŷ) − logsumexp_{a ∈ A(x)}
log Q(a | x, ŷ)``: the IDM's posterior of z among the possible actions, so that a ŷ which makes every action
(un)likely is not rewarded for that (not in the paper). With the paper's mean-per-token scores it is a
softmax over the set of those scores.

Phase I may add a fidelity term, ``α · F(ŷ_k, y)``: the generated state against the pair's observed next
state (:mod:`swirl_wm.objectives.fidelity`), so that the fields the IDM ignores (the passive dynamics) are
paid for too; still label-free. Not in the paper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from swirl_wm.models.prompts import build_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives.fidelity import Fidelity
from swirl_wm.records import Role


class SwirlReward:
    """TRL reward function (a plain callable, trl-notes.md trap 6) holding the frozen scorer.

    Args:
        trained_role: :data:`~swirl_wm.records.FWM` (Phase I: completions are next states ŷ, scored by the
            IDM) or :data:`~swirl_wm.records.IDM` (Phase II: completions are actions ẑ, scored by the FWM), or
            the role's name.
        scorer: the frozen opposite model's :class:`Scorer`.
        action_set: Phase I only: ``x ↦ A(x)``, the environment's finite action set; given, the reward is
            normalised over ``A(x) ∪ {z}`` (the IDM scores ``|A(x)| + 1`` actions per completion).
        fidelity: Phase I only: ``F(ŷ, y) ∈ [0, 1]``, the generated state against the observed one.
        fidelity_weight: α ≥ 0, the weight of ``F`` in the reward (nats per token per unit of F); 0 = the
            paper's reward.

    The dataset must carry columns ``x`` and ``z`` (Phase I; also ``y`` with a fidelity term) or ``x`` and
    ``y`` (Phase II); TRL passes every dataset column to the reward as a keyword argument, repeated G times.

    Raises:
        ValueError: an unknown role, or a Phase I-only option given for Phase II, or ``fidelity_weight`` < 0
            or > 0 without ``fidelity``.
    """

    def __init__(self, trained_role: Role | str, scorer: Scorer,
                 action_set: Callable[[str], Sequence[str]] | None = None,
                 fidelity: Fidelity | None = None, fidelity_weight: float = 0.0) -> None:
        trained_role = Role.of(trained_role)
        if (action_set is not None or fidelity_weight) and not trained_role.writes_state:
            raise ValueError("the normalised reward and the fidelity term are Phase I's; Phase II has neither")
        if fidelity_weight < 0 or (fidelity_weight and fidelity is None):
            raise ValueError(f"fidelity_weight {fidelity_weight}: needs a fidelity function and a weight ≥ 0")
        self.trained_role = trained_role
        self.scorer = scorer
        self.action_set = action_set
        self.fidelity = fidelity if fidelity_weight else None
        self.fidelity_weight = fidelity_weight
        scored_by = "Q" if trained_role.writes_state else "P"  # the frozen opposite model's likelihood
        self.__name__ = (f"log_{scored_by}{'_normalised' if action_set else ''}"
                         f"{'+fidelity' if self.fidelity else ''}")

    def scoring_pairs(self, completions: Sequence[str], x: Sequence[str], target: Sequence[str]
                      ) -> tuple[list[str], list[str]]:
        """The (prompt, target) pairs the frozen model scores, one per completion (the run's prompt format,
        ``model.fwm_target`` included, is the frozen scorer's: both roles of a run share it)."""
        tokenizer, fmt, frozen = self.scorer.tokenizer, self.scorer.prompt_format, self.trained_role.other
        if self.trained_role.writes_state:  # score z given (x, ŷ), ŷ the next state the completion describes
            prompts = [build_prompt(tokenizer, frozen, xi, fmt.next_state(xi, yi), fmt)
                       for xi, yi in zip(x, completions, strict=True)]
            return prompts, list(target)
        # score y given (x, ẑ): y as the FWM writes it (the state, or its changes from x)
        prompts = [build_prompt(tokenizer, frozen, xi, zi, fmt) for xi, zi in zip(x, completions, strict=True)]
        return prompts, [fmt.fwm_completion(xi, yi) for xi, yi in zip(x, target, strict=True)]

    def __call__(self, prompts: Sequence[Any], completions: Sequence[str], x: Sequence[str],
                 **columns: Any) -> list[float]:
        """Return one reward (nats per token, ≥ the scorer's clamp, plus ``α · F`` with a fidelity term)
        per completion.

        Raises:
            KeyError: the dataset lacks the ``z`` (Phase I) or ``y`` (Phase II, or Phase I's fidelity) column.
        """
        target = columns[self.trained_role.other.writes]  # the frozen model's target: z (Phase I), y (Phase II)
        rewards = self._log_likelihood(completions, x, target)
        if self.fidelity is None:
            return rewards
        fmt = self.scorer.prompt_format
        return [r + self.fidelity_weight * self.fidelity(fmt.next_state(xi, c), yi)
                for r, xi, c, yi in zip(rewards, x, completions, columns["y"], strict=True)]

    def _log_likelihood(self, completions: Sequence[str], x: Sequence[str], target: Sequence[str]) -> list[float]:
        """The frozen model's mean token log-probability of ``target`` (normalised over the action set when
        one is given), one per completion."""
        pair_prompts, targets = self.scoring_pairs(completions, x, target)
        if self.action_set is None:
            return self.scorer(pair_prompts, targets)
        candidates = [[z, *(a for a in self.action_set(xi) if a != z)] for xi, z in zip(x, targets, strict=True)]
        scores = self.scorer([p for p, c in zip(pair_prompts, candidates, strict=True) for _ in c],
                             [a for c in candidates for a in c])
        rewards, start = [], 0
        for c in candidates:
            rewards.append(normalised_reward(torch.tensor(scores[start:start + len(c)])))
            start += len(c)
        return rewards


def normalised_reward(scores: torch.Tensor) -> float:
    """``scores[0] − logsumexp(scores)``: the log-softmax of the first of ``(A,)`` action scores (nats; ≤ 0).

    Source: this project's design (Phase I reward normalised over the environment's finite action set).
    """
    return float(scores[0] - torch.logsumexp(scores.double(), dim=0))
