"""The FWM's ``changes`` target: hand-computed patches, their inverse, x's JSON style, and a property test
that every pair of JSON documents has a patch that rebuilds the second from the first."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swirl_wm.modality.changes import apply_changes, apply_patch, check_changes, is_patch, merge_patch, state_changes
from swirl_wm.models.prompts import PromptFormat


def test_patch_by_hand():
    x = {"cwd": "/a", "n": 3, "user": "hi", "tree": {"a": {"f.txt": "old"}, "b": {}}}
    y = {"cwd": "/a", "n": 5, "return": None, "tree": {"a": {"f.txt": "new"}, "b": {}}}
    patch = merge_patch(x, y)
    assert patch == {"$delete": ["user"], "n": 5, "return": None, "tree": {"a": {"f.txt": "new"}}}
    assert apply_patch(x, patch) == y
    assert merge_patch(x, x) == {}
    assert merge_patch([1, 2], [1, 3]) == [1, 3]  # not an object: replaced whole
    assert merge_patch({"a": [1, 2]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"a": 1}, {"a": True}) == {"a": True}  # 1 == True in Python, not in JSON
    assert apply_patch({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}  # an object patch on a number


def test_state_text_keeps_x_style():
    x = json.dumps({"b": 1, "a": {"d": 1, "c": 2}}, sort_keys=True, separators=(",", ":"))
    y = json.dumps({"b": 1, "a": {"d": 1, "c": 3}, "return": "ok"}, sort_keys=True, separators=(",", ":"))
    changes = state_changes(x, y)
    assert changes == '{"a":{"c":3},"return":"ok"}'
    assert apply_changes(x, changes) == y  # sorted and compact, as x
    spaced = json.dumps({"z": 1, "a": 2})  # insertion order, default separators
    assert apply_changes(spaced, '{"m": 0}') == '{"z": 1, "a": 2, "m": 0}'
    assert check_changes(x, y) is None


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="x is not JSON"):
        state_changes("tin: temp=80", "{}")
    with pytest.raises(ValueError, match="reserves"):
        merge_patch({"$delete": 1}, {})
    with pytest.raises(ValueError, match="list the removed keys"):
        apply_patch({"a": 1}, {"$delete": "a"})
    assert "not JSON" in check_changes('{"a": 1}', '{"a": 1, ...cut... }')
    assert "layout" in check_changes('{"a":1,"b":2}', '{"a": 1, "b": 3}')
    assert is_patch('{"a":1}', '{"a":2}') and not is_patch('{"a":1}', '{"a":') and not is_patch("a", "{}")


def test_prompt_format_writes_and_reads_changes(tmp_path):
    fmt = PromptFormat(fwm_target="changes")
    x, y = '{"cwd":"/a","n":1}', '{"cwd":"/b","n":1}'
    assert fmt.fwm_completion(x, y) == '{"cwd":"/b"}'
    assert fmt.next_state(x, '{"cwd":"/b"}') == y
    assert fmt.next_state(x, '{"cwd": "/b"') == x  # not a patch: read as no change
    plain = PromptFormat()
    assert plain.fwm_completion(x, y) == y and plain.next_state(x, "anything") == "anything"
    fmt.save(tmp_path)
    assert PromptFormat.load(tmp_path) == fmt


_KEYS = st.text(st.characters(codec="utf-8", exclude_characters="$"), max_size=4)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
                     max_leaves=12)


@given(st.dictionaries(_KEYS, _JSON, max_size=5), st.dictionaries(_KEYS, _JSON, max_size=5))
def test_every_pair_of_documents_has_a_patch(old, new):
    assert json.dumps(apply_patch(old, merge_patch(old, new)), sort_keys=True) == json.dumps(new, sort_keys=True)
    x, y = (json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for v in (old, new))
    assert check_changes(x, y) is None
