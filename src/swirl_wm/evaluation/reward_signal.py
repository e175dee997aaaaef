"""Does a GRPO group's reward rank its samples by quality? The diagnostics of the Phase I and Phase II signals.

GRPO learns only from differences *within* a group (SWIRL §3.3, method.md §1.4): the advantage of a
sample is its reward centred on the group's mean. Phase I can make the FWM better at predicting the true
next state ``y`` only if, within a group of next states sampled for one ``(x, z)``, the IDM's reward
``log Q_φ(z | x, ŷ_i)`` is higher for the samples closer to ``y`` (:func:`sample_groups`). Phase II can make
the IDM better only if, within a group of actions sampled for one ``(x, y)``, the FWM's reward
``log P_θ(y | x, ẑ_i)`` is higher for the actions that explain the transition (:func:`sample_action_groups`).
:func:`group_figures` measures either on groups whose truth is known (a run's phases check it on their first
pairs, ``swirl.warm_start_check``; ``swirl diagnose`` repeats those checks on a finished run).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TypedDict

from swirl_wm.evaluation.evaluate import APPLY, STATE_FIELDS, grounded
from swirl_wm.metrics import field_accuracy, rouge_l, summarise
from swirl_wm.models.generation import generate
from swirl_wm.models.prompts import fwm_prompt, idm_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.objectives.rewards import SwirlReward
from swirl_wm.records import FWM, IDM, Transition, original_state


class Group(TypedDict):
    """One prompt's G samples with their rewards and qualities (three lists of length G)."""

    samples: list[str]
    rewards: list[float]
    quality: list[float]


def sample_quality(env: str, prediction: str, reference: str, native: bool = True) -> float:
    """Quality of one sampled state against the true one, in [0, 1].

    Field accuracy where the environment's own (``native``) states parse into fields (physics), ROUGE-L / 100
    elsewhere (for image states: over the code tokens).
    """
    if env in STATE_FIELDS and native:
        return field_accuracy([prediction], [reference], STATE_FIELDS[env])["field_accuracy"]
    return rouge_l([prediction], [reference]) / 100.0


