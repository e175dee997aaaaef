"""Tests for swirl_wm.envs.bfcl: the ast call parser (hand-picked and property-based), the JSON rendering rules,
and replays of real BFCL entries (skipped when bfcl-eval is not installed)."""

from __future__ import annotations

import ast
import json
import logging
import re

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.envs import bfcl
from swirl_wm.envs.bfcl import MAX_CALL_CHARS, BFCLConfig, ParsedCall, parse_call, replay, to_json_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cd(folder='documents')", ParsedCall(None, "cd", (), {"folder": "documents"}, "cd(folder='documents')")),
        ("mv(source='a.txt',destination='b')",
         ParsedCall(None, "mv", (), {"source": "a.txt", "destination": "b"}, "mv(source='a.txt', destination='b')")),
        ("sort('final_report.pdf')", ParsedCall(None, "sort", ("final_report.pdf",), {}, "sort('final_report.pdf')")),
        (" ls(a=True) ", ParsedCall(None, "ls", (), {"a": True}, "ls(a=True)")),
        ("GorillaFileSystem.pwd()", ParsedCall("GorillaFileSystem", "pwd", (), {}, "GorillaFileSystem.pwd()")),
        ("lockDoors(unlock=False, door=['driver', 'rear_left'])",
         ParsedCall(None, "lockDoors", (), {"unlock": False, "door": ["driver", "rear_left"]},
                    "lockDoors(unlock=False, door=['driver', 'rear_left'])")),
        ("f(-1.5, None, x={'a': (1, 2)}, y={3})",
         ParsedCall(None, "f", (-1.5, None), {"x": {"a": (1, 2)}, "y": {3}}, "f(-1.5, None, x={'a': (1, 2)}, y={3})")),
    ],
)  # fmt: skip
def test_parse_call_accepts_literal_calls(text: str, expected: ParsedCall) -> None:
    assert parse_call(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",  # callee is a call
        "f(x=open('a'))",  # non-literal argument
        "f(x=y)",
        "f('a' + 'b')",
        "os.path.join('a')",  # attribute chain
        "a.b.c()",
        "f(lambda: 1)",
        "(lambda: 1)()",
        "f(x=[i for i in range(3)])",
        "f(*args)",
        "f(**{'a': 1})",
        "_load_scenario({})",  # private names
        "GorillaFileSystem.__init__()",
        "_x.cd(folder='a')",
        "cd(folder='a'); rm('b')",  # several statements
        "x = cd('a')",
        "cd",  # not a call
        "1 + 2",
        "f(x=1, x=2)",
        "f({[1]: 2})",  # unhashable key
        "f(1" + "0" * 5000 + ")",  # int literal over the conversion limit
        "f(" + "-" * 3000 + "1)",  # recursion in the parser
        "f('\x00')",
        "",
        "f('" + "a" * MAX_CALL_CHARS + "')",  # too long
        "cd(folder='a'",
    ],
)
def test_parse_call_rejects_with_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_call(text)


call_like = st.builds(
    lambda name, args: f"{name}({args})", st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,8}", fullmatch=True),
    st.text(alphabet=st.sampled_from("ab1=,'\"()[]{}.:*- _\\xlambd"), max_size=40),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), call_like))
def test_parse_call_raises_only_value_error(text: str) -> None:
    try:
        call = parse_call(text)
    except ValueError:
        return
    assert parse_call(call.text) == call  # the normalised text reads back the same
    assert not call.name.startswith("_") and (call.owner is None or "." not in call.owner)


def test_to_json_value_rules() -> None:
    assert to_json_value({1: 2.0 / 3, "s": {3, 1, 2}, "t": (True, None), "e": [...]}) == {
        "1": 0.67, "s": [1, 2, 3], "t": [True, None], "e": ["..."]}  # fmt: skip
    with pytest.raises(TypeError, match="not JSON-ready: object"):
        to_json_value([object()])


def test_config_rejects_unknown_keys_and_repeats() -> None:
    with pytest.raises(pydantic.ValidationError):
        BFCLConfig(categories=["multi_turn_base"], typo=1)
    with pytest.raises(pydantic.ValidationError, match="distinct"):
        BFCLConfig(categories=["multi_turn_base", "multi_turn_base"])
    with pytest.raises(pydantic.ValidationError):
        BFCLConfig(categories=["simple_python"])


# --- real BFCL data ---------------------------------------------------------------------------------------------


def _require_bfcl_eval() -> None:
    pytest.importorskip("bfcl_eval", reason="bfcl-eval not installed (make install unpacks it)")


@pytest.fixture(scope="module")
def ground_truth() -> dict[str, list[list[str]]]:
    _require_bfcl_eval()
    from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH

    lines = (POSSIBLE_ANSWER_PATH / "BFCL_v4_multi_turn_base.json").read_text(encoding="utf-8").splitlines()
    return {d["id"]: d["ground_truth"] for d in map(json.loads, lines)}


def test_categories_match_the_package() -> None:
    _require_bfcl_eval()
    from bfcl_eval.constants.category_mapping import MULTI_TURN_CATEGORY

    assert list(bfcl.Category.__args__) == MULTI_TURN_CATEGORY


