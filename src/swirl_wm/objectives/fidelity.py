"""The fidelity term of the Phase I reward: how much of the observed next state a generated one reproduces.

Phase I's reward ``log Q_φ(z | x, ŷ)`` (SWIRL §3.3) pays only for what makes the action identifiable: the
fields an action decides. Fields that follow the passive dynamics whatever the action (a moving object's
position, a cooling temperature) carry no information about z, so the reward is blind to them and Phase I
lets them drift. Every unlabelled pair carries its observed next state y, so a label-free term can pay for
those too: ``r = log Q_φ(z | x, ŷ) + α · F(ŷ, y)`` with F the environment's state metric of one pair, in
[0, 1]. Not in the paper; this project's design.

F by what the states are:

- an environment that parses its states into fields (``state_fields``: physics): the fraction of y's
  fields that ŷ reproduces (:func:`~swirl_wm.metrics.field_accuracy` of the one pair);
- JSON states (tool calls): JSON leaf F1 (:func:`~swirl_wm.metrics.json_field_f1`);
- image states (inline codes): the fraction of y's codes that ŷ has at the same position;
- other text: ROUGE-L F-measure / 100.
"""

from __future__ import annotations

from collections.abc import Callable

from swirl_wm.metrics import field_accuracy, json_field_f1, rouge_l
from swirl_wm.modality import StateModality
from swirl_wm.modality.image import ImageModality
from swirl_wm.modality.text import is_json_document

Fidelity = Callable[[str, str], float]


def state_fidelity(modality: StateModality, fields_of: Callable[[str], dict[str, str]] | None = None) -> Fidelity:
    """The per-pair state metric ``F(ŷ, y) ∈ [0, 1]`` for states of ``modality``.

    Args:
        modality: the run's state modality.
        fields_of: the environment's ``state_fields`` hook, or ``None``; used only for native (text) states.

    Returns:
        ``F(prediction, reference)``; a prediction that cannot be parsed scores 0, a reference that cannot be
        parsed as fields falls back to the text metric.
    """
    if isinstance(modality, ImageModality):
        return modality.code_accuracy
    if fields_of is not None and modality.native:
        return lambda prediction, reference: _fields(fields_of, prediction, reference)
    return _text_fidelity


def _fields(fields_of: Callable[[str], dict[str, str]], prediction: str, reference: str) -> float:
    try:
        return field_accuracy([prediction], [reference], fields_of)["field_accuracy"]
    except ValueError:  # a reference the environment does not parse: score it as text
        return _text_fidelity(prediction, reference)


def _text_fidelity(prediction: str, reference: str) -> float:
    if is_json_document(reference):
        return json_field_f1([prediction], [reference])
    return rouge_l([prediction], [reference]) / 100.0
