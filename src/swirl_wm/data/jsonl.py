"""JSONL reading and writing of transitions and episodes.

Schema (one JSON object per line, UTF-8; blank lines are ignored). A line is either a **transition**::

    {"episode_id": "physics-0-00003", "step": 0, "env": "physics",
     "x": "<prior state>", "z": "<action or null>", "y": "<next state>", "meta": {...}}

or a whole **episode**::

    {"episode_id": "physics-0-00003", "env": "physics",
     "transitions": [{"x": ..., "z": ..., "y": ..., "meta": {...}}, ...]}

or an **episode of states** (the form state-only logs usually take)::

    {"episode_id": "run-7", "env": "web", "states": [s0, s1, ..., sT], "actions": [a0, ..., aT-1] or null,
     "meta": {...}}

which expands into the transitions ``(s_t, a_t, s_{t+1})``, ``t = 0 … T-1``: ``states`` is a list of at
least two non-empty strings; ``actions`` is absent, ``null`` (a state-only episode), or a list of exactly
``len(states) - 1`` entries, each a string or ``null`` (an unlabelled step).

Required: ``x`` and ``y`` (non-empty strings) and ``episode_id`` (non-empty string). Optional: ``z``
(string or null/absent = unlabelled), ``step`` (int ≥ 0; inside an episode line the position is used),
``env`` (string, default ""), ``meta`` (object, default {}). Unknown top-level keys are an error, so a
misspelt field is never silently ignored.

Sources whose fields have other names are read through a column map (``data.columns`` in a run config,
:class:`ColumnMap`): it renames source keys to these fields before validation and lists the source keys to
ignore. Every reading error raises :class:`DataError` naming the file, the 1-based line (the 1-based row
for tables, :mod:`swirl_wm.data.tables`) and the field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from swirl_wm.files import atomic_write_text
from swirl_wm.records import Episode, Transition

PARQUET_MAGIC = b"PAR1"  # the first (and last) four bytes of a Parquet file
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # JSON's escape of a UTF-16 surrogate half (RFC 8259 §7)
_TRANSITION_KEYS = {"episode_id", "step", "env", "x", "z", "y", "meta"}
_EPISODE_KEYS = {"episode_id", "env", "transitions"}
_INNER_KEYS = {"step", "x", "z", "y", "meta"}
_STATES_KEYS = {"episode_id", "env", "states", "actions", "meta"}
RECORD_FIELDS = _TRANSITION_KEYS | _EPISODE_KEYS | _STATES_KEYS  # the fields of any of the three forms


def form_problem(keys: Iterable[str]) -> str | None:
    """What a record (or a table's columns) with these keys lacks to be one of the three forms (a transition,
    an episode with ``transitions``, an episode of ``states``); None when it is one."""
    keys = set(keys)
    if "episode_id" not in keys:
        return "no episode_id"
    if "states" in keys or "transitions" in keys:
        return None
    if "actions" in keys:
        return "'actions' without 'states' (an episode of states needs both)"
    missing = [k for k in ("x", "y") if k not in keys]
    return f"neither states nor transitions, and no {' and '.join(missing)}" if missing else None


class ColumnMap(BaseModel):
    """Names of the schema's fields in a source that names them otherwise (``data.columns``).

    Each field holds the *source* key (JSONL key or table column) that carries it; ``None`` keeps the
    schema's own name. ``ignore`` lists source keys to drop (extra table columns such as a reward): any
    other unknown key stays an error, so that a misspelt action column never turns labelled data into
    state-only data silently.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    episode_id: str | None = Field(None, description="source key of the episode id")
    step: str | None = Field(None, description="source key of the step index")
    env: str | None = Field(None, description="source key of the environment name")
    x: str | None = Field(None, description="source key of the prior state")
    z: str | None = Field(None, description="source key of the action (null = unlabelled)")
    y: str | None = Field(None, description="source key of the next state")
    meta: str | None = Field(None, description="source key of the extras object")
    states: str | None = Field(None, description="source key of an episode's list of states")
    actions: str | None = Field(None, description="source key of an episode's list of actions")
    ignore: tuple[str, ...] = Field((), description="source keys to drop before validation")

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record with source keys renamed to the schema's and ignored keys dropped (a new dict)."""
        renames = {src: name for name, src in self.model_dump(exclude={"ignore"}).items() if src}
        return {renames.get(k, k): v for k, v in record.items() if k not in self.ignore}