def sample_groups(fwm: Scorer, reward: SwirlReward, pairs: Sequence[Transition], g: int, temperature: float,
                  top_p: float, max_new_tokens: int, batch_size: int, seed: int) -> list[Group]:
    """G FWM samples per pair with an action, each with its Phase I reward (``reward``: ``log Q_φ(z | x, ŷ)``,
    the frozen IDM's mean token log-probability, or its normalised form) and its quality against the pair's
    true ``y`` (:func:`sample_quality`).

    Args:
        fwm: the FWM's scorer (its prompt format lays out the prompts).
        reward: Phase I's reward, holding the frozen IDM.
        pairs: B transitions whose ``z`` is the action to condition on (latent or gold).

    Returns:
        B groups of G samples.
    """
    prompts = [fwm_prompt(fwm.tokenizer, t.x, t.z, fwm.prompt_format) for t in pairs for _ in range(g)]
    samples = generate(fwm.model, fwm.tokenizer, prompts, max_new_tokens, do_sample=True, temperature=temperature,
                       top_p=top_p, batch_size=batch_size, seed=seed, desc="FWM samples",
                       suppress_tokens=fwm.suppressed_tokens(FWM))
    native = fwm.prompt_format.state_modality.native
    rewards = reward(prompts, samples, x=[pairs[i // g].x for i in range(len(samples))],
                     z=[pairs[i // g].z for i in range(len(samples))], y=[pairs[i // g].y for i in range(len(samples))])
    samples = [fwm.prompt_format.next_state(pairs[i // g].x, s) for i, s in enumerate(samples)]
    return [{"samples": samples[k * g:(k + 1) * g], "rewards": rewards[k * g:(k + 1) * g],
             "quality": [sample_quality(t.env, s, t.y, native)
                         for s in samples[k * g:(k + 1) * g]]}
            for k, t in enumerate(pairs)]


def action_quality(t: Transition, action: str) -> float | None:
    """Quality of one sampled action for transition ``t``, in [0, 1]: 1.0 when it reproduces the transition and
    0.0 when not, where the environment executes actions (grounded, physics); else ROUGE-L / 100 against the
    logged action (``t.z``, or ``meta["action"]`` of a pair whose action was hidden); ``None`` when neither is
    known."""
    apply = APPLY.get(t.env)
    if apply is not None:
        return float(grounded(apply, original_state(t, "x"), action, original_state(t, "y")))
    gold = _logged_action(t)
    return rouge_l([action], [gold]) / 100.0 if gold else None


def _logged_action(t: Transition) -> str | None:
    return t.z or (t.meta or {}).get("action")


def sample_action_groups(idm: Scorer, reward: SwirlReward, pairs: Sequence[Transition], g: int, temperature: float,
                         top_p: float, max_new_tokens: int, batch_size: int, seed: int) -> list[Group]:
    """Phase II's groups: G IDM samples ``ẑ ~ Q_φ(· | x, y)`` per pair, each with its Phase II reward
    (``reward``: ``log P_θ(y | x, ẑ)``, the frozen FWM's mean token log-probability of the true next state) and
    its quality (:func:`action_quality`).

    Args:
        idm: the IDM's scorer (its prompt format lays out the prompts).
        reward: Phase II's reward, holding the frozen FWM.
        pairs: transitions ``(x, y)``; those whose action quality cannot be known (no ``apply``, no logged
            action) are left out.

    Returns:
        One group of G samples per pair kept (none when no pair can be checked).
    """
    pairs = [t for t in pairs if t.env in APPLY or _logged_action(t)]  # those action_quality can judge
    prompts = [idm_prompt(idm.tokenizer, t.x, t.y, idm.prompt_format) for t in pairs for _ in range(g)]
    samples = generate(idm.model, idm.tokenizer, prompts, max_new_tokens, do_sample=True, temperature=temperature,
                       top_p=top_p, batch_size=batch_size, seed=seed, desc="IDM samples",
                       suppress_tokens=idm.suppressed_tokens(IDM)) if prompts else []
    rewards = reward(prompts, samples, x=[pairs[i // g].x for i in range(len(samples))],
                     y=[pairs[i // g].y for i in range(len(samples))]) if samples else []
    return [{"samples": samples[k * g:(k + 1) * g], "rewards": rewards[k * g:(k + 1) * g],
             "quality": [q if (q := action_quality(t, s)) is not None else 0.0 for s in samples[k * g:(k + 1) * g]]}
            for k, t in enumerate(pairs)]


def _pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(set(a)) < 2 or len(set(b)) < 2:
        return None
    return statistics.correlation(a, b)


def group_figures(groups: Sequence[Group]) -> dict[str, float | int | None]:
    """Averages over groups of how much the reward says about quality.

    Args:
        groups: groups of equal or different sizes G ≥ 1; rewards in nats per token, qualities in [0, 1].

    Returns:
        ``{"groups": count}`` alone for no groups; otherwise also

        - ``distinct_fraction``: distinct samples / G, averaged (1/G: all samples alike, no signal);
        - ``reward_std``: the within-group population standard deviation of the reward (nats per token);
        - ``mean_quality``: over all samples;
        - ``corr_reward_quality``: the within-group Pearson correlation of reward and quality, averaged over
          the ``groups_with_corr`` groups where both vary (None if there are none);
        - ``best_minus_mean``: the quality of the highest-reward sample (the earlier one on ties) minus the
          group's mean quality, averaged: > 0 when the reward points towards the true state;
        - ``corr_reward_quality_ci95``, ``best_minus_mean_ci95``: half-widths of their 95 % t-intervals
          over groups (NaN with one group).

    Raises:
        ValueError: a group whose three lists differ in length, or an empty group.

    Source: this project's diagnostic of GRPO's within-group signal (SWIRL §3.3, the group advantage).
    """
    for g in groups:
        if not g["samples"] or not len(g["samples"]) == len(g["rewards"]) == len(g["quality"]):
            raise ValueError(f"a group needs G ≥ 1 samples, rewards and qualities alike; got "
                             f"{len(g['samples'])}, {len(g['rewards'])}, {len(g['quality'])}")
    if not groups:
        return {"groups": 0}
    corrs = [c for g in groups if (c := _pearson(g["rewards"], g["quality"])) is not None]
    gains = []
    for g in groups:
        best = max(range(len(g["rewards"])), key=lambda k, r=g["rewards"]: (r[k], -k))
        gains.append(g["quality"][best] - statistics.fmean(g["quality"]))
    corr, corr_ci = summarise(corrs) if corrs else (None, None)
    gain, gain_ci = summarise(gains)
    return {
        "groups": len(groups),
        "distinct_fraction": statistics.fmean(len(set(g["samples"])) / len(g["samples"]) for g in groups),
        "reward_std": statistics.fmean(statistics.pstdev(g["rewards"]) for g in groups),
        "mean_quality": statistics.fmean(q for g in groups for q in g["quality"]),
        "corr_reward_quality": corr,
        "corr_reward_quality_ci95": corr_ci,
        "groups_with_corr": len(corrs),
        "best_minus_mean": gain,
        "best_minus_mean_ci95": gain_ci,
    }
