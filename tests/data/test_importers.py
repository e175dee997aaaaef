"""Importers of the recorded data sets and the truncation rule: hand-computed fixtures for every rule,
property tests that malformed input raises DataError and nothing else, and counts on the real files."""

import copy
import json
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.data.importers import import_episodes, propara, tau_bench, webshop
from swirl_wm.data.jsonl import DataError, read_transitions
from swirl_wm.data.truncate import count_truncated, truncate_states, truncate_text
from swirl_wm.records import Episode, Transition

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


def _paths(value, prefix=()):
    """Every path (tuple of keys/indices) inside a JSON value, the root excluded."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        yield prefix + (key,)
        yield from _paths(child, prefix + (key,))


def _mutate(value, path, new, delete):
    """A deep copy of ``value`` with the item at ``path`` replaced by ``new`` (or deleted)."""
    value = copy.deepcopy(value)
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return value


def _import_or_data_error(importer, path) -> list[Episode]:
    """Malformed input raises DataError (nothing else); whatever imports is well-formed."""
    try:
        episodes = importer(path)
    except DataError:
        return []
    for e in episodes:
        assert e.transitions and [t.step for t in e.transitions] == list(range(len(e)))
        assert all(t.x.strip() and t.y.strip() and t.z for t in e.transitions)
    return episodes


def _triples(episodes: list[Episode]) -> list[tuple[str, str | None, str]]:
    return [(t.x, t.z, t.y) for e in episodes for t in e.transitions]


# --- truncation ---------------------------------------------------------------------------------------

def test_truncate_keeps_a_third_of_head_and_two_thirds_of_tail():
    text = "a" * 50 + "b" * 100
    # marker for 150 (3 digits) is 21 chars; room 79 -> head 26, tail 53, cut 150 - 79 = 71
    assert truncate_text(text, 100) == ("a" * 26 + " … [71 chars cut] … " + "b" * 53, True)
    assert truncate_text(text, 150) == (text, False)
    with pytest.raises(ValueError, match="at least 100"):
        truncate_text(text, 99)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="ab\n é", max_size=600), st.integers(100, 400))
def test_truncate_is_within_budget_and_keeps_head_and_tail(text, max_chars):
    out, cut = truncate_text(text, max_chars)
    assert len(out) <= max_chars and cut == (len(text) > max_chars)
    if cut:
        head, n, tail = re.fullmatch(r"(.*) … \[(\d+) chars cut\] … (.*)", out, re.DOTALL).groups()
        assert text.startswith(head) and text.endswith(tail) and int(n) == len(text) - len(head) - len(tail)
    else:
        assert out == text


def test_truncate_states_marks_the_cut_fields_in_meta():
    t = truncate_states(Transition(x="x" * 300, z="z" * 300, y="short", meta={"k": 1}), 100)
    assert len(t.x) <= 100 and t.z == "z" * 300 and t.y == "short"
    assert t.meta == {"k": 1, "truncated": ["x"]}
    assert count_truncated([Episode("e", "env", (t, truncate_states(Transition(x="a", z=None, y="b"), 100)))]) == 1


# --- tau-bench ----------------------------------------------------------------------------------------

def _call(call_id, name, args):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


TAU = {"task_id": 3, "trial": 1, "reward": 1.0, "info": {}, "traj": [
    {"role": "system", "content": "# Airline Agent Policy"},
    {"role": "user", "content": "Cancel ABC."},
    {"role": "assistant", "content": None, "tool_calls": [_call("c1", "think", {"thought": "check"})]},
    {"role": "tool", "tool_call_id": "c1", "name": "think", "content": ""},
    {"role": "assistant", "content": "Looking it up.",
     "tool_calls": [_call("c2", "get_reservation_details", {"reservation_id": "ABC"})]},
    {"role": "tool", "tool_call_id": "c2", "name": "get_reservation_details", "content": '{"status": "ok"}'},
    # tool_calls as a Python repr (tau-bench's other logs): parsed by ast.literal_eval
    {"role": "assistant", "content": None, "tool_calls": repr([_call("c3", "calculate", {"expression": "1+1"})])},
    {"role": "tool", "tool_call_id": "c3", "name": "calculate", "content": "2.0"},
    {"role": "assistant", "content": None,
     "tool_calls": [_call("c4", "cancel_reservation", {"reservation_id": "ABC"})]},
    {"role": "tool", "tool_call_id": "c4", "name": "cancel_reservation", "content": '{"status": "cancelled"}'},
    {"role": "user", "content": "Thanks ###STOP###"},
]}
TAU_TRANSFER = {"task_id": 4, "trial": 0, "reward": 0.0, "info": {}, "traj": [
    {"role": "user", "content": "A human, please."},
    {"role": "assistant", "content": None, "tool_calls": [_call("t1", "transfer_to_human_agents", {"summary": "x"})]},
    {"role": "tool", "tool_call_id": "t1", "name": "transfer_to_human_agents", "content": "Transfer successful"},
]}


def _tau_file(tmp_path, episodes) -> Path:
    path = tmp_path / "airline.json"
    path.write_text(json.dumps(episodes, indent=2), encoding="utf-8")
    return path


def test_tau_bench_transitions_rules_and_counts(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger=tau_bench.__name__):
        episodes = tau_bench.import_episodes(_tau_file(tmp_path, [TAU, TAU_TRANSFER]))
    (episode,) = episodes  # the transfer-only episode has no environment step
    assert episode.episode_id == "tau-bench-3-1" and episode.env == "tau-bench"
    history = "user: Cancel ABC.\nassistant: Looking it up."  # no system prompt, no think
    reservation = 'get_reservation_details({"reservation_id": "ABC"})'
    assert _triples(episodes) == [
        (history, reservation, '{"status": "ok"}'),
        (history + f'\ncall: {reservation}\ntool[get_reservation_details]: {{"status": "ok"}}'
         '\ncall: calculate({"expression": "1+1"})\ntool[calculate]: 2.0',
         'cancel_reservation({"reservation_id": "ABC"})', '{"status": "cancelled"}')]
    assert [t.step for t in episode.transitions] == [0, 1]
    assert episode.transitions[1].meta == {"source": "airline.json", "line": 2, "task_id": 3, "trial": 1,
                                           "reward": 1.0, "message": 9, "truncated": []}
    assert ("2 transitions from 5 tool calls; skipped calls {'calculate': 1, 'think': 1, "
            "'transfer_to_human_agents': 1}; 1 episodes without an environment call skipped") in caplog.text


def test_tau_bench_cuts_long_states(tmp_path):
    long = copy.deepcopy(TAU)
    long["traj"][5]["content"] = json.dumps({"flights": ["HAT001"] * 100})
    episode = tau_bench.import_episodes(_tau_file(tmp_path, [long]), max_state_chars=200)[0]
    assert [t.meta["truncated"] for t in episode.transitions] == [["y"], ["x"]]
    assert all(len(t.x) <= 200 and len(t.y) <= 200 for t in episode.transitions)


def _tau_with(path, value, delete=False):
    return _mutate(TAU, path, value, delete)


@pytest.mark.parametrize(("episode", "field", "message"), [
    (_tau_with(("task_id",), "3"), "task_id", "expected int"),
    (_tau_with(("reward",), True), "reward", "expected int or float"),
    (_tau_with(("traj",), None, delete=True), "traj", "missing"),
    (_tau_with(("traj", 1, "role"), "bot"), "traj[1].role", "expected one of"),
    (_tau_with(("traj", 1, "content"), None), "traj[1].content", "expected str"),
    (_tau_with(("traj", 4, "tool_calls", 0, "function", "arguments"), "{oops"),
     "traj[4].tool_calls[0].function.arguments", "not valid JSON"),
    (_tau_with(("traj", 4, "tool_calls", 0, "function", "arguments"), "[1]"),
     "traj[4].tool_calls[0].function.arguments", "JSON object"),
    (_tau_with(("traj", 4, "tool_calls"), "__import__('os').system('false')"), "traj[4].tool_calls",
     "not a Python literal"),
    (_tau_with(("traj", 4, "tool_calls"), []), "traj[4].tool_calls", "non-empty list"),
    (_tau_with(("traj", 5, "tool_call_id"), "zz"), "traj[5].tool_call_id", "no open tool call"),
    (_tau_with(("traj", 5, "name"), "book_reservation"), "traj[5].name", "the call's name"),
    (_tau_with(("traj", 5), None, delete=True), "traj[5].role", "has no tool message"),
    (_tau_with(("traj",), TAU["traj"][:9]), "traj", "has no tool message"),
])
def test_tau_bench_errors_name_line_and_field(tmp_path, episode, field, message):
    path = _tau_file(tmp_path, [TAU_TRANSFER, episode])
    second = [n for n, row in enumerate(path.read_text().split("\n"), 1) if row == "  {"][1]
    with pytest.raises(DataError) as info:
        tau_bench.import_episodes(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), second, field)
    assert message in str(info.value)


@pytest.mark.parametrize(("text", "line", "message"), [
    ('{"task_id": 1}', 1, "expected a JSON list"),
    ("[]", 1, "no episodes"),
    ('[\n  {"task_id": 1,\n  "trial": }\n]', 3, "invalid JSON"),
    (f"[{json.dumps(TAU)}] x", 1, "final ']'"),
    (json.dumps([TAU_TRANSFER]), 0, "no transitions"),
    (json.dumps([TAU, TAU]), 1, "unique"),
])
def test_tau_bench_file_errors(tmp_path, text, line, message):
    path = tmp_path / "airline.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        tau_bench.import_episodes(path)
    assert info.value.line == line and message in str(info.value)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(_paths(TAU))), json_values, st.booleans())
def test_tau_bench_mutated_episode_imports_or_raises_data_error(tmp_path_factory, path, value, delete):
    file = _tau_file(tmp_path_factory.mktemp("tau"), [_mutate(TAU, path, value, delete)])
    _import_or_data_error(tau_bench.import_episodes, file)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200) | st.text(alphabet='[]{}",: \n0a\\', max_size=60).map(str.encode))
def test_tau_bench_arbitrary_bytes_import_or_raise_data_error(tmp_path_factory, raw):
    file = tmp_path_factory.mktemp("tau") / "airline.json"
    file.write_bytes(raw)
    with pytest.raises(DataError):
        tau_bench.import_episodes(file)


# --- WebShop ------------------------------------------------------------------------------------------

WEBSHOP = """-----------------
0
Action: reset
Observation: \nWebshop \nInstruction:  \ni need a red mug \n[Search] \n
Action: search[red mug]
Observation: \n[Back to Search] \nPage 1 (Total results: 50) \n[Next >] \n[B01] \nRed Mug \n$5.00 \n
Action: think[B01 looks right.]
Observation: OK.

