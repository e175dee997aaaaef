"""Transitions from tables: Parquet files and local Hugging Face ``datasets`` folders, read with ``datasets``.

A row is a record of the JSONL schema (:mod:`swirl_wm.data.jsonl`): a transition (``episode_id``, ``x``,
``z``, ``y``, optional ``step``, ``env``, ``meta``), or an episode of states (``episode_id``, ``states``,
``actions``). A column map (``data.columns``) renames a source's columns to these fields. Rows are checked
by the same code as JSONL lines, so a malformed row stops the run with ``file:row: field 'f': problem``
(rows are numbered from 1, in the table's order).
"""

from __future__ import annotations

import os
from pathlib import Path

from swirl_wm.data.jsonl import (
    PARQUET_MAGIC,
    RECORD_FIELDS,
    ColumnMap,
    DataError,
    form_problem,
    parse_record,
    read_transitions,
)
from swirl_wm.records import Transition


def _load(path: Path):
    """The rows of a Parquet file (or folder of Parquet files) or of a ``save_to_disk`` folder."""
    import datasets
    import pyarrow

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    parquet = sorted(str(p) for p in path.glob("*.parquet")) if path.is_dir() else [str(path)]
    if path.is_dir() and not parquet:
        try:
            # In memory and validated in full: the rows all become transitions anyway, and a memory-mapped arrow
            # file that was cut short ends the process (SIGBUS) when a row past its end is read, as damaged
            # offsets would when followed.
            loaded = datasets.load_from_disk(str(path), keep_in_memory=True)
            if isinstance(loaded, datasets.Dataset):
                loaded.data.table.validate(full=True)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, pyarrow.ArrowException,
                datasets.exceptions.DatasetsError) as err:  # missing or broken files, or their JSON of a wrong shape
            why = " ".join(str(err).split())[:200]
            raise DataError(os.fspath(path), 0, "", f"not a Hugging Face datasets folder written by save_to_disk "
                                                     f"nor a folder of Parquet files ({why})") from None
        if isinstance(loaded, datasets.DatasetDict):
            names = sorted(loaded)
            raise DataError(os.fspath(path), 0, "", f"a DatasetDict with splits {names}: set data.path to one "
                                                     f"split's folder, e.g. {path / names[0]}")
        return loaded
    for file in parquet:  # before pyarrow, which names neither the file nor what it holds instead
        with open(file, "rb") as handle:
            if handle.read(4) != PARQUET_MAGIC:
                raise DataError(file, 0, "", "not a Parquet file (it does not start with PAR1); a JSONL file is "
                                             "read with data.env: jsonl")
    try:
        return datasets.Dataset.from_parquet(parquet)
    except (ValueError, OSError, datasets.exceptions.DatasetGenerationError) as err:  # pyarrow's ArrowInvalid
        raise DataError(os.fspath(path), 0, "", f"not a readable Parquet file ({' '.join(str(err).split())[:200]})"
                        ) from None


def _check_columns(name: str, found: list[str], columns: ColumnMap | None) -> None:
    """The table's columns, renamed by ``columns``, are fields of one record form and nothing else.

    Raises:
        DataError: (row 0) lists the columns found, what is wrong with them, and points at ``data.columns``.
    """
    renamed = list((columns or ColumnMap()).apply(dict.fromkeys(found)))
    unknown = [c for c in renamed if c not in RECORD_FIELDS]
    problem = f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown else form_problem(renamed)
    if problem:
        raise DataError(name, 0, "", f"{problem}: the table's columns are {', '.join(map(repr, found))}; map them to "
                                     f"the fields ({', '.join(sorted(RECORD_FIELDS))}) with data.columns, e.g. "
                                     "{episode_id: run, x: obs, z: action, y: next_obs, ignore: [reward]}")


def read_table(path: str | os.PathLike[str], columns: ColumnMap | None = None) -> list[Transition]:
    """Every transition of a table, in row order (episode-of-states rows expanded).

    Args:
        path: a ``.parquet`` file, a folder of ``.parquet`` files, or a folder written by
            ``datasets.Dataset.save_to_disk``.
        columns: source column names, for tables whose columns are not named as the schema's fields.

    Raises:
        FileNotFoundError: no such path.
        DataError: a malformed row (file, 1-based row, field), a ``DatasetDict`` folder (names its splits),
            an unreadable folder, a file that is not Parquet, columns that are not the schema's once
            ``columns`` renamed them (lists them), or a table with no rows (row 0).
    """
    source = Path(path)
    table = _load(source)
    name = os.fspath(source)
    _check_columns(name, list(table.column_names), columns)
    transitions = [t for row, record in enumerate(table, start=1)
                   for t in parse_record(record, (name, row), columns)]
    if not transitions:
        raise DataError(name, 0, "", "the table holds no transitions")
    return transitions


def read_any(path: str | os.PathLike[str], columns: ColumnMap | None = None) -> list[Transition]:
    """Transitions of a user's file by its kind: a ``.parquet`` file or a folder (Parquet files or a
    ``datasets`` folder) through :func:`read_table`, anything else as JSONL.

    Raises:
        FileNotFoundError, DataError: as the reader used.
    """
    source = Path(path)
    if source.suffix == ".parquet" or source.is_dir():
        return read_table(source, columns)
    return read_transitions(source, columns)
