"""One rule for state texts that are too long: keep the head and the tail, mark the cut.

A state longer than ``max_chars`` keeps its first third and its last two thirds of the budget, joined by
the marker ``… [N chars cut] …`` (N = characters removed), so the result is never longer than
``max_chars``. Why head *and* tail: the head of a state holds what stays fixed over an episode (the
shopper's instruction, the customer's first request and user id, a page's header), the tail holds the
most recent turns of a dialogue or the end of a tool's output, which decide what comes next. Cutting
only the tail would lose the latter; cutting only the head would lose the task. The marker tells a
model that text is missing and how much.

Importers apply the rule to ``x`` and ``y`` (never to the action ``z``) through :func:`truncate_states`,
which records the cut fields in ``meta["truncated"]`` so that a data set says which states were cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from swirl_wm.records import Episode, Transition

# The marker takes at most ~25 characters; below this budget little text would be left besides it.
MIN_STATE_CHARS = 100

Cut = Callable[[str, int], tuple[str, bool]]  # (state, max_chars) -> (state, was it cut)


def _marker(cut: int) -> str:
    return f" … [{cut} chars cut] … "


def truncate_text(text: str, max_chars: int) -> tuple[str, bool]:
    """Shorten ``text`` to at most ``max_chars`` characters by cutting out its middle.

    Args:
        text: the state text.
        max_chars: the budget in characters (≥ :data:`MIN_STATE_CHARS`).

    Returns:
        ``(text, False)`` when it fits; otherwise ``(head + marker + tail, True)`` where ``head`` is a
        prefix of ``text`` of a third of the remaining budget, ``tail`` a suffix of the other two thirds
        and the marker ``… [N chars cut] …`` names the number N of characters removed.

    Raises:
        ValueError: ``max_chars`` is below :data:`MIN_STATE_CHARS`.

    Source: this module's docstring (design choice of this package).
    """
    if max_chars < MIN_STATE_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_STATE_CHARS}, got {max_chars}")
    if len(text) <= max_chars:
        return text, False
    # The marker's length depends on N; reserve room for N written with as many digits as len(text),
    # an upper bound, so the result never exceeds the budget.
    room = max_chars - len(_marker(len(text)))
    head, tail = room // 3, room - room // 3
    cut = len(text) - head - tail
    return text[:head] + _marker(cut) + text[len(text) - tail:], True


def truncate_states(transition: Transition, max_chars: int, cut: Cut = truncate_text) -> Transition:
    """Apply :func:`truncate_text` (or the run's modality's ``cut``) to ``x`` and ``y``; ``meta["truncated"]``
    lists the fields cut.

    Args:
        transition: a transition with the full state texts.
        max_chars: the budget per state in characters.
        cut: ``(state, max_chars) -> (state, was_cut)``; :func:`truncate_text` for text states.

    Returns:
        A copy with both states within the budget and ``meta["truncated"]`` one of ``[]``, ``["x"]``,
        ``["y"]``, ``["x", "y"]``: the fields cut now or by an earlier pass (an importer's).

    Raises:
        ValueError: as :func:`truncate_text`.

    Source: this module's docstring.
    """
    x, x_cut = cut(transition.x, max_chars)
    y, y_cut = cut(transition.y, max_chars)
    earlier = set(transition.meta.get("truncated", ()))  # cut before, e.g. by an importer
    fields = [name for name, was_cut in (("x", x_cut), ("y", y_cut)) if was_cut or name in earlier]
    return replace(transition, x=x, y=y, meta={**transition.meta, "truncated": fields})


def count_truncated(episodes: Iterable[Episode]) -> int:
    """Number of transitions with at least one state cut (``meta["truncated"]`` non-empty)."""
    return sum(bool(t.meta.get("truncated")) for e in episodes for t in e.transitions)


def truncate_episode(episode: Episode, max_chars: int, cut: Cut = truncate_text) -> Episode:
    """The episode with every transition passed through :func:`truncate_states` (with ``cut``)."""
    return replace(episode, transitions=tuple(truncate_states(t, max_chars, cut) for t in episode.transitions))
