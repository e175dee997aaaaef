"""A run's saved predictions (``predictions/<stage>/<split>-<role>.jsonl``) read back as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.records import Transition
from swirl_wm.run_folder import Layout, read_predictions, save_predictions


def test_fwm_rows_hold_x_the_action_the_true_and_the_predicted_next_state(tmp_path: Path) -> None:
    path = tmp_path / Layout.predictions("iter1/phase1", "test", "fwm")
    save_predictions(path, "fwm", [Transition(x="a", z="push", y="b", episode_id="e0", step=3)], ["c"])
    assert path.parent.name == "iter1-phase1"
    assert read_predictions(path) == [{"episode_id": "e0", "step": 3, "x": "a", "given": "push",
                                       "reference": "b", "prediction": "c"}]


def test_idm_rows_are_given_the_next_state_and_scored_against_the_action(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    save_predictions(path, "idm", [Transition(x="a", z="push", y="b")], ["pull"])
    (row,) = read_predictions(path)
    assert (row["given"], row["reference"], row["prediction"]) == ("b", "push", "pull")


def test_limit_blank_lines_and_a_broken_line_named_by_file_and_number(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"prediction": 1}\n\n{"prediction": 2}\n{"prediction": 3}\n', encoding="utf-8")
    assert [r["prediction"] for r in read_predictions(path)] == [1, 2, 3]
    assert [r["prediction"] for r in read_predictions(path, limit=2)] == [1, 2]
    path.write_text('{"prediction": 1}\n{"prediction": \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"p\.jsonl, line 2"):
        read_predictions(path)


def test_rows_and_predictions_must_pair_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_predictions(tmp_path / "p.jsonl", "fwm", [Transition(x="a", z="z", y="b")], [])


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(texts, texts, texts, texts), max_size=6))
def test_any_text_round_trips(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, str, str]]) -> None:
    path = tmp_path_factory.mktemp("p") / "p.jsonl"
    save_predictions(path, "fwm", [Transition(x=x, z=z, y=y) for x, z, y, _ in rows], [p for *_, p in rows])
    back = read_predictions(path)
    assert [(r["x"], r["given"], r["reference"], r["prediction"]) for r in back] == rows
