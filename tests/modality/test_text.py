"""The state-modality seam (swirl_wm.modality): the registry, the text modality's hooks by hand, and a
stand-in modality that adds tokens and constrains decoding, run through the hooks' consumers."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swirl_wm.modality import MODALITIES, modality_of
from swirl_wm.modality.text import TEXT, is_json_document, state_diff


def test_registry_and_unknown_name():
    assert modality_of("text") is TEXT and set(MODALITIES) == {"text"}
    with pytest.raises(ValueError, match="unknown state modality 'video'; registered: text, image"):
        modality_of("video")


def test_text_hooks_by_hand():
    assert TEXT.check("anything") is None and TEXT.added_tokens() == ()
    assert TEXT.suppressed_tokens({"a": 0}, "fwm") == [] == TEXT.suppressed_tokens({"a": 0}, "idm")
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