def test_replay_three_real_episodes(ground_truth: dict[str, list[list[str]]]) -> None:
    config = BFCLConfig(max_episodes=3, max_state_chars=100_000)
    episodes, counts = replay(config, seed=0)
    again, _ = replay(config, seed=0)
    assert episodes == again  # deterministic
    assert [e.episode_id for e in episodes] != [e.episode_id for e in replay(config, seed=1)[0]]
    assert counts.episodes == 3 and counts.skipped == {"unparsable": 0, "unknown_function": 0, "raised": 0}
    for episode in episodes:
        calls = [c for turn in ground_truth[episode.episode_id] for c in turn]
        assert re.fullmatch(r"multi_turn_base_\d+", episode.episode_id) and episode.env == "bfcl"
        assert [t.z for t in episode.transitions] == [ast.unparse(ast.parse(c)) for c in calls]
        assert [t.step for t in episode.transitions] == list(range(len(calls)))
        turns = [turn for turn, calls_of_turn in enumerate(ground_truth[episode.episode_id]) for _ in calls_of_turn]
        assert [t.meta for t in episode.transitions] == [
            {"category": "multi_turn_base", "turn": turn, "truncated": []} for turn in turns]  # fmt: skip
        for t in episode.transitions:
            x, y = json.loads(t.x), json.loads(t.y)
            assert set(x) == {"state", "user"} and set(y) == {"return", "state"} and x["user"] and x["state"]
            assert t.x == bfcl.dumps(x) and t.y == bfcl.dumps(y)  # sorted keys, compact
        for t, after in zip(episode.transitions, episode.transitions[1:], strict=False):
            assert json.loads(after.x)["state"] == json.loads(t.y)["state"]  # y's state at i is x's state at i + 1
    assert counts.transitions == sum(len(e) for e in episodes)


def test_replay_first_episode_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    _require_bfcl_eval()
    first = next(bfcl._entries(["multi_turn_base"]))
    monkeypatch.setattr(bfcl, "_entries", lambda categories: iter([first]))
    (episode,), _ = replay(BFCLConfig(max_state_chars=100_000), seed=0)
    assert episode.episode_id == "multi_turn_base_0" and len(episode) == 10
    cd, mkdir, mv = (json.loads(t.y) for t in episode.transitions[:3])
    assert json.loads(episode.transitions[0].x)["state"]["GorillaFileSystem"]["cwd"] == "/workspace"
    assert cd["return"] == {"current_working_directory": "document"}
    assert cd["state"]["GorillaFileSystem"]["cwd"] == "/workspace/document"
    assert mkdir["return"] is None
    assert mkdir["state"]["GorillaFileSystem"]["tree"]["workspace"]["document"]["temp"] == {}
    document = mv["state"]["GorillaFileSystem"]["tree"]["workspace"]["document"]
    assert "final_report.pdf" not in document and document["temp"]["final_report.pdf"].startswith("Year2024")
    assert mv["state"]["TwitterAPI"]["tweet_counter"] == 3 and "long_context" not in mv["state"]["TwitterAPI"]
    assert json.loads(episode.transitions[0].x)["user"].startswith("Move 'final_report.pdf' within document")


def test_replay_skips_bad_calls_by_reason(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    _require_bfcl_eval()
    tree = {"r": {"type": "directory", "contents": {"a": {"type": "directory", "contents": {}}}}}
    entry = {"id": "multi_turn_base_x", "involved_classes": ["GorillaFileSystem", "MathAPI"],
             "initial_config": {"GorillaFileSystem": {"root": tree}},
             "question": [[{"role": "user", "content": "go"}], []]}  # fmt: skip
    calls = [["cd(folder='a')", "__import__('os').system('x')", "getattr('a', '__class__')",
              "TicketAPI.cd(folder='a')", "cd(folder='a', bogus=1)", "add(a=1, b=2)"],
             ["GorillaFileSystem.pwd()"]]  # fmt: skip
    monkeypatch.setattr(bfcl, "_entries", lambda categories: iter([("multi_turn_base", entry, calls)]))
    with caplog.at_level(logging.INFO, logger=bfcl.__name__):
        (episode,) = bfcl.generate_episodes(BFCLConfig(max_state_chars=100), seed=0)
    assert [t.z for t in episode.transitions] == ["cd(folder='a')", "add(a=1, b=2)", "GorillaFileSystem.pwd()"]
    assert [t.meta["turn"] for t in episode.transitions] == [0, 0, 1]
    assert all(len(t.x) <= 100 and len(t.y) <= 100 for t in episode.transitions)
    x, y = (json.loads(s) for s in (episode.transitions[2].x, episode.transitions[1].y))
    assert x == {"state": {"GorillaFileSystem": {"cwd": "/r/a", "tree": {"r": {"a": {}}}}}, "user": "go"}
    assert y["return"] == {"result": 3}
    assert "1 episodes, 3 transitions of 7 ground-truth calls" in caplog.text
    assert "{'unparsable': 1, 'unknown_function': 2, 'raised': 1}" in caplog.text


def test_truncation_is_counted() -> None:
    _require_bfcl_eval()
    episodes, counts = replay(BFCLConfig(max_episodes=2, max_state_chars=300), seed=0)
    cut = [t for e in episodes for t in e.transitions if t.meta["truncated"]]
    assert cut and counts.truncated == len(cut)
    assert all(len(t.x) <= 300 and len(t.y) <= 300 and "chars cut]" in t.x for t in cut)