Action: click[Next >]
Observation: Invalid action!

Action: click[B01]
Observation: \n[Back to Search] \n[< Prev] \ncolor [red][blue]\nRed Mug \nPrice: $5.00 \n
Action: click[red]
Observation: You have clicked red.

Action: click[Buy Now]
Observation: Your score (min 0.0, max 1.0): 1.0

1 1.0 1.0 0.0
-------------
-----------------
1
Action: reset
Observation: \nWebshop \nInstruction:  \na blue#b cup \n[Search] \n
Action: search[blue#b cup]
Observation: \n
Action: think[No results.]
Observation: OK.

Action: click[Back to Search]
Observation: \nWebshop \nInstruction:  \na blue#b cup \n[Search] \n
2 0.5 0.5 0.0
-------------
0.5 0.5 0.0
"""


def _webshop_file(tmp_path, text) -> Path:
    path = tmp_path / "log.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_webshop_transitions_rules_and_counts(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger=webshop.__name__):
        episodes = webshop.import_episodes(_webshop_file(tmp_path, WEBSHOP))
    (episode,) = episodes  # episode 1 loses its page to an empty observation and keeps nothing
    results = "[Back to Search]\nPage 1 (Total results: 50)\n[Next >]\n[B01]\nRed Mug\n$5.00"
    item = "[Back to Search]\n[< Prev]\ncolor [red][blue]\nRed Mug\nPrice: $5.00"
    assert _triples(episodes) == [
        ("Webshop\nInstruction:\ni need a red mug\n[Search]", "search[red mug]", results),
        (f"Instruction: i need a red mug\n{results}", "click[B01]", item),
        (f"Instruction: i need a red mug\n{item}", "click[Buy Now]", "Your score (min 0.0, max 1.0): 1.0")]
    assert episode.episode_id == "webshop-0" and [t.step for t in episode.transitions] == [0, 1, 2]
    assert [t.meta["line"] for t in episode.transitions] == [10, 25, 36]
    assert episode.transitions[0].meta == {"source": "log.txt", "line": 10, "goal": "fixed_0", "truncated": []}
    assert ("3 transitions; skipped steps {'after an empty observation': 1, 'empty observation': 1, "
            "'invalid action': 1, 'option click': 1, 'think': 2}; 1 episodes without a transition") in caplog.text


@pytest.mark.parametrize(("old", "new", "line", "field", "message"), [
    ("0\nAction: reset", "0\nAction: search[x]", 2, "action", "must start with 'Action: reset'"),
    ("Action: click[B01]", "Action: buy[B01]", 25, "action", "expected search[...], click[...]"),
    ("looks right.]\nObservation: OK.", "looks right.]\nObservation: Sure.", 19, "observation", "'OK.'"),
    ("clicked red.", "clicked blue.", 33, "observation", "does not echo"),
    ("Action: click[Next >]\nObservation: Invalid action!", "Action: click[Next >]", 22, "observation",
     "expected an 'Observation: ...' line"),
    ("Action: click[red]", "Action: reset", 33, "action", "'reset' inside an episode"),
    ("1 1.0 1.0 0.0\n", "", 37, "summary", "run summary line"),
    ("-------------\n-----------------\n1", "-----------------\n1", 1, "", "not closed"),
    ("-----------------\n1\n", "-----------------\none\n", 42, "index", "episode index"),
    ("-----------------\n1\n", "-----------------\n0\n", 42, "index", "repeats"),
    ("-------------\n-----------------\n1", "-------------\nnotes\n-----------------\n1", 41, "",
     "outside an episode"),
    ("0\nAction: reset", "0\nnotes\nAction: reset", 3, "action", "expected 'Action: ...'"),
])
def test_webshop_errors_name_line_and_field(tmp_path, old, new, line, field, message):
    assert WEBSHOP.count(old) == 1
    path = _webshop_file(tmp_path, WEBSHOP.replace(old, new))
    with pytest.raises(DataError) as info:
        webshop.import_episodes(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), line, field)
    assert message in str(info.value)


def test_webshop_step_after_the_score_and_no_transitions_are_errors(tmp_path):
    after_score = WEBSHOP.replace("max 1.0): 1.0\n", "max 1.0): 1.0\n\nAction: click[B01]\nObservation: x\n")
    with pytest.raises(DataError, match="after the episode ended"):
        webshop.import_episodes(_webshop_file(tmp_path, after_score))
    with pytest.raises(DataError, match="no transitions") as info:
        webshop.import_episodes(_webshop_file(tmp_path, WEBSHOP[WEBSHOP.index("-----------------\n1"):]))
    assert info.value.line == 0


_WEBSHOP_LINES = ["-----------------", "-------------", "0", "1", "", "1 0.5 0.5 0.0", "Action: reset",
                  "Action: search[mug]", "Action: click[B01]", "Action: click[red]", "Action: think[hm]",
                  "Action: click[Buy Now]", "Observation:", "Observation: OK.", "Observation: Invalid action!",
                  "Observation: You have clicked red.", "Observation: Your score (min 0.0, max 1.0): 1.0",
                  "Webshop", "Instruction:", "a mug", "[Search]", "[B01]", "Action:", "Action: x[", "\x00é"]


def _edit(lines: list[str], edits: list[tuple[int, int, int]]) -> list[str]:
    """Apply (operation, i, j) edits to a copy of ``lines``: 0 delete line i, 1 copy line j to i, 2 swap."""
    lines = list(lines)
    for op, i, j in edits:
        i, j = i % len(lines), j % len(lines)
        if op == 0 and len(lines) > 1:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[j])
        else:
            lines[i], lines[j] = lines[j], lines[i]
    return lines


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_WEBSHOP_LINES), max_size=40)
       | st.text(max_size=80).map(lambda text: text.split("\n"))
       | st.lists(st.tuples(st.integers(0, 2), st.integers(0, 99), st.integers(0, 99)), min_size=1, max_size=3)
       .map(lambda edits: _edit(WEBSHOP.split("\n"), edits)))
def test_webshop_arbitrary_logs_import_or_raise_data_error(tmp_path_factory, lines):
    file = _webshop_file(tmp_path_factory.mktemp("ws"), "\n".join(lines))
    episodes = _import_or_data_error(webshop.import_episodes, file)
    assert all(t.z.startswith(("search[", "click[")) for e in episodes for t in e.transitions)


# --- ProPara ------------------------------------------------------------------------------------------

PARA = {"para_id": "7", "sentence_texts": ["Water falls.", "It soaks in."],
        "participants": ["water", "rain; drops"], "states": [["cloud", "soil", "root"], ["-", "?", "-"]]}


def _grids(folder, split, rows) -> Path:
    path = folder / f"grids.v1.{split}.json"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_propara_transitions(tmp_path):
    episodes = propara.import_episodes(_grids(tmp_path, "dev", [PARA]))
    assert _triples(episodes) == [
        ("Text so far: (none)\nLocations: water: cloud | rain; drops: -", "Water falls.",
         "water: soil | rain; drops: ?"),
        ("Text so far: Water falls.\nLocations: water: soil | rain; drops: ?", "It soaks in.",
         "water: root | rain; drops: -")]
    (episode,) = episodes
    assert episode.episode_id == "propara-7" and [t.step for t in episode.transitions] == [0, 1]
    assert episode.transitions[1].meta == {"source": "grids.v1.dev.json", "line": 1, "split": "dev",
                                           "para_id": "7", "truncated": []}


def test_propara_folder_reads_train_dev_test_and_keeps_the_split(tmp_path):
    for k, split in enumerate(propara.SPLITS):
        _grids(tmp_path, split, [PARA | {"para_id": str(k)}])
    episodes = propara.import_episodes(tmp_path)
    assert [(e.episode_id, e.transitions[0].meta["split"]) for e in episodes] == [
        ("propara-0", "train"), ("propara-1", "dev"), ("propara-2", "test")]
    _grids(tmp_path, "test", [PARA | {"para_id": "1"}])
    with pytest.raises(DataError, match="occurs twice") as info:
        propara.import_episodes(tmp_path)
    assert info.value.path.endswith("grids.v1.test.json") and info.value.field == "para_id"
    (tmp_path / "grids.v1.dev.json").unlink()
    with pytest.raises(FileNotFoundError):
        propara.import_episodes(tmp_path)


@pytest.mark.parametrize(("key", "value", "field", "message"), [
    ("para_id", 7, "para_id", "non-empty string"),
    ("sentence_texts", [], "sentence_texts", "non-empty list"),
    ("participants", ["water", " "], "participants[1]", "non-empty string"),
    ("states", [["cloud", "soil", "root"]], "states", "2 rows"),
    ("states", [["cloud", "soil"], ["-", "?", "-"]], "states[0]", "3 locations"),
    ("states", [["cloud", "", "root"], ["-", "?", "-"]], "states[0][1]", "'-' = does not exist"),
])
def test_propara_errors_name_line_and_field(tmp_path, key, value, field, message):
    path = _grids(tmp_path, "train", [PARA | {"para_id": "1"}, PARA | {key: value}])
    with pytest.raises(DataError) as info:
        propara.import_episodes(path)
    assert (info.value.line, info.value.field) == (2, field) and message in str(info.value)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(_paths(PARA))), json_values, st.booleans())
def test_propara_mutated_grid_imports_or_raises_data_error(tmp_path_factory, path, value, delete):
    file = _grids(tmp_path_factory.mktemp("pp"), "train", [_mutate(PARA, path, value, delete)])
    _import_or_data_error(propara.import_episodes, file)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_propara_arbitrary_bytes_import_or_raise_data_error(tmp_path_factory, raw):
    file = tmp_path_factory.mktemp("pp") / "grids.v1.train.json"
    file.write_bytes(raw)
    with pytest.raises(DataError):
        propara.import_episodes(file)


# --- CLI ----------------------------------------------------------------------------------------------

def test_cli_import_writes_jsonl_and_fails_cleanly(tmp_path):
    runner = CliRunner()
    out = tmp_path / "out.jsonl"
    grids = _grids(tmp_path, "dev", [PARA])
    result = runner.invoke(app, ["data", "import", "--format", "propara", "--input", str(grids), "--output", str(out)])
    assert result.exit_code == 0 and "wrote 2 transitions of 1 episodes" in result.output
    assert [(t.x, t.z, t.y) for t in read_transitions(out)] == _triples(propara.import_episodes(grids))
    bad = runner.invoke(app, ["data", "import", "--format", "webshop", "--input", str(grids), "--output", str(out)])
    assert bad.exit_code == 2 and "outside an episode" in bad.output
    missing = runner.invoke(app, ["data", "import", "--format", "propara", "--input", str(tmp_path / "no.json"),
                                  "--output", str(out)])
    assert missing.exit_code == 2 and "No such file" in missing.output
    unknown = runner.invoke(app, ["data", "import", "--format", "alfworld", "--input", str(grids),
                                  "--output", str(out)])
    assert unknown.exit_code == 2 and "'alfworld' is not one of 'tau-bench', 'webshop', 'propara'" in " ".join(
        unknown.output.replace("│", " ").split())


# --- the recorded files -------------------------------------------------------------------------------

REAL = {
    "tau-bench": SHARED / "tau_bench_airline" / "gpt-4o-airline.json",
    "webshop": SHARED / "react_webshop" / "react_webshop_500_episodes.txt",
    "propara": SHARED / "propara",
}


def _real(name: str) -> list[Episode]:
    if not REAL[name].exists():
        pytest.skip(f"{REAL[name]} is missing (shared/ is cloned beside the repository in CI)")
    episodes = import_episodes(name, REAL[name], 2000)
    assert len({e.episode_id for e in episodes}) == len(episodes)
    for e in episodes:
        assert e.env == name and [t.step for t in e.transitions] == list(range(len(e)))
        assert all(t.x.strip() and t.y.strip() and t.z and len(t.x) <= 2000 and len(t.y) <= 2000
                   for t in e.transitions)
    return episodes


def test_real_tau_bench_airline():
    episodes = _real("tau-bench")
    n = sum(len(e) for e in episodes)
    assert 150 <= len(episodes) <= 200 and 700 <= n <= 1164  # README: 200 episodes, 1,164 tool calls
    assert not any(t.z.startswith(tuple(f"{name}(" for name in tau_bench.NOT_ENV_STEPS))
                   for e in episodes for t in e.transitions)


def test_real_webshop():
    episodes = _real("webshop")
    n = sum(len(e) for e in episodes)
    assert 450 <= len(episodes) <= 500 and 1200 <= n <= 2350  # README: ~2,350 search/click steps
    ys = [t.y for e in episodes for t in e.transitions]
    assert not any(y == "Invalid action!" or y.startswith("You have clicked") for y in ys)
    assert sum(y.startswith("Your score") for y in ys) > 400


def test_real_propara():
    episodes = _real("propara")
    n = sum(len(e) for e in episodes)
    assert 450 <= len(episodes) <= 500 and 3000 <= n <= 3500  # README: 488 paragraphs, 3,302 steps
    assert {e.transitions[0].meta["split"] for e in episodes} == set(propara.SPLITS)
