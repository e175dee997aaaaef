"""Trivial baselines that every world-model table shows beside the models.

A world model that does not beat them has learnt nothing yet:

- **copy** (FWM): ``ŷ = x``, the next state predicted to be the prior one;
- **no-op rule** (FWM, where the environment can execute actions): ``ŷ = apply(x, no-op)``, the
  environment's passive dynamics as if every action were the no-op (physics: ``wait``);
- **most frequent action** (IDM): ``ẑ`` = the most frequent action of the labelled training split,
  whatever the transition.

The metric keys are the models' own (``fwm/...``, ``idm/...``), so the rows sit in the same tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from swirl_wm.config import EvalConfig
from swirl_wm.evaluation.evaluate import NOOP_ACTION, action_metrics, noop_prediction, single_env, state_metrics
from swirl_wm.modality import TEXT, StateModality
from swirl_wm.records import Transition, original_state


def most_frequent_action(labelled: Sequence[Transition]) -> str | None:
    """The commonest gold action of ``labelled`` (ties: the first seen), ``None`` when none has one."""
    counts = Counter(t.z for t in labelled if t.z is not None)
    return counts.most_common(1)[0][0] if counts else None


def trivial_baselines(labelled: Sequence[Transition], transitions: Sequence[Transition], config: EvalConfig,
                      modality: StateModality = TEXT) -> dict[str, dict[str, float]]:
    """Metrics of the trivial baselines on labelled ``transitions``; no model is run.

    Args:
        labelled: the SFT split, whose commonest action is the IDM baseline.
        transitions: held-out transitions with gold actions.
        config: evaluation settings (embedding similarity is left out: the baselines need no model).

    Returns:
        ``{"copy": {"fwm/...": v}, "noop": {...} (where the environment has a no-op), "most_frequent_action":
        {"idm/...": v} (when ``labelled`` has actions)}``; empty when ``transitions`` is.
    """
    if not transitions:
        return {}
    quiet = config.model_copy(update={"embedding_similarity": False})
    env = single_env(transitions)
    refs = [t.y for t in transitions]
    priors = [t.x for t in transitions]
    sources = [original_state(t, "y") for t in transitions]
    out: dict[str, dict[str, Any]] = {"copy": state_metrics("fwm", env, priors, refs, quiet, priors=priors,
                                                            modality=modality, sources=sources)}
    if env in NOOP_ACTION:
        out["noop"] = state_metrics("fwm", env, [noop_prediction(env, x) for x in priors], refs, quiet,
                                    priors=priors, modality=modality, sources=sources)
    action = most_frequent_action(labelled)
    if action is not None and all(t.z is not None for t in transitions):
        out["most_frequent_action"] = action_metrics("idm", transitions, [action] * len(transitions), quiet)
    return out
