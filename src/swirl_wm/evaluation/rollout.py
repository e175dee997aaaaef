"""Multi-step rollout evaluation (the WorldPredictionBench protocol of SWIRL §4, up to 6 steps).

From the first state of each held-out episode and its gold actions ``z_1 … z_T``, the FWM feeds back its
own predictions (:meth:`~swirl_wm.models.world_model.WorldModel.rollout`); at each step ``t`` its state
``ŷ_t`` is compared with the true ``x_t`` by the environment's state metrics, over the episodes that last at
least ``t`` steps. The copy baseline (``ŷ_t = x_0``: nothing ever changes) is measured the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swirl_wm.config import EvalConfig
from swirl_wm.evaluation.evaluate import single_env, state_metrics
from swirl_wm.modality import TEXT, StateModality
from swirl_wm.models.world_model import WorldModel
from swirl_wm.records import Episode, original_state


def step_metrics(episodes: Sequence[Episode], chains: Sequence[Sequence[str]], config: EvalConfig,
                 modality: StateModality = TEXT) -> list[dict[str, Any]]:
    """Per-step metrics of predicted state chains against the episodes' true states.

    Args:
        episodes: B episodes; episode ``i``'s true state after step ``t`` is ``transitions[t-1].y``.
        chains: B chains of predicted states, ``chains[i][t-1]`` after step ``t`` (at most ``len(episodes[i])``).

    Returns:
        one dict per step ``t = 1 … max chain length``: ``{"step": t, "episodes": n, "fwm/<metric>": v}``,
        ``n`` the episodes whose chain reaches ``t``.

    Raises:
        ValueError: ``episodes`` and ``chains`` differ in length, or a chain is longer than its episode.
    """
    if len(episodes) != len(chains):
        raise ValueError(f"{len(episodes)} episodes but {len(chains)} chains")
    if any(len(c) > len(e) for e, c in zip(episodes, chains, strict=True)):
        raise ValueError("a chain is longer than its episode")
    env = single_env([t for e in episodes for t in e.transitions])
    out = []
    for t in range(1, max((len(c) for c in chains), default=0) + 1):
        live = [i for i, c in enumerate(chains) if len(c) >= t]
        preds = [chains[i][t - 1] for i in live]
        refs = [episodes[i].transitions[t - 1].y for i in live]
        sources = [original_state(episodes[i].transitions[t - 1], "y") for i in live]
        out.append({"step": t, "episodes": len(live)} | state_metrics("fwm", env, preds, refs, config,
                                                                       embedding=False, modality=modality,
                                                                       sources=sources))
    return out


# Episodes whose chains a rollout evaluation keeps (``"samples"``): what the report draws as rollout strips.
SAMPLES = 4


def rollout_metrics(world_model: WorldModel, episodes: Sequence[Episode], steps: int, config: EvalConfig
                    ) -> dict[str, list[dict[str, Any]]]:
    """Roll each episode's gold plan (its first ``steps`` actions) out in the FWM; per-step metrics of the
    model (``"model"``) and of the copy baseline (``"copy"``), as :func:`step_metrics`, and the first
    :data:`SAMPLES` episodes' chains (``"samples"``: ``episode_id``, ``x0``, ``actions``, ``true_states``,
    ``predicted_states``), which the report draws for image states.

    Raises:
        ValueError: ``steps < 1``, no episodes, or an episode with an unlabelled step among its first
            ``steps`` (a rollout needs the gold actions).
    """
    if steps < 1 or not episodes:
        raise ValueError(f"a rollout evaluation needs steps >= 1 and episodes (got {steps}, {len(episodes)})")
    plans = [[t.z for t in e.transitions[:steps]] for e in episodes]
    if any(z is None for plan in plans for z in plan):
        raise ValueError("rollout evaluation needs the gold action of every step it rolls out")
    starts = [e.transitions[0].x for e in episodes]
    chains = world_model.rollout(starts, plans)
    copies = [[e.transitions[0].x] * len(p) for e, p in zip(episodes, plans, strict=True)]
    modality = world_model.modality
    samples = [{"episode_id": e.episode_id, "x0": x0, "actions": plan, "true_states": [t.y for t in e.transitions[
        :len(plan)]], "predicted_states": list(chain)} for e, x0, plan, chain in zip(episodes, starts, plans, chains,
                                                                                     strict=True)][:SAMPLES]
    return {"model": step_metrics(episodes, chains, config, modality),
            "copy": step_metrics(episodes, copies, config, modality), "samples": samples}
