"""Text metrics that compare generated states or actions with references, and a mean ± 95 % CI summary.

Every metric takes two equally long lists of strings — ``predictions`` (what a role generated: ``ŷ`` for
the FWM, ``z`` for the IDM) and ``references`` (the logged ``y`` or ``z``) — and returns one corpus-level
number. Fractions (exact match, field accuracy, JSON field F1) are in [0, 1]; BLEU and ROUGE-L are in
[0, 100], as the SWIRL paper reports them. BLEU and ROUGE-L come from sacrebleu and rouge-score, never
from a reimplementation, so the numbers are comparable with published ones. The embedding similarity,
which needs a sentence-embedding model, lives in :mod:`swirl_wm.evaluation.embedding`.
"""

from __future__ import annotations

import functools
import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import sacrebleu


@functools.cache
def _rouge_l_scorer() -> Any:
    """rouge-score's ROUGE-L scorer, built on first use: rouge_score imports nltk, which takes about a second
    and a half, so a process that scores nothing (``swirl config show``) does not pay for it."""
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


# Object keys written bare in a JSON leaf path; any other key (``"report.txt"``, ``"0"``, ``""``) is
# written quoted, ``["report.txt"]``, so that no two leaves share a path.
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_lengths(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references differ in length: {len(predictions)} predictions vs "
            f"{len(references)} references; pass one prediction per reference, in the same order"
        )


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of predictions equal to their reference after stripping surrounding whitespace.

    Args:
        predictions: generated texts, one per reference.
        references: reference texts.

    Returns:
        The fraction in [0, 1]; 0.0 for empty input.

    Raises:
        ValueError: if the two lists differ in length.

    Source: the strictest world-model metric; SWIRL §4 reports it alongside BLEU and ROUGE-L for
    short textual states.
    """
    _check_lengths(predictions, references)
    if not references:
        return 0.0
    hits = sum(p.strip() == r.strip() for p, r in zip(predictions, references, strict=True))
    return hits / len(references)


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU of the predictions against one reference each (sacrebleu defaults).

    sacrebleu's defaults are kept (13a tokenisation, 4-gram, exponential smoothing) so the score is
    comparable with published numbers. One consequence: a corpus whose texts are all shorter than four
    tokens has no 4-grams and scores 0 even when every prediction is exact.

    Args:
        predictions: generated texts, one per reference.
        references: reference texts.

    Returns:
        BLEU in [0, 100]; 0.0 for empty input.

    Raises:
        ValueError: if the two lists differ in length.

    Source: StableToolBench convention — BLEU for tool outputs; SWIRL §4 reports BLEU (tools) and
    ROUGE-L (text environments).
    """
    _check_lengths(predictions, references)
    if not references:
        return 0.0
    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)]).score)


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """ROUGE-L F-measure of each prediction against its reference, averaged over the pairs.

    rouge-score (no stemming) scores a pair 0 when either side has no alphanumeric token, even when both
    sides are identical (for example both empty). A pair whose stripped texts are identical therefore
    scores 100, which is what rouge-score gives for every identical pair that has tokens.

    Args:
        predictions: generated texts, one per reference.
        references: reference texts.

    Returns:
        Mean ROUGE-L F-measure in [0, 100]; 0.0 for empty input.

    Raises:
        ValueError: if the two lists differ in length.

    Source: SWIRL §4 (ScienceWorld and Mind2Web are scored with ROUGE-L); rouge-score's ``rougeL``.
    """
    _check_lengths(predictions, references)
    if not references:
        return 0.0
    total = 0.0
    for prediction, reference in zip(predictions, references, strict=True):
        if prediction.strip() == reference.strip():
            total += 1.0
        else:
            total += _rouge_l_scorer().score(reference, prediction)["rougeL"].fmeasure
    return 100.0 * total / len(references)


