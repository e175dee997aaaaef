"""Parquet files and `datasets` folders, read with `datasets`: each format made inside the test, rows
checked by the JSONL code (file / row / field errors), a column map for other names."""

import datasets
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.data.jsonl import ColumnMap, DataError
from swirl_wm.data.tables import read_any, read_table

ROWS = [{"episode_id": "e1", "step": 0, "x": "s0", "z": "go", "y": "s1"},
        {"episode_id": "e1", "step": 1, "x": "s1", "z": None, "y": "s2"}]


def _triples(ts):
    return [(t.episode_id, t.step, t.x, t.z, t.y) for t in ts]


def test_parquet_file_and_folder(tmp_path):
    datasets.Dataset.from_list(ROWS).to_parquet(str(tmp_path / "part.parquet"))
    expected = [("e1", 0, "s0", "go", "s1"), ("e1", 1, "s1", None, "s2")]
    assert _triples(read_table(tmp_path / "part.parquet")) == expected
    assert _triples(read_any(tmp_path)) == expected  # a folder of .parquet files


def test_datasets_folder_with_a_column_map_and_states_rows(tmp_path):
    rows = [{"traj": "e1", "frames": ["a", "b", "c"], "acts": ["l", None], "score": 1.0}]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    columns = ColumnMap(episode_id="traj", states="frames", actions="acts", ignore=("score",))
    assert _triples(read_table(tmp_path / "ds", columns)) == [("e1", 0, "a", "l", "b"), ("e1", 1, "b", None, "c")]


def test_dataset_dict_names_its_splits(tmp_path):
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(DataError, match=r"splits \['train'\]: set data.path to one split's folder"):
        read_table(tmp_path / "dd")
    assert len(read_table(tmp_path / "dd" / "train")) == 2


def test_malformed_row_names_file_row_and_field(tmp_path):
    bad = [*ROWS, {"episode_id": "e2", "step": 0, "x": "", "z": None, "y": "t"}]
    datasets.Dataset.from_list(bad).to_parquet(str(tmp_path / "bad.parquet"))
    with pytest.raises(DataError) as err:
        read_table(tmp_path / "bad.parquet")
    assert (err.value.line, err.value.field) == (3, "x") and str(err.value).startswith(str(tmp_path / "bad.parquet"))


def test_missing_and_unreadable_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "nope.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither|not a Hugging Face datasets folder"):
        read_table(tmp_path / "empty")


@settings(max_examples=25, deadline=None)
@given(ids_are_ints=st.booleans(), rows=st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.text(max_size=4)),
                                                            st.text(max_size=4)), min_size=1, max_size=4))
def test_arbitrary_rows_parse_or_raise_data_error(tmp_path_factory, ids_are_ints, rows):
    path = tmp_path_factory.mktemp("t") / "r.parquet"
    table = [{"episode_id": e if ids_are_ints else f"e{e}", "x": x, "y": y} for e, x, y in rows]
    datasets.Dataset.from_list(table).to_parquet(str(path))
    try:
        ts = read_table(path)
    except DataError as err:
        assert 1 <= err.line <= len(rows) and str(err).startswith(str(path)) and err.field in ("episode_id", "x", "y")
    else:
        assert not ids_are_ints and all(t.x.strip() and t.y.strip() for t in ts)
