"""Import tau-bench airline trajectories as tool-call transitions ``(x, z, y)``.

Source: github.com/sierra-research/tau-bench, ``historical_trajectories/gpt-4o-airline.json`` (commit
``59a200c``; docs/environments.md): a JSON list of episodes ``{task_id, reward, info, traj,
trial}``; ``traj`` is an OpenAI chat log of ``system``, ``user``, ``assistant`` (text and/or
``tool_calls``) and ``tool`` messages (``tool_call_id``, ``name``, ``content``).

Rules:

- **One transition per environment tool call**: ``z`` is the call rendered as ``name({json args})``
  (the arguments re-serialised by ``json.dumps`` in the agent's key order), ``y`` the tool's output as
  the log holds it.
- **x is the whole log before the tool's answer**, one line per message: ``user: ...``,
  ``assistant: ...`` (the text of an assistant message, also when it carries tool calls),
  ``call: name({...})`` and ``tool[name]: output`` for each earlier call and its result. The whole history
  is kept because the database state the tool reads was set by earlier calls and named in earlier turns
  (user id, reservation ids); when it is too long, :mod:`swirl_wm.data.truncate` keeps its head (the
  request) and its tail (the latest turns). Left out of x: the system message (the airline policy, the
  same ~6,000 characters in every episode: instructions to the agent, not state) and ``think`` calls (the
  agent's private notes; their output is always empty).
- **Not environment steps** (:data:`NOT_ENV_STEPS`): ``think``, ``calculate`` (a calculator) and
  ``transfer_to_human_agents`` (ends the dialogue) give no transition; ``calculate`` and the transfer
  still appear in later x. A call whose output is empty or blank is skipped too (the JSONL schema
  forbids empty states; none occurs in the recorded file). An episode left with no transition is skipped.
  All skips are counted and logged.
- **Tool calls**: in the recorded file ``tool_calls`` is a JSON list of ``{id, type, function: {name,
  arguments}}`` with ``arguments`` a JSON string. A ``tool_calls`` given as a string (a Python repr of
  that list, as tau-bench's other logs store it) is parsed with :func:`ast.literal_eval`, never ``eval``.
  Every call must be answered by a ``tool`` message with its id and name before the next
  user/assistant message.

Errors raise :class:`~swirl_wm.data.jsonl.DataError` whose ``line`` is the 1-based line on which the
episode's element starts (the file is pretty-printed, so an episode spans many lines) and whose
``field`` is a path inside the episode such as ``traj[6].tool_calls[0].function.arguments``.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from swirl_wm.data.jsonl import DataError, read_utf8, reject_lone_surrogates
from swirl_wm.data.truncate import count_truncated, truncate_episode
from swirl_wm.records import Episode, Transition

logger = logging.getLogger(__name__)

ENV = "tau-bench"
NOT_ENV_STEPS = frozenset({"think", "calculate", "transfer_to_human_agents"})
_ROLES = ("system", "user", "assistant", "tool")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")  # the four whitespace characters of JSON (RFC 8259 §2)

Where = tuple[str, int]


def _elements(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, element)`` for each element of the file's top-level JSON list."""
    name = os.fspath(path)
    text = read_utf8(path)
    decoder = json.JSONDecoder()
    pos = _JSON_SPACE.match(text).end()
    line, counted = 1 + text.count("\n", 0, pos), pos
    if not text.startswith("[", pos):
        raise DataError(name, line, "", "expected a JSON list of episodes, starting with '['")
    pos = _JSON_SPACE.match(text, pos + 1).end()
    if text.startswith("]", pos):
        raise DataError(name, line, "", "the list holds no episodes")
    while True:
        line, counted = line + text.count("\n", counted, pos), pos
        start = pos
        try:
            element, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            raise DataError(name, err.lineno, "", f"invalid JSON ({err.msg} at column {err.colno})") from None
        except ValueError as err:  # an integer of more digits than Python converts
            raise DataError(name, line, "", f"unreadable JSON ({err})"[:200]) from None
        except RecursionError:
            raise DataError(name, line, "", "JSON nested too deeply") from None
        reject_lone_surrogates(element, text[start:pos], (name, line))
        yield line, element
        pos = _JSON_SPACE.match(text, pos).end()
        if text.startswith(",", pos):
            pos = _JSON_SPACE.match(text, pos + 1).end()
        elif text.startswith("]", pos) and not text[pos + 1:].strip(" \t\n\r"):
            return
        else:
            where = line + text.count("\n", counted, pos)
            raise DataError(name, where, "", "expected ',' or a final ']' after an episode")


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: Where, prefix: str) -> Any:
    """``obj[key]`` checked against ``kind`` (bool is never an int here)."""
    if key not in obj:
        raise DataError(*where, prefix + key, "missing")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DataError(*where, prefix + key, f"expected {names}, got {type(value).__name__}")
    return value


