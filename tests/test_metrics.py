"""Tests for swirl_wm.metrics: hand-computed values, errors, and range properties."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.metrics import (
    bleu,
    effect_accuracy,
    exact_match,
    field_accuracy,
    json_field_f1,
    json_leaves,
    passive_accuracy,
    rouge_l,
    summarise,
)


def _fields(state: str) -> dict[str, str]:
    """Toy state format: ``"ball.pos=1,2; ball.vel=0,1"``; raises ValueError on a part without ``=``."""
    fields = {}
    for part in filter(None, (p.strip() for p in state.split(";"))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"not a field: {part!r}")
        fields[name.strip()] = value.strip()
    return fields


def test_exact_match_strips_whitespace() -> None:
    assert exact_match([" a b ", "c", "d"], ["a b", "c ", "e"]) == pytest.approx(2 / 3)


def test_bleu_of_identical_corpus_is_100() -> None:
    texts = ["the ball moves to 3 4 now", "the box stays at 1 1 here"]
    assert bleu(texts, texts) == pytest.approx(100.0)


def test_bleu_of_disjoint_corpus_is_0() -> None:
    assert bleu(["a b c d e"], ["v w x y z"]) == 0.0


def test_rouge_l_hand_computed() -> None:
    # LCS("the cat sat on the mat", "the cat is on the mat") = "the cat on the mat" = 5 of 6 tokens each
    # side: P = R = F = 5/6. The identical pair scores 1. Mean = (5/6 + 1) / 2.
    predictions = ["the cat sat on the mat", "same text"]
    references = ["the cat is on the mat", "same text"]
    assert rouge_l(predictions, references) == pytest.approx(100 * (5 / 6 + 1) / 2)


def test_rouge_l_empty_strings() -> None:
    # rouge-score gives 0 to a pair without tokens; identical (empty) texts must still score 100.
    assert rouge_l(["", "  "], ["", ""]) == pytest.approx(100.0)
    assert rouge_l(["", "a b"], ["a b", ""]) == 0.0


def test_field_accuracy_micro_and_per_kind() -> None:
    references = ["ball.pos=1,2; ball.vel=0,1", "box.pos=5,5"]
    predictions = ["ball.pos=1,2; ball.vel=9,9; extra.pos=0,0", "box.vel=0,0"]
    # Reference fields: ball.pos (right), ball.vel (wrong), box.pos (missing → wrong); extra.pos ignored.
    assert field_accuracy(predictions, references, _fields) == {
        "field_accuracy": pytest.approx(1 / 3),
        "field_accuracy/pos": pytest.approx(1 / 2),
        "field_accuracy/vel": 0.0,
    }


def test_field_accuracy_unparseable_prediction_counts_wrong() -> None:
    result = field_accuracy(["garbage"], ["a=1; b=2"], _fields)
    assert result == {"field_accuracy": 0.0, "field_accuracy/a": 0.0, "field_accuracy/b": 0.0}


def test_effect_accuracy_counts_only_the_fields_the_action_changed() -> None:
    passive = ["a=1; b=2; c=3", "a=5; b=5"]  # the no-op rule's next states
    references = ["a=1; b=9; c=4", "a=5; b=5"]  # effects: b=9, c=4 in the first; none in the second
    predictions = ["a=0; b=9; c=3", "garbage"]
    # Effect fields: b (right), c (wrong: kept the passive value); a is passive, so its error is ignored.
    assert effect_accuracy(predictions, references, passive, _fields) == pytest.approx(1 / 2)
    assert effect_accuracy(passive, references, passive, _fields) == 0.0  # the no-op rule scores 0
    assert effect_accuracy(["x=1"], ["a=1"], ["a=1"], _fields) is None  # no effect to score
    with pytest.raises(ValueError):
        effect_accuracy(["a=1"], ["a=1"], [], _fields)


def test_passive_accuracy_counts_only_the_fields_the_action_left_alone() -> None:
    passive = ["a=1; b=2; c=3", "a=5; b=5"]
    references = ["a=1; b=9; c=4", "a=5; b=5"]  # passive fields: a (first), a and b (second)
    predictions = ["a=0; b=9; c=3", "a=5; b=6"]
    # a wrong, then a right and b wrong: 1 of 3; the effect fields b, c do not count here.
    assert passive_accuracy(predictions, references, passive, _fields) == pytest.approx(1 / 3)
    assert passive_accuracy(passive, references, passive, _fields) == 1.0  # the no-op rule scores 1
    assert passive_accuracy(["a=2"], ["a=2"], ["a=1"], _fields) is None  # every field was an effect


def test_empty_input_values() -> None:
    assert exact_match([], []) == 0.0
    assert bleu([], []) == 0.0
    assert rouge_l([], []) == 0.0
    assert field_accuracy([], [], _fields) == {"field_accuracy": 0.0}
    assert json_field_f1([], []) == 0.0


@pytest.mark.parametrize(
    "metric",
    [exact_match, bleu, rouge_l, lambda p, r: field_accuracy(p, r, _fields), json_field_f1],
    ids=["exact_match", "bleu", "rouge_l", "field_accuracy", "json_field_f1"],
)
def test_length_mismatch_names_both_lengths(metric) -> None:
    with pytest.raises(ValueError, match=r"2 predictions vs 1 references"):
        metric(["a=1", "b=2"], ["a=1"])


def test_json_leaves_paths_and_values() -> None:
    document = json.loads('{"a": {"b": [1, {"c": true}]}, "report.txt": {"size": 3}, "e": [], "f": {"g": "1"}}')
    assert json_leaves(document) == {
        ("a.b[0]", "1"), ("a.b[1].c", "true"), ('["report.txt"].size', "3"), ("e", "[]"), ("f.g", '"1"'),
    }
    assert json_leaves({}) == json_leaves([]) == set()  # an empty root has no fields
    assert json_leaves(5) == {("", "5")}


def test_json_field_f1_nested_hand_computed() -> None:
    reference = '{"a": {"b": 1, "c": [1, 2]}, "d": "x"}'  # a.b, a.c[0], a.c[1], d: 4 leaves
    prediction = '{"d": "x", "a": {"c": [2, 1], "b": 1}, "e": null}'  # 5 leaves; a.b and d match
    # P = 2/5, R = 2/4, F1 = 2·2 / (5 + 4) = 4/9 (key order does not matter, list order does).
    assert json_field_f1([prediction], [reference]) == pytest.approx(4 / 9)


def test_json_field_f1_missing_key_and_value_types() -> None:
    # Missing key: 1 of 2 reference leaves, no extra: F1 = 2·1 / (1 + 2) = 2/3. "1" ≠ 1 ≠ 1.0 ≠ true.
    assert json_field_f1(['{"a": 1}'], ['{"a": 1, "b": 2}']) == pytest.approx(2 / 3)
    assert json_field_f1(['{"a": "1"}', '{"a": 1.0}', '{"a": true}'], ['{"a": 1}'] * 3) == 0.0
    # An empty list below the root is a field: {"files": []} is not {}.
    assert json_field_f1(['{"files": []}', "{}"], ['{"files": []}', '{"files": []}']) == pytest.approx(1 / 2)


def test_json_field_f1_invalid_prediction_and_empty_documents() -> None:
    # Invalid JSON scores 0; two documents without fields score 1; mean = (0 + 1 + 1 + 0) / 4.
    predictions = ['{"a": 1', "{}", "[]", "{}"]
    references = ['{"a": 1}', "{}", "{}", '{"a": 1}']
    assert json_field_f1(predictions, references) == pytest.approx(1 / 2)


def test_json_field_f1_rejects_non_json_reference() -> None:
    with pytest.raises(ValueError, match=r"reference 1 is not valid JSON"):
        json_field_f1(["{}", "{}"], ["{}", '{"a": 1, … [80 chars cut] … }'])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(a=_JSON, b=_JSON)
def test_json_field_f1_properties(a, b) -> None:
    text_a, text_b = json.dumps(a), json.dumps(b)
    # Formatting and key order do not matter: a document scores 1 against itself.
    assert json_field_f1([json.dumps(a, indent=2, sort_keys=True)], [text_a]) == 1.0
    f1 = json_field_f1([text_a], [text_b])
    assert 0.0 <= f1 <= 1.0
    assert f1 == json_field_f1([text_b], [text_a])


def test_summarise_hand_computed() -> None:
    # values 1, 2, 3: mean 2, sample std 1, t_{0.975, 2} = 4.303 → half-width 4.303 / √3.
    mean, half_width = summarise([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert half_width == pytest.approx(4.303 / math.sqrt(3), rel=1e-4)  # 4.303: the table value, rounded


def test_summarise_large_sample_uses_students_quantile() -> None:
    values = [0.0, 2.0] * 16  # n = 32, mean 1, sample std = sqrt(32 / 31); t_{0.975, 31} = 2.0395 (tables)
    mean, half_width = summarise(values)
    assert mean == pytest.approx(1.0)
    assert half_width == pytest.approx(2.0395 * math.sqrt(32 / 31) / math.sqrt(32), rel=1e-4)


def test_summarise_degenerate_inputs() -> None:
    assert all(math.isnan(v) for v in summarise([]))
    mean, half_width = summarise([3.5])
    assert mean == 3.5 and math.isnan(half_width)


@settings(max_examples=50, deadline=None)
@given(pairs=st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=6))
def test_metrics_stay_in_range(pairs: list[tuple[str, str]]) -> None:
    predictions = [p for p, _ in pairs]
    references = [r for _, r in pairs]
    assert 0.0 <= exact_match(predictions, references) <= 1.0
    assert 0.0 <= bleu(predictions, references) <= 100.0 + 1e-9
    assert 0.0 <= rouge_l(predictions, references) <= 100.0 + 1e-9


@settings(max_examples=50, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from(["a.pos", "a.vel", "b.pos"]), st.sampled_from(["0", "1"])),
            st.dictionaries(st.sampled_from(["a.pos", "a.vel", "b.pos"]), st.sampled_from(["0", "1"])),
        ),
        max_size=6,
    )
)
def test_field_accuracy_stays_in_range(pairs: list[tuple[dict[str, str], dict[str, str]]]) -> None:
    def render(fields: dict[str, str]) -> str:
        return "; ".join(f"{k}={v}" for k, v in fields.items())

    result = field_accuracy([render(p) for p, _ in pairs], [render(r) for _, r in pairs], _fields)
    assert all(0.0 <= value <= 1.0 for value in result.values())
