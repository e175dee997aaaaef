"""The state-modality seam (swirl_wm.modality): the registry, the text modality's hooks by hand, and a
stand-in modality that adds tokens and constrains decoding, run through the hooks' consumers."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swirl_wm.modality import MODALITIES, modality_of
from swirl_wm.modality.text import TEXT, is_json_document, json_diff, state_diff
from swirl_wm.records import FWM, IDM


def test_registry_and_unknown_name():
    assert modality_of("text") is TEXT and set(MODALITIES) == {"text"}
    with pytest.raises(ValueError, match="unknown state modality 'video'; registered: text, image"):
        modality_of("video")


def test_text_hooks_by_hand():
    assert TEXT.check("anything") is None and TEXT.added_tokens() == ()
    assert TEXT.suppressed_tokens({"a": 0}, FWM) == [] == TEXT.suppressed_tokens({"a": 0}, IDM)
    assert TEXT.truncate("x" * 50, 100) == ("x" * 50, False) and TEXT.truncate("x" * 300, 100)[1]
    assert TEXT.diff("tin: temp=80", "tin: temp=70") == "tin: [temp=80 -> temp=70] (temp -10)"
    metrics = TEXT.metrics(["a b", '{"k": 1}'], ["a b", '{"k": 2}'])
    assert metrics["exact_match"] == 0.5 and metrics["rouge_l"] == pytest.approx(75.0)  # 100 and 50 (k matches, 1 vs 2)
    assert metrics["json_field_f1"] == 0.0  # one JSON reference, its one leaf wrong
    assert "json_field_f1" not in TEXT.metrics(["a"], ["b"])
    assert is_json_document("[1]") and not is_json_document("3") and not is_json_document("{")


def test_state_diff_by_hand():
    x = "width=8 | brick: pos=6 vel=0 temp=30 | tin: pos=2 vel=-2 temp=70"
    y = "width=8 | brick: pos=6 vel=0 temp=40 | tin: pos=0 vel=-2 temp=70"
    assert state_diff(x, y) == ("brick: pos=6 vel=0 [temp=30 -> temp=40] (temp +10); "
                                "temp=30 | tin: [pos=2 -> pos=0] (pos -2)")
    bounce = "tin: [pos=0 vel=-2 -> pos=1 vel=+2] (pos +1, vel +4)"
    assert state_diff("tin: pos=0 vel=-2", "tin: pos=1 vel=+2") == bounce
    assert state_diff("price $12.50", "price $10.00") == "price [$12.50 -> $10.00] ($ -2.5)"
    assert state_diff(x, x) == "none"
    assert state_diff("a b", "a b c") == "a b [ -> c]"
    assert state_diff("a b", "b") == "[a -> ]"


words = st.lists(st.sampled_from(["a", "b", "c=1", "c=2", "|"]), max_size=12).map(" ".join)


@given(words, words)
def test_state_diff_is_empty_only_for_the_same_words(x, y):
    assert (state_diff(x, y) == "none") == (x.split() == y.split())




def test_json_diff_by_hand():
    x = '{"state":{"fs":{"cwd":"/alex","tree":{"a.txt":"hi","d":{}}}},"user":"go"}'
    y = '{"return":{"cwd":"d"},"state":{"fs":{"cwd":"/alex/d","tree":{"a.txt":"hi","d":{"b":1}}}}}'
    assert json_diff(x, y) == ('+return.cwd = "d"; state.fs.cwd: "/alex" -> "/alex/d"; -state.fs.tree.d; '
                               '+state.fs.tree.d.b = 1; -user')
    assert json_diff('{"n": 2.5, "k": [1]}', '{"n": 1, "k": [1, 2]}') == "+k[1] = 2; n: 2.5 -> 1 (-1.5)"
    assert json_diff('{"a": true}', '{"a": 1}') == "a: true -> 1"  # canonical JSON values, no arithmetic on bools
    assert json_diff("[1]", "[1]") == "none"
    # the text modality diffs two JSON documents by field, anything else by word
    assert TEXT.diff('{"t": 80}', '{"t": 70}') == "t: 80 -> 70 (-10)"
    assert TEXT.diff('{"t": 80}', "t=70") == state_diff('{"t": 80}', "t=70")


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["a", "b"]),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["k", "m"]),
                                                                                        inner, max_size=2),
                           max_leaves=8)


@given(json_values, json_values)
def test_json_diff_is_empty_only_for_the_same_leaves(a, b):
    x, y = json.dumps({"v": a}), json.dumps({"v": b})
    assert (json_diff(x, y) == "none") == (json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True))