def _calls(value: Any, where: Where, field: str) -> list[tuple[str, str, str]]:
    """Parse an assistant message's ``tool_calls`` into ``(id, name, "name({json args})")`` triples."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)  # a Python repr of the list; eval would run code
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise DataError(*where, field, "a string that is not a Python literal of a list of calls") from None
    if not isinstance(value, list) or not value:
        raise DataError(*where, field, f"expected a non-empty list of tool calls, got {type(value).__name__}")
    calls = []
    for k, call in enumerate(value):
        prefix = f"{field}[{k}]."
        if not isinstance(call, dict):
            raise DataError(*where, prefix[:-1], f"expected an object, got {type(call).__name__}")
        call_id = _get(call, "id", str, where, prefix)
        function = _get(call, "function", dict, where, prefix)
        name = _get(function, "name", str, where, prefix + "function.")
        arguments = _get(function, "arguments", str, where, prefix + "function.")
        try:
            args = json.loads(arguments)
        except (ValueError, RecursionError):
            raise DataError(*where, prefix + "function.arguments", "not valid JSON") from None
        reject_lone_surrogates(args, arguments, where, prefix + "function.arguments")
        if not isinstance(args, dict):
            raise DataError(*where, prefix + "function.arguments", "expected a JSON object of arguments")
        calls.append((call_id, name, f"{name}({json.dumps(args, ensure_ascii=False)})"))
    return calls


def _episode(obj: Any, where: Where, skipped: Counter[str]) -> Episode:
    """One episode's transitions (possibly none); ``skipped`` counts the calls left out by rule."""
    if not isinstance(obj, dict):
        raise DataError(*where, "", f"expected an episode object, got {type(obj).__name__}")
    task_id, trial = _get(obj, "task_id", int, where, ""), _get(obj, "trial", int, where, "")
    reward = _get(obj, "reward", (int, float), where, "")
    traj = _get(obj, "traj", list, where, "")
    episode_id = f"{ENV}-{task_id}-{trial}"
    history: list[str] = []
    pending: dict[str, tuple[str, str]] = {}  # call id -> (tool name, rendered call)
    transitions: list[Transition] = []
    for i, message in enumerate(traj):
        prefix = f"traj[{i}]."
        if not isinstance(message, dict):
            raise DataError(*where, prefix[:-1], f"expected a message object, got {type(message).__name__}")
        role = message.get("role")
        if role not in _ROLES:
            raise DataError(*where, prefix + "role", f"expected one of {', '.join(_ROLES)}, got {role!r}")
        if role != "tool" and pending:
            raise DataError(*where, prefix + "role", f"tool call {next(iter(pending))!r} has no tool message "
                            f"before this {role} message")
        if role == "user":
            history.append(f"user: {_get(message, 'content', str, where, prefix)}")
        elif role == "assistant":
            text = message.get("content")
            if text is not None and not isinstance(text, str):
                raise DataError(*where, prefix + "content", f"expected a string or null, got {type(text).__name__}")
            if text and text.strip():
                history.append(f"assistant: {text}")
            if message.get("tool_calls") is not None:
                for call_id, name, call in _calls(message["tool_calls"], where, prefix + "tool_calls"):
                    if call_id in pending:
                        raise DataError(*where, prefix + "tool_calls", f"two calls share the id {call_id!r}")
                    pending[call_id] = (name, call)
        elif role == "tool":
            call_id = _get(message, "tool_call_id", str, where, prefix)
            if call_id not in pending:
                raise DataError(*where, prefix + "tool_call_id", f"no open tool call has the id {call_id!r}")
            name, call = pending.pop(call_id)
            if message.get("name") != name:
                raise DataError(*where, prefix + "name", f"expected {name!r} (the call's name), "
                                f"got {message.get('name')!r}")
            output = _get(message, "content", str, where, prefix)
            if name in NOT_ENV_STEPS:
                skipped[name] += 1
            elif not output.strip():
                skipped["empty output"] += 1
            elif not history:
                raise DataError(*where, prefix[:-1], "a tool call before any dialogue (x would be empty)")
            else:
                meta = {"source": Path(where[0]).name, "line": where[1], "task_id": task_id, "trial": trial,
                        "reward": reward, "message": i}
                transitions.append(Transition(x="\n".join(history), z=call, y=output, episode_id=episode_id,
                                              step=len(transitions), env=ENV, meta=meta))
            if name != "think":
                history += [f"call: {call}", f"tool[{name}]: {output}"]
    if pending:
        raise DataError(*where, "traj", f"tool call {next(iter(pending))!r} has no tool message")
    return Episode(episode_id=episode_id, env=ENV, transitions=tuple(transitions))


