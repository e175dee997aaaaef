"""Evaluation without action labels: cycle consistency.

For a state-only transition ``(x, y)``: ``ẑ = IDM(x, y)`` (greedy), then ``ŷ = FWM(x, ẑ)`` (greedy), and
``ŷ`` is compared with ``y`` by the environment's state metrics; ``log P_θ(y | x, ẑ)`` is the FWM's mean
token log-probability of the true next state under the inferred action (the Phase II reward, SWIRL §3.4,
evaluated at the IDM's mode). A user with no labelled test data can compare checkpoints and phases with
these; they measure the two roles together (a good IDM paired with a bad FWM scores low).
"""

from __future__ import annotations

from collections.abc import Sequence

from swirl_wm.config import EvalConfig
from swirl_wm.evaluation.evaluate import single_env, state_metrics
from swirl_wm.models.world_model import WorldModel
from swirl_wm.records import Transition, original_state


def cycle_metrics(world_model: WorldModel, transitions: Sequence[Transition], config: EvalConfig
                  ) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """Cycle-consistency metrics (keys ``cycle/...``) and the ``(ẑ, ŷ)`` of each transition.

    Keys: ``cycle/exact_match``, ``cycle/bleu``, ``cycle/rouge_l`` (and field accuracy / JSON field F1 where
    the states allow), ``cycle/log_likelihood`` (nats per token). Any gold action is ignored.

    Raises:
        ValueError: no transitions.
    """
    if not transitions:
        raise ValueError("cycle consistency needs at least one transition")
    xs, ys = [t.x for t in transitions], [t.y for t in transitions]
    actions = [row[0].action for row in world_model.infer_action(xs, ys)]
    predicted = [row[0] for row in world_model.predict(xs, actions)]
    metrics = state_metrics("cycle", single_env(transitions), predicted, ys, config, embedding=False,
                            modality=world_model.modality, sources=[original_state(t, "y") for t in transitions])
    loglik = world_model.score(xs, actions, ys)
    metrics["cycle/log_likelihood"] = sum(loglik) / len(loglik)
    return metrics, list(zip(actions, predicted, strict=True))
