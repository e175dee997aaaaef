import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.data.jsonl import ColumnMap, DataError, group_episodes, read_transitions, write_transitions
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


@settings(max_examples=60, deadline=None)
@given(states=st.lists(texts, min_size=2, max_size=6), labelled=st.lists(st.booleans(), min_size=5, max_size=5),
       null_actions=st.booleans())
def test_episode_of_states_expands_into_transitions(tmp_path_factory, states, labelled, null_actions):
    actions = None if null_actions else [f"a{i}" if labelled[i] else None for i in range(len(states) - 1)]
    path = tmp_path_factory.mktemp("states") / "s.jsonl"
    path.write_text(json.dumps({"episode_id": "e", "env": "w", "states": states, "actions": actions}) + "\n",
                    encoding="utf-8")
    ts = read_transitions(path)
    assert [(t.x, t.y, t.step, t.env) for t in ts] == [(states[i], states[i + 1], i, "w")
                                                       for i in range(len(states) - 1)]
    assert [t.z for t in ts] == (actions or [None] * (len(states) - 1))


@pytest.mark.parametrize(("record", "field", "message"), [
    ({"episode_id": "a", "states": ["s"]}, "states", "at least two states"),
    ({"episode_id": "a", "states": ["s", 3]}, "states[1]", "expected a string"),
    ({"episode_id": "a", "states": ["s", " "]}, "states[1]", "empty"),
    ({"episode_id": "a", "states": ["s", "t", "u"], "actions": ["go"]}, "actions", "list of 2 actions"),
    ({"episode_id": "a", "states": ["s", "t"], "actions": [7]}, "actions[0]", "string or null"),
    ({"episode_id": "a", "states": ["s", "t"], "x": "s"}, "x", "unknown field"),
])
def test_episode_of_states_errors_name_the_field(tmp_path, record, field, message):
    path = _write(tmp_path, ['{"episode_id": "ok", "x": "1", "y": "2"}', json.dumps(record)])
    with pytest.raises(DataError) as err:
        read_transitions(path)
    assert (err.value.line, err.value.field) == (2, field) and message in err.value.message


def test_column_map_renames_and_ignores(tmp_path):
    path = _write(tmp_path, [json.dumps({"traj": "e1", "obs": "s", "act": "go", "next_obs": "t", "reward": 1.0})])
    columns = ColumnMap(episode_id="traj", x="obs", z="act", y="next_obs", ignore=("reward",))
    (t,) = read_transitions(path, columns)
    assert (t.episode_id, t.x, t.z, t.y) == ("e1", "s", "go", "t")
    with pytest.raises(DataError, match="field 'reward': unknown field"):
        read_transitions(path, ColumnMap(episode_id="traj", x="obs", z="act", y="next_obs"))