def import_episodes(path: Path, max_state_chars: int = 2000) -> list[Episode]:
    """Read a tau-bench trajectory file (the module docstring's rules) into episodes.

    Args:
        path: the JSON file, e.g. ``shared/data/tau_bench_airline/gpt-4o-airline.json``.
        max_state_chars: budget per state text; longer ``x``/``y`` are cut by
            :func:`swirl_wm.data.truncate.truncate_text` (≥ 100).

    Returns:
        One episode per trajectory with at least one environment tool call, in file order, id
        ``tau-bench-{task_id}-{trial}``; each transition's ``meta`` holds ``source``, ``line``, ``task_id``,
        ``trial``, ``reward`` (the episode's), ``message`` (index of the tool message in ``traj``) and
        ``truncated``.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is not a JSON list of well-formed episodes, two episodes share
            ``(task_id, trial)``, or no transition is left (line 0).
        ValueError: ``max_state_chars`` is below 100.

    Source: docs/environments.md, recorded data sets (what a transition is); the module docstring (rules chosen here).
    """
    skipped: Counter[str] = Counter()
    episodes: list[Episode] = []
    seen: set[str] = set()
    n_empty = 0
    for line, obj in _elements(path):
        episode = _episode(obj, (os.fspath(path), line), skipped)
        if episode.episode_id in seen:
            raise DataError(os.fspath(path), line, "trial", f"a second episode {episode.episode_id!r} "
                            "(task_id and trial must be unique)")
        seen.add(episode.episode_id)
        if episode.transitions:
            episodes.append(truncate_episode(episode, max_state_chars))
        else:
            n_empty += 1
    n = sum(len(e) for e in episodes)
    if not n:
        raise DataError(os.fspath(path), 0, "", "no environment tool call in the file: no transitions")
    logger.info("%s: %d episodes, %d transitions from %d tool calls; skipped calls %s; %d episodes without an "
                "environment call skipped; %d transitions with a state cut to %d chars", path, len(episodes), n,
                n + sum(skipped.values()), dict(sorted(skipped.items())), n_empty, count_truncated(episodes),
                max_state_chars)
    return episodes
