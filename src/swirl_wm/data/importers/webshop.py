"""Import the ReAct WebShop run log as page transitions ``(x, z, y)``.

Source: github.com/ysymyth/ReAct, ``WebShop.ipynb`` cell 7 (commit ``6bdb3a1``; docs/environments.md):
the printed stdout of a text-davinci-002 ReAct agent shopping in the real WebShop simulator, 500 episodes
on goals ``fixed_0`` .. ``fixed_499``. The log reads (lines are compared without trailing spaces)::

    -----------------                 17 dashes: an episode starts
    <index>                           0, 1, ...: WebShop goal fixed_<index>
    Action: reset
    Observation:                      the start page: Webshop / Instruction: / <instruction> / [Search]
    ...
    Action: <action>
    Observation: <observation>        may continue over the following lines
    ...
    <n> <avg score> <success rate> <fail rate>     the run's summary after n episodes
    -------------                     13 dashes: the episode ends

Between episodes only number lines may stand (the log ends with the run's overall summary).

Rules:

- **A transition is a** ``search[...]`` **or** ``click[...]`` **that led to a page**: ``z`` is the action,
  ``y`` the page, ``x`` the current page (the last page logged, starting with the reset's start page).
  The start page shows the instruction; any other page gets it as a first line ``Instruction: ...`` so
  that every ``x`` names the goal. Pages are normalised: trailing spaces cut, blank lines at the ends
  removed. The end page of ``click[Buy Now]`` is logged by the wrapper as ``Your score (min 0.0, max
  1.0): s`` and kept as ``y``: it is what the simulator answered, and the score depends on the state.
- ``think[...]`` (observation ``OK.``) is the agent's reasoning, not an environment step: skipped.
- ``Invalid action!``: the wrapper refused the action (e.g. ``Next >`` on a search page) and
  the page stayed as it was; the step is dropped, as it shows no transition.
- ``You have clicked <option>.``: the simulator rendered the item page with the option selected, but the
  wrapper printed this message instead and the page was not logged. The step is dropped rather than
  given the message (an artefact of the wrapper, not a state) or a page nobody recorded; later ``x``
  show the item page as last logged, without the selection.
- An empty observation (5 ``click[Buy Now]`` whose end page showed no score; 2 ``search`` whose query,
  holding a ``#``, came back as an empty page) leaves the current page unknown: that step is dropped
  (states must not be empty) and so are the episode's later search/click steps (their ``x`` would be a
  guess).
- An episode left with no transition is skipped. Every skip is counted and logged.

A page line that itself began with ``Action:`` or was a line of 13 or 17 dashes would be misread as
structure; none is in the log.
Errors raise :class:`~swirl_wm.data.jsonl.DataError` with the 1-based line of the file.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from swirl_wm.data.jsonl import DataError, read_utf8
from swirl_wm.data.truncate import count_truncated, truncate_episode
from swirl_wm.records import Episode, Transition

logger = logging.getLogger(__name__)

ENV = "webshop"
_OPEN, _CLOSE = "-" * 17, "-" * 13
_NUMBERS = re.compile(r"[0-9.]+( [0-9.]+)+")  # the run's summary lines
_INDEX = re.compile(r"[0-9]+")
_ENV_ACTION = re.compile(r"(search|click)\[(.*)\]", re.DOTALL)
_SCORE = "Your score (min 0.0, max 1.0):"


@dataclass(frozen=True)
class _Step:
    line: int  # 1-based line of "Action:"
    action: str
    observation: str


def _steps(lines: list[str], start: int, end: int, name: str) -> list[_Step]:
    """The Action/Observation pairs of ``lines[start:end]`` (0-based; the summary line excluded)."""
    heads = [k for k in range(start, end) if lines[k].startswith("Action:")]
    stray = next((k for k in range(start, heads[0] if heads else end) if lines[k]), None)
    if stray is not None:
        raise DataError(name, stray + 1, "action", f"expected 'Action: ...', got {lines[stray][:60]!r}")
    steps = []
    for k, stop in zip(heads, [*heads[1:], end], strict=True):
        if k + 1 >= stop or not lines[k + 1].startswith("Observation:"):
            raise DataError(name, k + 1, "observation", "expected an 'Observation: ...' line after the action")
        observation = "\n".join([lines[k + 1].removeprefix("Observation:"), *lines[k + 2:stop]]).strip()
        steps.append(_Step(k + 1, lines[k].removeprefix("Action:").strip(), observation))
    return steps


def _blocks(lines: list[str], name: str) -> list[tuple[int, int, list[_Step]]]:
    """``(line of the index, index, steps)`` of each episode block, in file order."""
    blocks, k = [], 0
    while k < len(lines):
        if lines[k] != _OPEN:
            if lines[k] and not _NUMBERS.fullmatch(lines[k]):
                raise DataError(name, k + 1, "", f"unexpected text outside an episode (expected {_OPEN!r}): "
                                f"{lines[k][:60]!r}")
            k += 1
            continue
        end = next((j for j in range(k + 1, len(lines)) if lines[j] in (_OPEN, _CLOSE)), None)
        if end is None or lines[end] != _CLOSE:
            raise DataError(name, k + 1, "", f"episode not closed by {_CLOSE!r} before the next one or the end")
        if k + 1 == end or not _INDEX.fullmatch(lines[k + 1]):
            raise DataError(name, k + 2, "index", "expected the episode index (digits) after the opening line")
        last = max(j for j in range(k + 1, end) if lines[j])  # the summary line, if the block has one
        if last == k + 1 or not _NUMBERS.fullmatch(lines[last]):
            raise DataError(name, last + 1, "summary", "expected the run summary line (numbers) before "
                            f"{_CLOSE!r}")
        blocks.append((k + 2, int(lines[k + 1]), _steps(lines, k + 2, last, name)))
        k = end + 1
    return blocks


def _instruction(page: str) -> str | None:
    """The instruction shown on the start page (the line after ``Instruction:``), else None."""
    rows = page.split("\n")
    k = next((k for k, row in enumerate(rows) if row.strip() == "Instruction:"), None)
    if k is None or k + 1 == len(rows):
        return None
    return rows[k + 1].strip() or None


def _skip_rule(step: _Step, name: str) -> str | None:
    """Which rule drops ``step`` (``None``: it is a transition); malformed steps raise DataError."""
    if step.action.startswith("think["):
        if step.observation != "OK.":
            raise DataError(name, step.line, "observation", f"a think step must answer 'OK.', got "
                            f"{step.observation[:60]!r}")
        return "think"
    if step.observation == "Invalid action!":
        return "invalid action"
    match = _ENV_ACTION.fullmatch(step.action)
    if match is None:
        raise DataError(name, step.line, "action", f"expected search[...], click[...], think[...] or an "
                        f"'Invalid action!', got {step.action[:60]!r}")
    if step.observation.startswith("You have clicked "):
        if step.observation != f"You have clicked {match.group(2)}.":
            raise DataError(name, step.line, "observation", f"{step.observation[:60]!r} does not echo the "
                            "clicked option")
        return "option click"
    return None if step.observation else "empty observation"


def _episode(index: int, steps: list[_Step], where: tuple[str, int], skipped: Counter[str]) -> Episode:
    """One episode's transitions (possibly none); ``where`` is (file, line of the index)."""
    name, episode_id = where[0], f"{ENV}-{index}"
    if not steps or steps[0].action != "reset":
        raise DataError(*where, "action", f"episode {index} must start with 'Action: reset'")
    instruction = _instruction(steps[0].observation)
    if instruction is None:
        raise DataError(name, steps[0].line, "observation", "the reset page has no 'Instruction:' line "
                        "followed by the instruction")
    page: str | None = steps[0].observation  # None: unknown since an empty observation
    transitions: list[Transition] = []
    for step in steps[1:]:
        if step.action == "reset":
            raise DataError(name, step.line, "action", "'reset' inside an episode")
        if page is not None and page.startswith(_SCORE):
            raise DataError(name, step.line, "action", "a step after the episode ended with a score")
        rule = _skip_rule(step, name)
        if rule is None and page is None:
            rule = "after an empty observation"
        if rule is not None:
            skipped[rule] += 1
            page = None if rule == "empty observation" else page
            continue
        x = page if _instruction(page) else f"Instruction: {instruction}\n{page}"
        meta = {"source": Path(name).name, "line": step.line, "goal": f"fixed_{index}"}
        transitions.append(Transition(x=x, z=step.action, y=step.observation, episode_id=episode_id,
                                      step=len(transitions), env=ENV, meta=meta))
        page = step.observation
    return Episode(episode_id=episode_id, env=ENV, transitions=tuple(transitions))