def field_accuracy(
    predictions: Sequence[str],
    references: Sequence[str],
    fields_of: Callable[[str], dict[str, str]],
) -> dict[str, float]:
    """Fraction of reference state fields that the prediction reproduces exactly, overall and per kind.

    Each state is flattened into named fields by ``fields_of`` (for example ``{"ball.pos": "3,4"}``).
    Every field of every reference counts once; it is right when the prediction's fields hold the same
    name with an equal value. A field missing from the prediction is wrong, and so is every field of a
    prediction that ``fields_of`` rejects with ``ValueError`` (malformed generated text). Fields that
    only the prediction has are ignored. The *kind* of a field is the part of its name after the last
    ``"."`` (``"ball.pos"`` → ``"pos"``); a name without a dot is its own kind.

    Args:
        predictions: generated states, one per reference.
        references: reference states; ``fields_of`` must accept every one of them.
        fields_of: flattens a state's text into ``{field name: value}``; may raise ``ValueError`` on
            text it cannot parse.

    Returns:
        ``{"field_accuracy": micro-average over all reference fields, "field_accuracy/<kind>": accuracy
        over the fields of that kind, ...}``, fractions in [0, 1]. With no reference fields (including
        empty input) the result is ``{"field_accuracy": 0.0}``.

    Raises:
        ValueError: if the two lists differ in length, or ``fields_of`` rejects a reference.

    Source: a per-field view of the FWM's next-state prediction for structured states (this project);
        the micro-average weights every field equally.
    """
    _check_lengths(predictions, references)
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for prediction, reference in zip(predictions, references, strict=True):
        expected = fields_of(reference)
        try:
            predicted = fields_of(prediction)
        except ValueError:
            predicted = {}
        for name, value in expected.items():
            kind = name.rsplit(".", 1)[-1]
            total[kind] += 1
            right[kind] += predicted.get(name) == value
    n_fields = sum(total.values())
    result = {"field_accuracy": sum(right.values()) / n_fields if n_fields else 0.0}
    for kind in sorted(total):
        result[f"field_accuracy/{kind}"] = right[kind] / total[kind]
    return result


def effect_accuracy(
    predictions: Sequence[str],
    references: Sequence[str],
    passive: Sequence[str],
    fields_of: Callable[[str], dict[str, str]],
) -> float | None:
    """Fraction of the action's effects that the prediction reproduces: accuracy over the reference fields
    whose value differs from the ``passive`` state's (the environment's no-op step from the same prior).

    :func:`field_accuracy` counts every field, and most fields follow the passive dynamics whatever the
    action (physics: 83 % of the test fields), so a model that ignores ``z`` scores high there. This metric
    keeps only the fields the action decided (physics: a heated temperature, a pushed or stopped velocity
    and the position it moves to): the no-op rule scores 0 on it by construction, and it measures whether
    the FWM uses the action at all. A field missing from the prediction, or a prediction ``fields_of``
    rejects, is wrong.

    Args:
        predictions, references, passive: one state text each per transition; ``passive[i]`` is the no-op
            rule's next state from the same prior state as ``references[i]``.
        fields_of: as :func:`field_accuracy`.

    Returns:
        The fraction in [0, 1], or ``None`` when no reference field differs from the passive state (every
        action was a no-op).

    Raises:
        ValueError: if the lists differ in length, or ``fields_of`` rejects a reference or passive state.

    Source: this project: Phase I's reward can only reward what identifies the action, so the fields the
    action decided are scored apart from those a no-op rule already gets right.
    """
    return _accuracy_where(predictions, references, passive, fields_of, changed=True)


def passive_accuracy(
    predictions: Sequence[str],
    references: Sequence[str],
    passive: Sequence[str],
    fields_of: Callable[[str], dict[str, str]],
) -> float | None:
    """The complement of :func:`effect_accuracy`: accuracy over the reference fields whose value equals the
    ``passive`` state's (the fields the action left to the passive dynamics). The no-op rule scores 1 on it
    by construction; a model that applies an action's effect to a field it did not touch (the other
    object's velocity after a push) loses here. Arguments, return (``None``: no such field) and errors as
    :func:`effect_accuracy`.

    Source: this project: shows what Phase I trades for the effects that :func:`effect_accuracy` counts.
    """
    return _accuracy_where(predictions, references, passive, fields_of, changed=False)


def _accuracy_where(predictions: Sequence[str], references: Sequence[str], passive: Sequence[str],
                    fields_of: Callable[[str], dict[str, str]], changed: bool) -> float | None:
    _check_lengths(predictions, references)
    _check_lengths(passive, references)
    right = total = 0
    for prediction, reference, rule in zip(predictions, references, passive, strict=True):
        expected, unmoved = fields_of(reference), fields_of(rule)
        try:
            predicted = fields_of(prediction)
        except ValueError:
            predicted = {}
        for name, value in expected.items():
            if (unmoved.get(name) != value) == changed:
                total += 1
                right += predicted.get(name) == value
    return right / total if total else None