@dataclass
class DataError(ValueError):
    """A malformed input record. ``str()`` reads ``file:line: field 'f': message``."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: field '{self.field}': {self.message}" if self.field else f"{where}: {self.message}"


def read_utf8(path: str | os.PathLike[str]) -> str:
    """The whole file as text.

    Raises:
        FileNotFoundError: no such file.
        DataError: the bytes are not UTF-8 (names the line of the first bad byte).
    """
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataError(os.fspath(path), line, "", f"not valid UTF-8 (byte {err.start})") from None


def _require_text(obj: dict[str, Any], key: str, where: tuple[str, int], prefix: str = "") -> str:
    if key not in obj:
        raise DataError(*where, prefix + key, "missing (required, a non-empty string)")
    value = obj[key]
    if not isinstance(value, str):
        raise DataError(*where, prefix + key, f"expected a string, got {type(value).__name__}")
    if not value.strip():
        raise DataError(*where, prefix + key, "empty state/text is not allowed")
    return value


def _transition(obj: Any, where: tuple[str, int], episode_id: str, env: str, step: int,
                prefix: str = "") -> Transition:
    if not isinstance(obj, dict):
        raise DataError(*where, prefix.rstrip("."), f"expected a JSON object, got {type(obj).__name__}")
    allowed = _INNER_KEYS if prefix else _TRANSITION_KEYS
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise DataError(*where, prefix + unknown[0], f"unknown field (allowed: {', '.join(sorted(allowed))})")
    x = _require_text(obj, "x", where, prefix)
    y = _require_text(obj, "y", where, prefix)
    z = obj.get("z")
    if z is not None and not isinstance(z, str):
        raise DataError(*where, prefix + "z", f"expected a string or null, got {type(z).__name__}")
    if "step" in obj and not prefix:
        step = obj["step"]
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise DataError(*where, "step", f"expected an integer >= 0, got {step!r}")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise DataError(*where, prefix + "meta", f"expected a JSON object, got {type(meta).__name__}")
    return Transition(x=x, z=z, y=y, episode_id=episode_id, step=step, env=env, meta=meta)


def _header(obj: dict[str, Any], where: tuple[str, int]) -> tuple[str, str]:
    episode_id = _require_text(obj, "episode_id", where)
    env = obj.get("env", "")
    if not isinstance(env, str):
        raise DataError(*where, "env", f"expected a string, got {type(env).__name__}")
    return episode_id, env


def _states_episode(obj: dict[str, Any], where: tuple[str, int], episode_id: str, env: str) -> list[Transition]:
    unknown = sorted(set(obj) - _STATES_KEYS)
    if unknown:
        raise DataError(*where, unknown[0], f"unknown field in an episode of states (allowed: {sorted(_STATES_KEYS)})")
    if "states" not in obj:
        raise DataError(*where, "states", "missing: a record with 'actions' is an episode of states, which needs "
                                          "'states', a list of at least two states")
    states = obj["states"]
    if not isinstance(states, list) or len(states) < 2:
        raise DataError(*where, "states", "expected a list of at least two states (one transition per pair)")
    for i, s in enumerate(states):
        if not isinstance(s, str):
            raise DataError(*where, f"states[{i}]", f"expected a string, got {type(s).__name__}")
        if not s.strip():
            raise DataError(*where, f"states[{i}]", "empty state/text is not allowed")
    actions = obj.get("actions")
    if actions is None:
        actions = [None] * (len(states) - 1)
    if not isinstance(actions, list) or len(actions) != len(states) - 1:
        got = f"{len(actions)} entries" if isinstance(actions, list) else type(actions).__name__
        raise DataError(*where, "actions", f"expected null or a list of {len(states) - 1} actions (one per pair of "
                                           f"consecutive states), got {got}")
    for i, a in enumerate(actions):
        if a is not None and not isinstance(a, str):
            raise DataError(*where, f"actions[{i}]", f"expected a string or null, got {type(a).__name__}")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise DataError(*where, "meta", f"expected a JSON object, got {type(meta).__name__}")
    return [Transition(x=states[i], z=actions[i], y=states[i + 1], episode_id=episode_id, step=i, env=env,
                       meta=meta) for i in range(len(states) - 1)]


def parse_record(obj: Any, where: tuple[str, int], columns: ColumnMap | None = None) -> list[Transition]:
    """The transitions of one record (a transition, an episode, or an episode of states).

    Args:
        obj: the decoded record (a JSON object, or a table row as a dict).
        where: ``(file, 1-based line or row)`` for error messages.
        columns: renames and ignored keys applied before validation.

    Raises:
        DataError: not an object, or a field missing, unknown, of the wrong type or empty.
    """
    if not isinstance(obj, dict):
        raise DataError(*where, "", f"expected a JSON object per line, got {type(obj).__name__}")
    if columns is not None:
        obj = columns.apply(obj)
    episode_id, env = _header(obj, where)
    if "states" in obj or "actions" in obj:  # 'actions' belongs to this form only: its 'states' may be missing
        return _states_episode(obj, where, episode_id, env)
    if "transitions" not in obj:
        return [_transition(obj, where, episode_id, env, step=0)]
    unknown = sorted(set(obj) - _EPISODE_KEYS)
    if unknown:
        raise DataError(*where, unknown[0], f"unknown field in an episode line (allowed: {sorted(_EPISODE_KEYS)})")
    items = obj["transitions"]
    if not isinstance(items, list) or not items:
        raise DataError(*where, "transitions", "expected a non-empty list of transitions")
    return [_transition(item, where, episode_id, env, step=i, prefix=f"transitions[{i}].")
            for i, item in enumerate(items)]


def loads(text: str, where: tuple[str, int]) -> Any:
    """One JSON value of a user's file, every failure a :class:`DataError` at ``where``.

    Raises:
        DataError: invalid JSON; an integer of more digits than Python converts (4,300) or nesting deeper than
            its recursion limit, which ``json`` raises as ValueError and RecursionError; a ``\\u`` escape of a
            lone UTF-16 surrogate, which decodes to no character and could not be written back as UTF-8 (the
            run folder's splits, ``swirl data import``'s output).
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(*where, "", f"invalid JSON ({err.msg} at column {err.colno})") from None
    except ValueError as err:
        raise DataError(*where, "", f"unreadable JSON ({err})"[:200]) from None
    except RecursionError:
        raise DataError(*where, "", "JSON nested too deeply") from None
    reject_lone_surrogates(obj, text, where)
    return obj


