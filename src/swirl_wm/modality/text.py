"""Text states (the default modality): any string; cut in the middle beyond the run's budget
(:func:`~swirl_wm.data.truncate.truncate_text`); the IDM's list of changes is field-level between two JSON
documents (:func:`json_diff`), word-level otherwise (:func:`state_diff`); compared by exact match, BLEU,
ROUGE-L and, over JSON documents, JSON field F1 (:mod:`swirl_wm.metrics`); no added tokens and no decoding
constraint."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence

from swirl_wm.data.truncate import truncate_text
from swirl_wm.metrics import bleu, exact_match, json_field_f1, json_leaves, rouge_l
from swirl_wm.records import Role

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _numeric_deltas(old: list[str], new: list[str]) -> list[str]:
    """``["temp -10"]`` for ``["temp=80"] -> ["temp=70"]``: the signed change of each number in a word whose
    text around its numbers stayed the same, named by the text before the number (words aligned one to one)."""
    if len(old) != len(new):
        return []
    deltas = []
    for u, v in zip(old, new, strict=True):
        if _NUMBER.sub("#", u) != _NUMBER.sub("#", v):
            continue
        for mu, mv in zip(_NUMBER.finditer(u), _NUMBER.finditer(v), strict=True):
            change = float(mv.group()) - float(mu.group())
            if change:
                name = u[: mu.start()].strip("=:([{ ")
                deltas.append(f"{name} {change:+g}".lstrip())
    return deltas


def state_diff(x: str, y: str, context: int = 3) -> str:
    """The word-level changes from ``x`` to ``y``: each changed run of whitespace-separated words as
    ``<up to `context` words before it> [old words -> new words]``, followed by the signed change of each
    number whose word otherwise stayed the same, ``(temp -10)``; runs joined by ``"; "``; ``"none"`` when
    the two states have the same words.

    A small model reads the direction of a change from the sign far more easily than by comparing digit
    tokens (measured: without the deltas a 4-layer IDM named the object right but answered 'heat' for
    every 'cool' and 'push right' for every 'push left').

    >>> state_diff("tin: pos=5 vel=0 temp=80", "tin: pos=5 vel=0 temp=70")
    'tin: pos=5 vel=0 [temp=80 -> temp=70] (temp -10)'
    """
    a, b = x.split(), y.split()
    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            before = " ".join(a[max(0, i1 - context):i1])
            deltas = _numeric_deltas(a[i1:i2], b[j1:j2])
            part = f"{before} [{' '.join(a[i1:i2])} -> {' '.join(b[j1:j2])}]".lstrip()
            parts.append(f"{part} ({', '.join(deltas)})" if deltas else part)
    return "; ".join(parts) if parts else "none"


def json_diff(x: str, y: str) -> str:
    """The field-level changes from one JSON document to another: each leaf (``json_leaves``' paths and
    canonical values) that changed as ``path: old -> new``, with the signed change when both are numbers
    (``path: 3 -> 5 (+2)``); a new leaf as ``+path = value``; a removed one as ``-path``; in path order,
    joined by ``"; "``; ``"none"`` when the leaves are equal.

    Tool outputs and API states are JSON without spaces, where the word-level :func:`state_diff` sees one
    word for the whole document (BFCL's states, for instance).

    >>> json_diff('{"cwd": "/a", "n": 3, "user": "hi"}', '{"cwd": "/a/b", "n": 5, "return": true}')
    'cwd: "/a" -> "/a/b"; n: 3 -> 5 (+2); +return = true; -user'

    Raises:
        ValueError: ``x`` or ``y`` is not JSON (callers check with :func:`is_json_document`).
    """
    old, new = dict(json_leaves(json.loads(x))), dict(json_leaves(json.loads(y)))
    parts = []
    for path in sorted(old.keys() | new.keys()):
        if path not in new:
            parts.append(f"-{path}")
        elif path not in old:
            parts.append(f"+{path} = {new[path]}")
        elif old[path] != new[path]:
            part = f"{path}: {old[path]} -> {new[path]}"
            numbers = [_NUMBER.fullmatch(v) for v in (old[path], new[path])]
            if all(numbers):
                part += f" ({float(new[path]) - float(old[path]):+g})"
            parts.append(part)
    return "; ".join(parts) if parts else "none"


def is_json_document(text: str) -> bool:
    """True when ``text`` is a JSON object or array (a bare number or string is not a structured state)."""
    try:
        return isinstance(json.loads(text), dict | list)
    except ValueError:
        return False


class TextModality:
    """Text states: see the module docstring. Stateless; use :data:`TEXT`."""

    name = "text"
    native = True

    def check(self, state: str) -> str | None:
        return None  # any string is a text state (the readers already refuse empty and non-string ones)

    def truncate(self, state: str, max_chars: int) -> tuple[str, bool]:
        return truncate_text(state, max_chars)

    def diff(self, x: str, y: str) -> str:
        return json_diff(x, y) if is_json_document(x) and is_json_document(y) else state_diff(x, y)

    def added_tokens(self) -> tuple[str, ...]:
        return ()

    def suppressed_tokens(self, vocabulary: Mapping[str, int], role: Role) -> list[int]:
        return []

    def metrics(self, predictions: Sequence[str], references: Sequence[str],
                priors: Sequence[str] | None = None) -> dict[str, float]:
        """Exact match (0..1), BLEU and ROUGE-L (0..100); JSON field F1 (0..1) over the
        references that are JSON objects or arrays, left out when none is. ``priors`` are not read: what an
        action changed in a text state is measured by the environment's fields (effect accuracy).

        Raises:
            ValueError: the lists differ in length.
        """
        out = {"exact_match": exact_match(predictions, references), "bleu": bleu(predictions, references),
               "rouge_l": rouge_l(predictions, references)}
        structured = [i for i, r in enumerate(references) if is_json_document(r)]
        if structured:
            out["json_field_f1"] = json_field_f1([predictions[i] for i in structured],
                                                 [references[i] for i in structured])
        return out


TEXT = TextModality()