def json_leaves(document: Any, path: str = "") -> set[tuple[str, str]]:
    """The ``(path, value)`` leaf pairs of a parsed JSON document.

    A path names object keys with ``.`` and array positions with ``[i]``: ``a.b[2].c``. A key that is not
    a plain name (letters, digits, ``_``; not starting with a digit) is written quoted, ``a["report.txt"]``,
    so a key holding a dot cannot be mistaken for nesting. A value is a leaf when it is a scalar, or an
    empty object or array below the root, written as canonical JSON (``json.dumps``: ``1`` and ``1.0``,
    ``"1"`` and ``1``, ``true`` and ``1`` all differ). An empty object or array at the root has no leaves;
    a scalar at the root is the single leaf at path ``""``.

    Args:
        document: a value as ``json.loads`` returns it (dict, list, str, int, float, bool or None).
        path: the path of ``document`` inside an enclosing document; ``""`` for the root.

    Returns:
        The set of leaf pairs, e.g. ``{("a.b[0]", "1"), ("a.b[1].c", "true")}`` for
        ``{"a": {"b": [1, {"c": true}]}}``.

    Raises:
        Nothing for values that ``json.loads`` returns.

    Source: this project (field-level view of JSON states, such as BFCL's tool-call states).
    """
    if isinstance(document, dict) and (document or not path):
        leaves: set[tuple[str, str]] = set()
        for key, value in document.items():
            if _BARE_KEY.fullmatch(key):
                name = f"{path}.{key}" if path else key
            else:
                name = f"{path}[{json.dumps(key, ensure_ascii=False)}]"
            leaves |= json_leaves(value, name)
        return leaves
    if isinstance(document, list) and (document or not path):
        return set().union(*(json_leaves(value, f"{path}[{i}]") for i, value in enumerate(document)))
    return {(path, json.dumps(document, ensure_ascii=False))}


def json_field_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Leaf-level F1 between JSON predictions and JSON references, averaged over the pairs.

    Each text is parsed with ``json.loads`` and flattened by :func:`json_leaves` into a set of
    ``(path, value)`` leaves. Per pair, with ``m`` leaves in both sets: precision ``m / |pred|``, recall
    ``m / |ref|``, F1 ``2m / (|pred| + |ref|)``. Two documents without leaves (``{}``, ``[]``) score 1; a
    prediction that is not valid JSON scores 0. Key order and whitespace do not matter; array order does
    (a position is part of the path).

    Args:
        predictions: generated JSON texts, one per reference; any text, invalid JSON scores 0.
        references: reference JSON texts; every one must parse.

    Returns:
        Mean F1 in [0, 1]; 0.0 for empty input.

    Raises:
        ValueError: if the two lists differ in length, or a reference is not valid JSON (the message names
            its 0-based index).

    Source: this project: a graded form of an all-or-nothing state comparison such as BFCL multi-turn's
        state check (every attribute of every API instance equal to the ground truth's), with F1 over
        leaves as in information retrieval, averaged over the pairs like :func:`rouge_l`.
    """
    _check_lengths(predictions, references)
    total = 0.0
    for i, (prediction, reference) in enumerate(zip(predictions, references, strict=True)):
        try:
            expected = json_leaves(json.loads(reference))
        except ValueError as err:
            raise ValueError(f"reference {i} is not valid JSON ({err}); json_field_f1 needs JSON references, "
                             f"got {reference[:80]!r}") from err
        try:
            predicted = json_leaves(json.loads(prediction))
        except ValueError:  # malformed generated JSON matches nothing
            continue
        size = len(predicted) + len(expected)
        total += 2 * len(predicted & expected) / size if size else 1.0
    return total / len(references) if references else 0.0


def summarise(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of its two-sided 95 % confidence interval (Student's t, sample std).

    The interval is ``mean ± t_{0.975, n-1} · s / √n``, with ``s`` the sample standard deviation
    (n − 1 in the denominator); ``t`` is Student's quantile for every n (``scipy.stats.t``).

    Args:
        values: one number per independent run (for example one test score per seed), any unit.

    Returns:
        ``(mean, half_width)`` in the unit of ``values``. A single value gives ``(value, nan)``, since
        one run says nothing about the spread; no values give ``(nan, nan)``.

    Raises:
        Nothing for finite input; NaN in ``values`` propagates into the result.

    Source: the standard t-interval for a mean (e.g. NIST/SEMATECH e-Handbook §7.2.2.1); benchmark
        runs report mean ± 95 % CI over seeds.
    """
    if not values:
        return math.nan, math.nan
    mean = statistics.fmean(values)
    if len(values) == 1:
        return mean, math.nan
    import scipy.stats  # on use: scipy.stats takes about half a second to import

    t = float(scipy.stats.t.ppf(0.975, len(values) - 1))
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))