def reject_lone_surrogates(obj: Any, text: str, where: tuple[str, int], field: str = "") -> None:
    """Raise :class:`DataError` when ``obj``, decoded from the JSON ``text``, holds a lone UTF-16 surrogate
    (``\\ud800``): no character, and no UTF-8 file could hold it."""
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as err:
            raise DataError(*where, field, f"a \\u escape of a lone UTF-16 surrogate "
                            f"({err.object[err.start:err.end]!r}), which is no character") from None


def _parse_line(text: str, where: tuple[str, int], columns: ColumnMap | None) -> list[Transition]:
    return parse_record(loads(text, where), where, columns)


def iter_transitions(path: str | os.PathLike[str], columns: ColumnMap | None = None) -> Iterator[Transition]:
    """Yield the transitions of a JSONL file in file order (episode lines are flattened).

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: a line is not valid JSON or a field is missing, of the wrong type or empty.
    """
    name = os.fspath(path)
    with open(name, "rb") as handle:  # binary: lines end at "\n" only, as JSONL defines
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(PARQUET_MAGIC):
                raise DataError(name, 1, "", "a Parquet file, not JSONL: set data.env: parquet")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(name, number, "", f"not valid UTF-8 (byte {err.start})") from None
            if text.strip():
                yield from _parse_line(text, (name, number), columns)


def read_transitions(path: str | os.PathLike[str], columns: ColumnMap | None = None) -> list[Transition]:
    """Read every transition of a JSONL file (see the module docstring for the schema).

    Args:
        columns: source key names, for files whose fields are not named as the schema's.

    Raises:
        FileNotFoundError, DataError: as :func:`iter_transitions`; also DataError when the file holds no
            transition at all (line 0).
    """
    transitions = list(iter_transitions(path, columns))
    if not transitions:
        raise DataError(os.fspath(path), 0, "", "the file holds no transitions")
    return transitions


def group_episodes(transitions: Iterable[Transition]) -> list[Episode]:
    """Group transitions into episodes by ``episode_id`` (first-seen order), ordered by ``step``."""
    groups: dict[str, list[Transition]] = {}
    for t in transitions:
        groups.setdefault(t.episode_id, []).append(t)
    return [Episode(episode_id=eid, env=ts[0].env, transitions=tuple(sorted(ts, key=lambda t: t.step)))
            for eid, ts in groups.items()]


def transition_to_dict(t: Transition) -> dict[str, Any]:
    """The JSON object of one transition line (the module docstring's schema)."""
    return {"episode_id": t.episode_id, "step": t.step, "env": t.env, "x": t.x, "z": t.z, "y": t.y,
            "meta": dict(t.meta)}


def write_transitions(path: str | os.PathLike[str], transitions: Iterable[Transition]) -> Path:
    """Write transitions, one per line, atomically (temporary file in the same folder + rename).

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(transition_to_dict(t), ensure_ascii=False) + "\n" for t in transitions]
    return atomic_write_text(target, "".join(lines))


def write_episodes(path: str | os.PathLike[str], episodes: Iterable[Episode]) -> Path:
    """Write episodes as transition lines (one transition per line), atomically."""
    return write_transitions(path, (t for e in episodes for t in e.transitions))
