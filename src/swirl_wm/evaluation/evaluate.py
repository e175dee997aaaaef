"""Evaluate an FWM and an IDM on held-out transitions with their gold actions (SWIRL §4).

FWM (``P_θ(y | x, z)`` with the gold z, greedy): exact match, BLEU, ROUGE-L, log-likelihood of the true y
(mean nats per token, the same scorer as the rewards), and per-field accuracy where the environment can
parse its states. IDM (``Q_φ(z | x, y)``, greedy): exact match, BLEU and ROUGE-L against the gold action,
and, where the environment can execute an action on a rendered state, **grounded accuracy**:
``apply(x, ẑ) == y``, i.e. the predicted action, whatever its wording, reproduces the transition.

Per domain: the metrics a role gets depend on its data, not on a list of environment names where a test
on the texts can decide. JSON next states (BFCL's ``{"return": ..., "state": {...}}``) add the FWM's
JSON field F1; ``eval.embedding_similarity`` adds both roles' embedding similarity, a paraphrase-tolerant
score for free-text states and actions; the environment's registry line names its headline metric
(:func:`swirl_wm.envs.registry.headline_fwm`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from swirl_wm.config import EvalConfig
from swirl_wm.envs.registry import ENVIRONMENTS, headline_fwm
from swirl_wm.evaluation.embedding import embedding_similarity
from swirl_wm.metrics import bleu, effect_accuracy, exact_match, field_accuracy, passive_accuracy, rouge_l
from swirl_wm.modality import TEXT, StateModality
from swirl_wm.modality.changes import is_patch
from swirl_wm.modality.image import ImageModality
from swirl_wm.models.generation import generate
from swirl_wm.models.prompts import role_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.records import Role, Transition, original_state

# Environment hooks: parse a state into fields, and execute an action on a rendered state.
# What the registered environments can check exactly (envs/registry.py): only modules with a hook are imported.
STATE_FIELDS: dict[str, Callable[[str], dict[str, str]]] = {
    n: s.fields_of for n, s in ENVIRONMENTS.items() if s.state_fields}
APPLY: dict[str, Callable[[str, str], str]] = {n: s.apply_fn for n, s in ENVIRONMENTS.items() if s.apply}
# The environment's no-op action, for the no-op-rule baseline (its passive dynamics only).
NOOP_ACTION: dict[str, str] = {n: s.noop_action for n, s in ENVIRONMENTS.items() if s.noop_action}
# Read a frame back into its state's fields: image states scored on the scene's objects.
READ_FRAME: dict[str, Callable[[Any, str], dict[str, str]]] = {
    n: s.read_frame_fn for n, s in ENVIRONMENTS.items() if s.read_frame}


def selection_metric(role: Role, key: str, transitions: Sequence[Transition], modality: str = "text") -> str:
    """The validation metric that picks the best phase of ``role``: ``key``, or for ``"auto"`` the headline
    metric of the transitions' environment (FWM: :func:`~swirl_wm.envs.registry.headline_fwm`; IDM: grounded
    accuracy where the environment executes actions, else ROUGE-L).

    Raises:
        Nothing (keys are checked when the config is validated).
    """
    if key != "auto":
        return key
    env = single_env(transitions)
    if role.writes_state:
        return headline_fwm(env or "", modality)
    return "idm/grounded_accuracy" if env in APPLY else "idm/rouge_l"


def single_env(transitions: Sequence[Transition]) -> str | None:
    """The one environment name of ``transitions``, or ``None`` when they mix several (or are empty)."""
    envs = {t.env for t in transitions}
    return envs.pop() if len(envs) == 1 else None


def grounded(apply: Callable[[str, str], str], x: str, z: str, y: str) -> bool:
    """Whether action ``z`` taken in state ``x`` reproduces ``y`` under the environment's ``apply``; an
    action ``apply`` cannot parse (``ValueError``) does not."""
    try:
        return apply(x, z) == y
    except ValueError:  # an unparseable predicted action does not reproduce the transition
        return False


def noop_prediction(env: str | None, x: str) -> str:
    """The no-op rule's next state: ``apply(x, no-op)`` in environment ``env`` (its passive dynamics); ``x``
    itself when ``env`` has no no-op action or cannot parse ``x``."""
    if env not in NOOP_ACTION:
        return x
    try:
        return APPLY[env](x, NOOP_ACTION[env])
    except ValueError:  # a state the environment cannot parse stays as it is
        return x


def frame_field_accuracy(env: str, modality: ImageModality, predictions: Sequence[str],
                         sources: Sequence[str]) -> float:
    """Field accuracy (0..1, micro-averaged over the true states' fields) of image-state predictions read
    back into the scene's objects: each prediction decoded to a frame and read by environment ``env``'s
    ``read_frame`` hook, against the fields of the true state ``sources`` (the scene text behind each
    reference, :func:`~swirl_wm.records.original_state`).

    Raises:
        KeyError: ``env`` has no ``read_frame`` or no ``state_fields`` hook; ValueError: lengths differ, or
            a source the environment cannot parse.
    """
    frames = modality.to_image(predictions)
    read = [READ_FRAME[env](frame, source) for frame, source in zip(frames, sources, strict=True)]
    # field_accuracy reads states as text: the fields read from each frame travel to it as JSON
    return field_accuracy([json.dumps(f) for f in read], [json.dumps(STATE_FIELDS[env](s)) for s in sources],
                          json.loads)["field_accuracy"]


def state_metrics(prefix: str, env: str | None, predictions: Sequence[str], refs: Sequence[str],
                  config: EvalConfig, embedding: bool | None = None,
                  priors: Sequence[str] | None = None, modality: StateModality = TEXT,
                  sources: Sequence[str] | None = None) -> dict[str, float]:
    """Metrics of predicted states against true ones, keys ``<prefix>/<metric>``.

    The state modality's metrics (:mod:`swirl_wm.modality`; text: exact match, BLEU, ROUGE-L, and JSON
    field F1 over the references that are JSON objects or arrays; image states: code metrics, PSNR, SSIM
    and, given ``priors``, changed-cell accuracy and unchanged cells broken); per-field accuracy where environment
    ``env`` parses its states, and, given the prior states ``priors`` where ``env`` also has a no-op action,
    effect accuracy (:func:`~swirl_wm.metrics.effect_accuracy`: the fields the action changed, and its
    complement ``passive_accuracy``); for image states of an environment that reads its frames
    (``read_frame``), given the true states as the environment wrote them (``sources``), field accuracy of
    the decoded predictions (:func:`frame_field_accuracy`, overall only); embedding similarity when
    ``embedding`` (default ``config.embedding_similarity``). Units as :func:`prediction_metrics`.

    Raises:
        ValueError: lengths differ or are 0.
    """
    if len(predictions) != len(refs) or not refs:
        raise ValueError(f"{len(predictions)} predictions for {len(refs)} references")
    metrics = {f"{prefix}/{k}": v for k, v in modality.metrics(predictions, refs, priors).items()}
    if env in STATE_FIELDS and modality.native:  # the environment reads its own text states
        metrics |= {f"{prefix}/{k}": v for k, v in field_accuracy(predictions, refs, STATE_FIELDS[env]).items()}
        if priors is not None and env in NOOP_ACTION:
            rule = [noop_prediction(env, x) for x in priors]
            for name, measure in (("effect_accuracy", effect_accuracy), ("passive_accuracy", passive_accuracy)):
                value = measure(predictions, refs, rule, STATE_FIELDS[env])
                if value is not None:
                    metrics[f"{prefix}/{name}"] = value
    elif sources is not None and env in READ_FRAME and env in STATE_FIELDS and isinstance(modality, ImageModality):
        metrics[f"{prefix}/field_accuracy"] = frame_field_accuracy(env, modality, predictions, sources)
    if config.embedding_similarity if embedding is None else embedding:
        metrics[f"{prefix}/embedding_similarity"] = embedding_similarity(predictions, refs, config.batch_size)
    return metrics


def action_metrics(prefix: str, transitions: Sequence[Transition], predictions: Sequence[str],
                   config: EvalConfig) -> dict[str, float]:
    """Metrics of predicted actions against the gold ones, keys ``<prefix>/<metric>``: exact match, BLEU,
    ROUGE-L, grounded accuracy where the environment executes actions, embedding similarity (optional).

    Raises:
        ValueError: lengths differ, or a transition has no gold action.
    """
    if any(t.z is None for t in transitions) or len(transitions) != len(predictions):
        raise ValueError("action metrics need one prediction per transition and the gold action of every one")
    refs = [t.z for t in transitions]
    metrics = {f"{prefix}/exact_match": exact_match(predictions, refs), f"{prefix}/bleu": bleu(predictions, refs),
               f"{prefix}/rouge_l": rouge_l(predictions, refs)}
    env = single_env(transitions)
    if env in APPLY:
        hits = [grounded(APPLY[env], original_state(t, "x"), z, original_state(t, "y"))
                for t, z in zip(transitions, predictions, strict=True)]
        metrics[f"{prefix}/grounded_accuracy"] = sum(hits) / len(hits)
    if config.embedding_similarity:
        metrics[f"{prefix}/embedding_similarity"] = embedding_similarity(predictions, refs, config.batch_size)
    return metrics


def prediction_metrics(role: Role | str, transitions: Sequence[Transition], predictions: Sequence[str],
                       config: EvalConfig, modality: StateModality = TEXT) -> dict[str, float]:
    """Metrics of the predictions of ``role`` (a :class:`~swirl_wm.records.Role` or its name) against the
    transitions' references (keys ``<role>/...``).

    Every role and environment: exact match, BLEU, ROUGE-L, and, when ``config.embedding_similarity``
    is on, embedding similarity. FWM (:func:`state_metrics`): per-field accuracy where the environment
    parses states; JSON field F1 over the transitions whose reference ``y`` is a JSON object or array (all
    of BFCL's states but those cut by :mod:`swirl_wm.data.truncate`, which are left out of this one
    metric), present when at least one is. IDM (:func:`action_metrics`): grounded accuracy where the
    environment executes actions. Fractions (exact match, field accuracy, JSON field F1, grounded
    accuracy) in 0..1, BLEU/ROUGE-L in 0..100, embedding similarity in −100..100 (100 × cosine).

    Args:
        predictions: one generated ``y`` (FWM) or ``z`` (IDM) per transition.

    Raises:
        ValueError: lengths differ, or a transition has no gold action; an unknown role.
    """
    role = Role.of(role)
    if any(t.z is None for t in transitions):
        raise ValueError(f"{role.name.upper()} evaluation needs the gold action of every transition")
    if role.writes_state:
        return state_metrics(role.name, single_env(transitions), predictions, [t.y for t in transitions], config,
                             priors=[t.x for t in transitions], modality=modality,
                             sources=[original_state(t, "y") for t in transitions])
    return action_metrics(role.name, transitions, predictions, config)


def evaluate_role(role: Role | str, scorer: Scorer, transitions: Sequence[Transition], config: EvalConfig
                  ) -> tuple[dict[str, float], list[str]]:
    """Metrics of one role (a :class:`~swirl_wm.records.Role` or its name) on labelled transitions (keys
    ``<role>/...``) and its greedy predictions, within the role's budget
    (:meth:`~swirl_wm.records.Role.max_new_tokens` of ``config``).

    The metrics of :func:`prediction_metrics` on the greedy predictions, plus, for the FWM, the
    log-likelihood of the true ``y`` (nats per token, the same scorer as the rewards).

    Raises:
        ValueError: a transition has no gold action; an unknown role.
    """
    role = Role.of(role)
    if any(t.z is None for t in transitions):
        raise ValueError(f"{role.name.upper()} evaluation needs the gold action of every transition")
    tokenizer = scorer.tokenizer
    forward = role.writes_state
    prompts = [role_prompt(tokenizer, role, t, scorer.prompt_format) for t in transitions]
    preds = generate(scorer.model, tokenizer, prompts, role.max_new_tokens(config), batch_size=config.batch_size,
                     desc="FWM next states" if forward else "IDM actions",
                     suppress_tokens=scorer.suppressed_tokens(role))
    fmt = scorer.prompt_format
    well_formed = None
    if forward and fmt.fwm_target == "changes":  # the next states the patches describe (model.fwm_target)
        well_formed = sum(is_patch(t.x, p) for t, p in zip(transitions, preds, strict=True)) / max(len(preds), 1)
        preds = [fmt.next_state(t.x, p) for t, p in zip(transitions, preds, strict=True)]
    metrics = prediction_metrics(role, transitions, preds, config, fmt.state_modality)
    if well_formed is not None:
        metrics["fwm/well_formed"] = well_formed
    if forward:
        loglik = scorer(prompts, [fmt.target(role, t) for t in transitions], desc="FWM log-likelihood")
        metrics["fwm/log_likelihood"] = sum(loglik) / len(loglik)
    return metrics, preds
