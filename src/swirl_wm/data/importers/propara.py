"""Import ProPara's human-annotated entity-location grids as sentence transitions ``(x, z, y)``.

Source: github.com/allenai/propara, ``data/emnlp18/grids.v1.{train,dev,test}.json`` (commit
``51a3ccc``; docs/environments.md): JSON lines ``{para_id, sentence_texts[n], participants[m],
states[m][n+1]}``; ``states[j][i]`` is where participant ``j`` is before sentence ``i``
(``states[j][n]``: after the last sentence); ``-`` = does not exist, ``?`` = location unknown.

Rules:

- **One transition per sentence** ``i``: ``z`` is the sentence, ``y`` the locations after it
  (``states[j][i+1]``), ``x`` the locations before it with the paragraph's earlier sentences::

      x = "Text so far: Plants die. They are buried in sediment.\\nLocations: plants: sediment | oil: -"
      z = "Bacteria is buried in the sediment."
      y = "plants: sediment | oil: -"

  (``Text so far: (none)`` before the first sentence.) Locations are rendered ``participant: location``
  joined by `` | `` in the upstream order, ``-`` and ``?`` as upstream writes them; neither ``:`` nor
  ``|`` occurs in a name or location, so the rendering can be read back. Earlier sentences are kept
  because later ones refer back to them ("They are buried ...") and the locations alone do not say how
  far the process has gone; paragraphs have at most 10 sentences, so ``x`` stays short.
- Sentences that move nothing are kept: predicting "no change" is part of the world model.
- Participants are kept as upstream has them: an alias list such as ``droplets; rain`` is one name, and
  a name that occurs twice in a paragraph (4 training paragraphs, e.g. ``glucose`` before and after it
  is made) stays two entries told apart by position.
- The split is the file name's ``grids.v1.<split>.json`` part, kept in ``meta["split"]``; ``path`` may be
  one grids file or the folder holding all three.

Errors raise :class:`~swirl_wm.data.jsonl.DataError` with the 1-based line of the JSON lines file and a
field such as ``states[2][5]``; an empty name, sentence or location is an error, not a skip.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from swirl_wm.data.jsonl import DataError, loads
from swirl_wm.data.truncate import count_truncated, truncate_episode
from swirl_wm.records import Episode, Transition

logger = logging.getLogger(__name__)

ENV = "propara"
SPLITS = ("train", "dev", "test")

Where = tuple[str, int]


def _texts(obj: dict[str, Any], key: str, where: Where) -> list[str]:
    """``obj[key]`` as a non-empty list of non-blank strings."""
    value = obj.get(key)
    if not isinstance(value, list) or not value:
        raise DataError(*where, key, f"expected a non-empty list of strings, got {type(value).__name__}")
    for k, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise DataError(*where, f"{key}[{k}]", f"expected a non-empty string, got {item!r}"[:120])
    return value


def _locations(participants: list[str], states: list[list[str]], i: int) -> str:
    """Where each participant is before sentence ``i``: ``name: location | ...``."""
    return " | ".join(f"{name}: {row[i]}" for name, row in zip(participants, states, strict=True))


def _paragraph(obj: Any, where: Where, split: str) -> Episode:
    if not isinstance(obj, dict):
        raise DataError(*where, "", f"expected a JSON object per line, got {type(obj).__name__}")
    para_id = obj.get("para_id")
    if not isinstance(para_id, str) or not para_id.strip():
        raise DataError(*where, "para_id", f"expected a non-empty string, got {para_id!r}"[:120])
    sentences = _texts(obj, "sentence_texts", where)
    participants = _texts(obj, "participants", where)
    states = obj.get("states")
    if not isinstance(states, list) or len(states) != len(participants):
        raise DataError(*where, "states", f"expected a list of {len(participants)} rows (one per participant)")
    for j, row in enumerate(states):
        if not isinstance(row, list) or len(row) != len(sentences) + 1:
            raise DataError(*where, f"states[{j}]", f"expected a list of {len(sentences) + 1} locations "
                            "(one before each sentence and one after the last)")
        for i, location in enumerate(row):
            if not isinstance(location, str) or not location.strip():
                raise DataError(*where, f"states[{j}][{i}]", f"expected a non-empty string ('-' = does not "
                                f"exist, '?' = unknown), got {location!r}"[:160])
    episode_id = f"{ENV}-{para_id}"
    meta = {"source": Path(where[0]).name, "line": where[1], "split": split, "para_id": para_id}
    transitions = tuple(
        Transition(x=f"Text so far: {' '.join(sentences[:i]) or '(none)'}\n"
                     f"Locations: {_locations(participants, states, i)}",
                   z=sentence, y=_locations(participants, states, i + 1), episode_id=episode_id, step=i,
                   env=ENV, meta=meta)
        for i, sentence in enumerate(sentences))
    return Episode(episode_id=episode_id, env=ENV, transitions=transitions)


def _read(path: Path, seen: set[str]) -> list[Episode]:
    """The paragraphs of one grids file; ``seen`` holds the episode ids read so far (all files)."""
    name = os.fspath(path)
    split = path.name.removeprefix("grids.v1.").removesuffix(".json")
    episodes = []
    with open(name, "rb") as handle:  # binary: lines end at "\n" only, as JSON lines define
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(name, number, "", f"not valid UTF-8 (byte {err.start})") from None
            obj = loads(text, (name, number)) if text.strip() else None
            if obj is None:
                continue
            episode = _paragraph(obj, (name, number), split)
            if episode.episode_id in seen:
                raise DataError(name, number, "para_id", f"{episode.episode_id!r} occurs twice")
            seen.add(episode.episode_id)
            episodes.append(episode)
    return episodes


def import_episodes(path: Path, max_state_chars: int = 2000) -> list[Episode]:
    """Read ProPara grids (the module docstring's rules) into one episode per paragraph.

    Args:
        path: a grids file such as ``shared/data/propara/grids.v1.dev.json``, or a folder holding
            ``grids.v1.{train,dev,test}.json`` (read in that order).
        max_state_chars: budget per state text; longer ``x``/``y`` are cut by
            :func:`swirl_wm.data.truncate.truncate_text` (≥ 100).

    Returns:
        Episodes in file order, id ``propara-{para_id}``, steps 0..n-1 (one per sentence); each
        transition's ``meta`` holds ``source``, ``line``, ``split``, ``para_id`` and ``truncated``.

    Raises:
        FileNotFoundError: the file, or one of the three files in the folder, does not exist.
        DataError: a line is not JSON or breaks the grid's shape (the module docstring), a ``para_id``
            repeats, or no paragraph is found (line 0).
        ValueError: ``max_state_chars`` is below 100.

    Source: docs/environments.md, recorded data sets (what a transition is); the module docstring (rules chosen here).
    """
    files = [path / f"grids.v1.{split}.json" for split in SPLITS] if path.is_dir() else [path]
    seen: set[str] = set()
    episodes = [truncate_episode(e, max_state_chars)
                for file in files for e in _read(file, seen)]
    if not episodes:
        raise DataError(os.fspath(path), 0, "", "no paragraph in the file: no transitions")
    logger.info("%s: %d episodes, %d transitions; %d transitions with a state cut to %d chars", path,
                len(episodes), sum(len(e) for e in episodes), count_truncated(episodes), max_state_chars)
    return episodes
