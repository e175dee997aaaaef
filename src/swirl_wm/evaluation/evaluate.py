"""Evaluate an FWM and an IDM on held-out transitions with their gold actions (SWIRL §4).

FWM (``P_θ(y | x, z)`` with the gold z, greedy): exact match, BLEU, ROUGE-L, log-likelihood of the true y
(mean nats per token, the same scorer as the rewards), and per-field accuracy where the environment can
parse its states. IDM (``Q_φ(z | x, y)``, greedy): exact match, BLEU and ROUGE-L against the gold action,
and, where the environment can execute an action on a rendered state, **grounded accuracy**:
``apply(x, ẑ) == y``, i.e. the predicted action, whatever its wording, reproduces the transition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from swirl_wm.config import EvalConfig
from swirl_wm.envs import physics
from swirl_wm.evaluation.metrics import bleu, exact_match, field_accuracy, rouge_l
from swirl_wm.models.generation import generate
from swirl_wm.models.prompts import Role, build_prompt
from swirl_wm.models.scoring import Scorer
from swirl_wm.records import Transition

# Environment hooks: parse a state into fields, and execute an action on a rendered state.
STATE_FIELDS: dict[str, Callable[[str], dict[str, str]]] = {"physics": physics.state_fields}
APPLY: dict[str, Callable[[str, str], str]] = {"physics": physics.apply}


def _single_env(transitions: Sequence[Transition]) -> str | None:
    envs = {t.env for t in transitions}
    return envs.pop() if len(envs) == 1 else None


def _grounded(apply: Callable[[str, str], str], x: str, z: str, y: str) -> bool:
    try:
        return apply(x, z) == y
    except ValueError:  # an unparseable predicted action does not reproduce the transition
        return False


def evaluate_role(role: Role, scorer: Scorer, transitions: Sequence[Transition], config: EvalConfig
                  ) -> tuple[dict[str, float], list[str]]:
    """Metrics of one role on labelled transitions (keys ``<role>/...``) and its greedy predictions.

    FWM: generates ``y`` from ``(x, z)``; adds the log-likelihood of the true ``y`` and, where the
    environment parses states, per-field accuracy. IDM: generates ``z`` from ``(x, y)``; adds grounded
    accuracy where the environment executes actions. Fractions are in 0..1, BLEU/ROUGE-L in 0..100,
    log-likelihood in nats per token.

    Raises:
        ValueError: a transition has no gold action.
    """
    if any(t.z is None for t in transitions):
        raise ValueError(f"{role.upper()} evaluation needs the gold action of every transition")
    tokenizer = scorer.tokenizer
    forward = role == "fwm"
    prompts = [build_prompt(tokenizer, role, t.x, t.z if forward else t.y) for t in transitions]
    refs = [t.y if forward else t.z for t in transitions]
    budget = config.max_new_tokens_state if forward else config.max_new_tokens_action
    preds = generate(scorer.model, tokenizer, prompts, budget, batch_size=config.batch_size,
                     desc="FWM next states" if forward else "IDM actions")
    metrics = {f"{role}/exact_match": exact_match(preds, refs), f"{role}/bleu": bleu(preds, refs),
               f"{role}/rouge_l": rouge_l(preds, refs)}
    env = _single_env(transitions)
    if forward:
        loglik = scorer(prompts, refs)
        metrics["fwm/log_likelihood"] = sum(loglik) / len(loglik)
        if env in STATE_FIELDS:
            metrics |= {f"fwm/{k}": v for k, v in field_accuracy(preds, refs, STATE_FIELDS[env]).items()}
    elif env in APPLY:
        hits = [_grounded(APPLY[env], t.x, z, t.y) for t, z in zip(transitions, preds, strict=True)]
        metrics["idm/grounded_accuracy"] = sum(hits) / len(hits)
    return metrics, preds
