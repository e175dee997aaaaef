import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.data.jsonl import DataError, group_episodes, read_transitions, write_transitions
from swirl_wm.records import Transition

texts = st.text(min_size=1).filter(lambda s: s.strip())


def _write(tmp_path, lines):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(texts, st.one_of(st.none(), st.text()), texts), min_size=1, max_size=6))
def test_round_trip(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("rt") / "t.jsonl"
    original = [Transition(x=x, z=z, y=y, episode_id=f"e{i % 2}", step=i, env="physics", meta={"k": i})
                for i, (x, z, y) in enumerate(rows)]
    write_transitions(path, original)
    assert read_transitions(path) == original


def test_episode_lines_are_flattened_and_grouped(tmp_path):
    path = _write(tmp_path, [json.dumps({"episode_id": "a", "env": "e", "transitions": [
        {"x": "1", "z": "go", "y": "2"}, {"x": "2", "z": None, "y": "3"}]})])
    ts = read_transitions(path)
    assert [(t.step, t.z, t.env) for t in ts] == [(0, "go", "e"), (1, None, "e")]
    (episode,) = group_episodes(ts)
    assert episode.episode_id == "a" and len(episode) == 2


@pytest.mark.parametrize(("line", "field", "message"), [
    ('{"episode_id": "a", "x": "1", "y": ', "", "invalid JSON"),
    ('[1, 2]', "", "expected a JSON object"),
    ('{"episode_id": "a", "y": "2"}', "x", "missing"),
    ('{"episode_id": "a", "x": 3, "y": "2"}', "x", "expected a string"),
    ('{"episode_id": "a", "x": "  ", "y": "2"}', "x", "empty"),
    ('{"episode_id": "a", "x": "1", "y": "2", "z": 5}', "z", "string or null"),
    ('{"episode_id": "a", "x": "1", "y": "2", "step": -1}', "step", "integer >= 0"),
    ('{"episode_id": "a", "x": "1", "y": "2", "meta": []}', "meta", "JSON object"),
    ('{"episode_id": "a", "x": "1", "y": "2", "acton": "go"}', "acton", "unknown field"),
    ('{"x": "1", "y": "2"}', "episode_id", "missing"),
    ('{"episode_id": "a", "transitions": []}', "transitions", "non-empty list"),
    ('{"episode_id": "a", "transitions": [{"x": "1"}]}', "transitions[0].y", "missing"),
])
def test_errors_name_file_line_and_field(tmp_path, line, field, message):
    good = '{"episode_id": "a", "x": "1", "y": "2"}'
    path = _write(tmp_path, [good, "", line])
    with pytest.raises(DataError) as info:
        read_transitions(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), 3, field)
    assert message in str(err) and f"{path}:3" in str(err)


def test_empty_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no transitions"):
        read_transitions(_write(tmp_path, [""]))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_lines_parse_or_raise_data_error(tmp_path_factory, line):
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    path.write_text(line.replace("\n", " ") + "\n", encoding="utf-8")
    try:
        for t in read_transitions(path):
            assert t.x.strip() and t.y.strip()
    except DataError as err:
        assert err.line in (0, 1)
