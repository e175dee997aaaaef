"""Latent actions for Phase I: label unlabelled pairs ``(x, y)`` with the frozen IDM (method.md §1.3, §1.6).

- ``sample`` (the paper): ``z ~ Q_φ(· | x, y)`` with the phase's temperature and top-p. Phase I runs one
  epoch with the IDM frozen, so sampling every pair once at the start of the phase has the same
  distribution as sampling it when its batch comes up.
- ``greedy`` (the released code): the IDM's greedy action, and pairs whose mean token log-probability is
  below the threshold (−2.0) are dropped.
- ``sample`` with ``filter_samples``: sampled actions, with the released code's confidence filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from swirl_wm.config import LatentActionConfig
from swirl_wm.models.generation import generate
from swirl_wm.models.prompts import idm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.records import IDM, Transition


@dataclass(frozen=True)
class LatentActionStats:
    """Diagnostics of one labelling pass (SWIRL reports > 94 % distinct actions: no collapse)."""

    pairs: int
    kept: int
    distinct_fraction: float
    mean_words: float


def infer_latent_actions(scorer: Scorer, transitions: Sequence[Transition], config: LatentActionConfig,
                         temperature: float, top_p: float, batch_size: int, seed: int
                         ) -> tuple[list[Transition], LatentActionStats]:
    """Return the pairs with ``z`` set to the IDM's latent action (pairs dropped by the threshold removed).

    Args:
        scorer: the frozen IDM (its model generates; in greedy mode it also scores the action).
        transitions: unlabelled pairs (any ``z`` they carry is ignored and replaced).
        temperature, top_p: sampling parameters (``sample`` mode).
    """
    tokenizer = scorer.tokenizer
    prompts = [idm_prompt(tokenizer, t.x, t.y, scorer.prompt_format) for t in transitions]
    sample = config.mode == "sample"
    actions = generate(scorer.model, tokenizer, prompts, config.max_new_tokens, do_sample=sample,
                       temperature=temperature, top_p=top_p, batch_size=batch_size, seed=seed,
                       desc="latent actions", suppress_tokens=scorer.suppressed_tokens(IDM))
    keep = [bool(a) for a in actions]
    if not sample or config.filter_samples:
        scores = scorer(prompts, actions, desc="latent-action scores")
        keep = [k and s >= config.threshold for k, s in zip(keep, scores, strict=True)]
    labelled = [replace(t, z=a) for t, a, k in zip(transitions, actions, keep, strict=True) if k]
    kept_actions = [t.z for t in labelled]
    stats = LatentActionStats(
        pairs=len(transitions), kept=len(labelled),
        distinct_fraction=len(set(kept_actions)) / len(kept_actions) if kept_actions else 0.0,
        mean_words=sum(len(a.split()) for a in kept_actions) / len(kept_actions) if kept_actions else 0.0)
    return labelled, stats
