"""The metric glossary: every metric key a run reports, its unit and direction and the order tables show them
in, in one place. Evaluation, phase selection, the config's check of ``eval.select_*_by``, the reports, the
plots and the benchmark tables read this one table. The headline metric of each environment is a fact of the
environment's registry line (:func:`swirl_wm.envs.registry.headline_fwm`); the default is here.

A key is ``<role>/<metric>[/<detail>]``: the role is ``fwm``, ``idm``, ``cycle`` (FWM after IDM, no labels),
``wm`` (an agent policy as a world model), ``agent`` or ``rl``; the detail is a breakdown such as a field
kind (``fwm/field_accuracy/pos``) or a task type (``agent/success_rate/cool``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["fraction", "score", "nats/token", "cosine", "dB", "index", "reward", "steps", "seconds", "MB",
               "cells"]


@dataclass(frozen=True)
class Metric:
    """One metric: ``unit`` (``fraction``: in [0, 1], shown in %, changes in percentage points; ``score``:
    BLEU / ROUGE-L on 0–100; ``nats/token``: a mean token log-probability; ``cosine``: 100 × cosine in
    −100..100; ``dB``: PSNR; ``index``: SSIM in −1..1; ``cells``: image code cells per frame; ``reward``, ``steps``,
    ``seconds``, ``MB``: as named),
    whether higher is better, the roles it is reported under, and what it measures."""

    unit: Unit
    higher_is_better: bool
    roles: tuple[str, ...]
    meaning: str


_STATES = ("fwm", "cycle")
METRICS: dict[str, Metric] = {  # in the order tables show them
    "exact_match": Metric("fraction", True, ("fwm", "idm", "cycle", "wm"), "prediction equals the reference"),
    "bleu": Metric("score", True, ("fwm", "idm", "cycle"), "sacreBLEU against the reference"),
    "rouge_l": Metric("score", True, ("fwm", "idm", "cycle", "wm"), "ROUGE-L F-measure against the reference"),
    "log_likelihood": Metric("nats/token", True, _STATES, "mean token log-probability of the true y"),
    "field_accuracy": Metric("fraction", True, _STATES, "state fields reproduced (physics, shapes; image states: "
                             "read from the decoded frame)"),
    "effect_accuracy": Metric("fraction", True, ("fwm",), "fields the action changed, reproduced (physics)"),
    "passive_accuracy": Metric("fraction", True, ("fwm",), "fields the action left alone, reproduced (physics)"),
    "grounded_accuracy": Metric("fraction", True, ("idm",), "apply(x, predicted z) == y (physics)"),
    "ssim": Metric("index", True, _STATES, "SSIM of the decoded frame against the true codes' (image states)"),
    "psnr": Metric("dB", True, _STATES, "PSNR of the decoded frame against the true codes' (image states)"),
    "code_accuracy": Metric("fraction", True, _STATES, "image code cells reproduced (image states)"),
    "code_match": Metric("fraction", True, _STATES, "every image code reproduced (image states)"),
    "changed_cell_accuracy": Metric("fraction", True, ("fwm",), "image code cells the action changed, reproduced "
                                    "(image states; copying x scores 0)"),
    "unchanged_cells_broken": Metric("cells", False, ("fwm",), "image code cells the action left alone, got wrong, "
                                     "per frame (image states; copying x scores 0)"),
    "well_formed": Metric("fraction", True, _STATES, "<boi>, a full grid of codes, <eoi> (image states); a "
                          "patch of x (model.fwm_target: changes)"),
    # the rest in alphabetical order
    "embedding_similarity": Metric("cosine", True, ("fwm", "idm"), "all-MiniLM-L6-v2 cosine × 100"),
    "json_field_f1": Metric("fraction", True, _STATES, "F1 of JSON leaves (tool outputs)"),
    "mean_return": Metric("reward", True, ("agent",), "episode return"),
    "mean_steps": Metric("steps", False, ("agent",), "actions per episode"),
    "mixed_groups": Metric("fraction", True, ("rl",), "GRPO groups with mixed outcomes (a non-zero advantage), "
                           "mean over generation batches"),
    "peak_rss_mb": Metric("MB", False, ("rl",), "peak resident memory"),
    "seconds_per_step": Metric("seconds", False, ("rl",), "wall time per RL step"),
    "success_rate": Metric("fraction", True, ("agent",), "episodes won"),
    "train_success_rate": Metric("fraction", True, ("agent",), "episodes won on the first eval.train_tasks train "
                                 "tasks"),
}

# The FWM's headline metric where an environment names none (a user's own logs included): ROUGE-L, which SWIRL §4
# reports for text environments (ScienceWorld, Mind2Web).
DEFAULT_HEADLINE_FWM = "fwm/rouge_l"

# Validation metrics that may pick the best phase (``eval.select_*_by``): what every SWIRL phase reports.
SELECTABLE = tuple(f"{role}/{name}" for role in ("fwm", "idm", "cycle") for name, m in METRICS.items()
                   if role in m.roles)


def metric_name(key: str) -> str:
    """``"fwm/field_accuracy/pos"`` → ``"field_accuracy"`` (a key without a role is its own name)."""
    parts = key.split("/")
    return parts[1] if len(parts) > 1 else parts[0]


def metric(key: str) -> Metric | None:
    """The glossary entry of ``key`` (``None`` for a key it does not know)."""
    return METRICS.get(metric_name(key))


def is_fraction(key: str) -> bool:
    """Whether ``key`` is stored in [0, 1] and shown in % (its changes in percentage points)."""
    entry = metric(key)
    return entry is not None and entry.unit == "fraction"


def better(key: str, a: float, b: float) -> bool:
    """Whether value ``a`` of ``key`` is strictly better than ``b`` (lower is better for costs such as
    ``agent/mean_steps``; unknown keys count higher as better)."""
    entry = metric(key)
    return a > b if entry is None or entry.higher_is_better else a < b


def glossary_rows(keys: list[str]) -> list[tuple[str, str, str, str]]:
    """``(metric, unit, better, meaning)`` for each distinct metric among ``keys`` that the glossary knows, in
    table order: the legend a report prints under its tables."""
    names = sorted({metric_name(k) for k in keys if metric(k) is not None}, key=table_rank)
    return [(n, METRICS[n].unit, "higher" if METRICS[n].higher_is_better else "lower", METRICS[n].meaning)
            for n in names]


def table_rank(key: str) -> int:
    """Position of ``key``'s metric in table column order (unknown metrics after every known one)."""
    names = list(METRICS)
    name = metric_name(key)
    return names.index(name) if name in names else len(names)
