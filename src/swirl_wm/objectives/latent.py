"""Latent actions for Phase I: label unlabelled pairs ``(x, y)`` with the frozen IDM (method.md §1.3, §1.6).

- ``sample`` (the paper): ``z ~ Q_φ(· | x, y)`` with the phase's temperature and top-p. Phase I runs one
  epoch with the IDM frozen, so sampling every pair once at the start of the phase has the same
  distribution as sampling it when its batch comes up.
- ``greedy`` (the released code): the IDM's greedy action, and pairs whose mean token log-probability is
  below the threshold (−2.0) are dropped.
- ``sample`` with ``filter_samples``: sampled actions, with the released code's confidence filter.
- ``sample`` with ``candidates`` K > 1: K sampled actions per pair, and the one kept is the one under which
  the FWM gives the pair's observed ``y`` the highest likelihood ``log P_θ(y | x, z)`` (Phase II's reward):
  a best-of-K E-step that uses the observed next state to pick among the IDM's proposals (method.md §1.3).
  The FWM sees only ``(x, y)`` and the IDM's proposals, so the labelling stays label-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from swirl_wm.config import LatentActionConfig
from swirl_wm.models.generation import generate
from swirl_wm.models.prompts import idm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.records import IDM, Transition


@dataclass(frozen=True)
class LatentActionStats:
    """Diagnostics of one labelling pass (SWIRL reports > 94 % distinct actions: no collapse)."""

    pairs: int
    kept: int
    distinct_fraction: float
    mean_words: float
    candidates: int = 1  # actions sampled per pair (K)
    reselected: float = 0.0  # fraction of pairs whose kept action differs from the first sample (K > 1)


def infer_latent_actions(scorer: Scorer, transitions: Sequence[Transition], config: LatentActionConfig,
                         temperature: float, top_p: float, batch_size: int, seed: int,
                         fwm: Scorer | None = None) -> tuple[list[Transition], LatentActionStats]:
    """Return the pairs with ``z`` set to the IDM's latent action (pairs dropped by the threshold removed).

    Args:
        scorer: the frozen IDM (its model generates; in greedy mode it also scores the action).
        transitions: unlabelled pairs (any ``z`` they carry is ignored and replaced).
        temperature, top_p: sampling parameters (``sample`` mode).
        fwm: the FWM that picks among ``config.candidates`` > 1 sampled actions per pair (the one maximising
            ``log P_θ(y | x, z)``, mean nats per token of ``y``; the same ranking as the sum, since every
            candidate of a pair scores the same ``y``).

    Raises:
        ValueError: ``config.candidates`` > 1 and no ``fwm``.
    """
    k = config.candidates
    if k > 1 and fwm is None:
        raise ValueError(f"swirl.latent_action.candidates {k}: choosing among candidates needs the FWM")
    tokenizer = scorer.tokenizer
    prompts = [idm_prompt(tokenizer, t.x, t.y, scorer.prompt_format) for t in transitions]
    sample = config.mode == "sample"
    proposals = generate(scorer.model, tokenizer, [p for p in prompts for _ in range(k)], config.max_new_tokens,
                         do_sample=sample, temperature=temperature, top_p=top_p, batch_size=batch_size, seed=seed,
                         desc="latent actions", suppress_tokens=scorer.suppressed_tokens(IDM))
    actions = proposals
    reselected = 0.0
    if k > 1:
        assert fwm is not None
        likelihood = SwirlReward(IDM, fwm)(prompts, proposals, [t.x for t in transitions for _ in range(k)],
                                           y=[t.y for t in transitions for _ in range(k)])
        chosen = [max(range(k), key=lambda j, i=i: (bool(proposals[i * k + j]), likelihood[i * k + j]))
                  for i in range(len(transitions))]
        actions = [proposals[i * k + j] for i, j in enumerate(chosen)]
        reselected = sum(a != proposals[i * k] for i, a in enumerate(actions)) / max(len(actions), 1)
    keep = [bool(a) for a in actions]
    if not sample or config.filter_samples:
        scores = scorer(prompts, actions, desc="latent-action scores")
        keep = [kept and s >= config.threshold for kept, s in zip(keep, scores, strict=True)]
    labelled = [replace(t, z=a) for t, a, kept in zip(transitions, actions, keep, strict=True) if kept]
    kept_actions = [t.z for t in labelled]
    stats = LatentActionStats(
        pairs=len(transitions), kept=len(labelled),
        distinct_fraction=len(set(kept_actions)) / len(kept_actions) if kept_actions else 0.0,
        mean_words=sum(len(a.split()) for a in kept_actions) / len(kept_actions) if kept_actions else 0.0,
        candidates=k, reselected=reselected)
    return labelled, stats
