"""The FWM's ``changes`` target (``model.fwm_target: changes``): for JSON states the FWM writes only what the
action changed, a JSON merge patch of ``x`` (RFC 7386), and the predicted next state is ``x`` with the
patch applied. Not in the paper, measured on BFCL: a small FWM that must copy a 500-character tool-calling state
token by token to change one field of it learns to copy, or memorises; the patch is a few dozen tokens.

The patch is RFC 7386's with one change, so that every pair of JSON documents has one: RFC 7386 writes a
removed key as ``null`` and so cannot set a value to ``null`` (a tool that returns ``None``: 8 % of BFCL's
transitions); here a ``null`` is a value like any other and an object's removed keys are listed under the
reserved key ``"$delete"`` (``{"$delete": ["user"], "return": null}``). Objects are patched key by key,
recursively; any other value (an array, a string, a number) is replaced whole.

The next state is written in ``x``'s own JSON style (key order sorted or as found, compact or spaced
separators; new keys after the old), so that a patch that reproduces ``y`` reproduces its text too
(:func:`check_changes` measures it).
"""

from __future__ import annotations

import json
from typing import Any

DELETE = "$delete"
# Sorted first: a document whose keys are in sorted order at every level was most likely written sorted.
_STYLES = [(sort, seps) for sort in (True, False) for seps in ((",", ":"), (", ", ": "))]


def _dumps(value: Any, sort_keys: bool = False, separators: tuple[str, str] = (",", ":")) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, separators=separators)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (``1`` is not ``true`` and not ``1.0``, unlike Python's ``==``)."""
    return _dumps(a, sort_keys=True) == _dumps(b, sort_keys=True)


def merge_patch(old: Any, new: Any) -> Any:
    """The patch that turns the JSON value ``old`` into ``new`` (see the module docstring): ``{}`` when they
    are equal; ``new`` itself when either is not an object.

    >>> merge_patch({"cwd": "/a", "user": "hi"}, {"cwd": "/a/b", "return": None})
    {'$delete': ['user'], 'cwd': '/a/b', 'return': None}

    Raises:
        ValueError: an object of either uses the reserved key ``"$delete"``.
    """
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    if DELETE in old or DELETE in new:
        raise ValueError(f"a JSON object with the key {DELETE!r}, which the FWM's changes target reserves")
    patch: dict[str, Any] = {}
    removed = [k for k in old if k not in new]
    if removed:
        patch[DELETE] = removed
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif not _same(old[key], value):
            patch[key] = merge_patch(old[key], value)
    return patch


def apply_patch(old: Any, patch: Any) -> Any:
    """``old`` with ``patch`` applied (the inverse of :func:`merge_patch`: ``apply_patch(a, merge_patch(a, b))
    == b`` for JSON values without the reserved key); a non-object patch replaces ``old``; an object patch on
    a non-object starts from ``{}``.

    Raises:
        ValueError: a ``"$delete"`` entry that is not a list of strings.
    """
    if not isinstance(patch, dict):
        return patch
    out = dict(old) if isinstance(old, dict) else {}
    removed = patch.get(DELETE, [])
    if not isinstance(removed, list) or not all(isinstance(k, str) for k in removed):
        raise ValueError(f"{DELETE!r} must list the removed keys as strings, got {removed!r}")
    for key in removed:
        out.pop(key, None)
    for key, value in patch.items():
        if key != DELETE:
            out[key] = apply_patch(out.get(key), value)
    return out


def state_changes(x: str, y: str) -> str:
    """The FWM's target for the transition ``x → y``: :func:`merge_patch` of the two JSON states, as compact
    JSON (``"{}"``: nothing changed).

    Raises:
        ValueError: ``x`` or ``y`` is not JSON, or uses the reserved key.
    """
    return _dumps(merge_patch(_load(x, "x"), _load(y, "y")))


def apply_changes(x: str, changes: str) -> str:
    """The next state that a generated ``changes`` text describes: ``x`` with the patch applied, written in
    ``x``'s JSON style.

    Raises:
        ValueError: ``x`` or ``changes`` is not JSON, or the patch is malformed.
    """
    old = _load(x, "x")
    new = apply_patch(old, _load(changes, "the changes"))
    sort_keys, separators = next(((s, p) for s, p in _STYLES if _dumps(old, s, p) == x), _STYLES[2])
    return _dumps(new, sort_keys, separators)


def is_patch(x: str, changes: str) -> bool:
    """Whether a generated ``changes`` text is a well-formed patch of ``x`` (:func:`apply_changes` reads it)."""
    try:
        apply_changes(x, changes)
    except ValueError:
        return False
    return True


def check_changes(x: str, y: str) -> str | None:
    """Why ``y`` cannot be the FWM's ``changes`` target from ``x`` (not JSON, the reserved key, or the
    patch does not rebuild ``y``'s text), or ``None`` when it can."""
    try:
        rebuilt = apply_changes(x, state_changes(x, y))
    except ValueError as err:
        return str(err)
    return None if rebuilt == y else "the patched state differs from y in its JSON layout (key order or spacing)"


def _load(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise ValueError(f"{name} is not JSON ({err.msg} at char {err.pos})") from None