def import_episodes(path: Path, max_state_chars: int = 2000) -> list[Episode]:
    """Read the ReAct WebShop log (the module docstring's format and rules) into episodes.

    Args:
        path: the log, e.g. ``shared/data/react_webshop/react_webshop_500_episodes.txt``.
        max_state_chars: budget per state text; longer ``x``/``y`` are cut by
            :func:`swirl_wm.data.truncate.truncate_text` (≥ 100).

    Returns:
        One episode per logged episode with at least one transition, in file order, id
        ``webshop-{index}``; each transition's ``meta`` holds ``source``, ``line`` (of its ``Action:``),
        ``goal`` (``fixed_{index}``) and ``truncated``.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is not UTF-8, breaks the block format, holds an unknown action or an
            observation that contradicts its rule, repeats an episode index, or yields no transition
            (line 0).
        ValueError: ``max_state_chars`` is below 100.

    Source: docs/environments.md, recorded data sets (the wrapper's artefacts); the module docstring.
    """
    name = os.fspath(path)
    text = read_utf8(path)
    lines = [line.rstrip() for line in text.split("\n")]
    skipped: Counter[str] = Counter()
    episodes: list[Episode] = []
    seen: set[int] = set()
    n_empty = 0
    for line, index, steps in _blocks(lines, name):
        if index in seen:
            raise DataError(name, line, "index", f"episode index {index} repeats")
        seen.add(index)
        episode = _episode(index, steps, (name, line), skipped)
        if episode.transitions:
            episodes.append(truncate_episode(episode, max_state_chars))
        else:
            n_empty += 1
    n = sum(len(e) for e in episodes)
    if not n:
        raise DataError(name, 0, "", "no search/click step led to a page: no transitions")
    logger.info("%s: %d episodes, %d transitions; skipped steps %s; %d episodes without a transition skipped; "
                "%d transitions with a state cut to %d chars", path, len(episodes), n,
                dict(sorted(skipped.items())), n_empty, count_truncated(episodes), max_state_chars)
    return episodes
