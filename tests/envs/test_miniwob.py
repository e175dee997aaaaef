"""Tests for swirl_wm.envs.miniwob: the DOM-to-text renderer, ref normalisation and policy on hand-made
pages (no browser), a property test of the renderer, and one short live run (needs Chromium + miniwob)."""

from __future__ import annotations

import random
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.envs import miniwob as mw
from swirl_wm.envs.miniwob import Action, Line, MiniWoBConfig, choose_action, page_lines, render_state

ROOT = Path(__file__).resolve().parents[2]


def node(tag: str, ref: int, *children: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A node in core.getDOMInfo's format; the box defaults to a visible one."""
    return {"tag": tag, "ref": ref, "left": 2, "top": 50, "width": 20, "height": 10, "children": list(children),
            **fields}  # fmt: skip


def text(ref: int, words: str, **fields: Any) -> dict[str, Any]:
    return node("t", ref, text=words, **fields)


# A page as core.getDOMInfo returns it: a dialog whose close button's name is drawn off-screen, check
# boxes in labels, a paragraph of mixed content whose text nodes are wrapped over lines, an accordion
# header with an icon, a text field, and elements without text or off the page.
PAGE = node(
    "BODY", 1,
    node("DIV", 2,
         node("DIV", 3, text=""),  # an empty leaf: no line
         node("BUTTON", 4, node("SPAN", 5, text=""), text(-1, "Close", left=-4909), classes="ui-dialog-close"),
         node("LABEL", 6, node("INPUT_checkbox", 7, value=False), text(-2, "USa")),
         node("LABEL", 8, node("INPUT_checkbox", 9, value=True, focused=True), text(-3, "DK\"kQH")),
         node("P", 10, text(-4, "Cursus"), node("SPAN", 11, text="justo."), text(-5, "Facilisis"),
              text(-6, "aliquam  nisl"), node("SPAN", 12, text=""), text(-7, "off", top=-30)),
         node("H3", 13, node("SPAN", 14, text=""), text(-8, "Section #9")),
         node("P", 15, text(-9, "Name"), node("INPUT_text", 16, value="Bob", id="username")),
         node("DIV", 17, text="hidden", left=-200, width=100),
         node("BUTTON", 18, text="Submit", id="subbtn")),
)  # fmt: skip
PAGE_TEXT = """Task: Select DK"kQH and click Submit.
[1] button "Close"
[2] label "USa"
[3] input_checkbox unchecked
[4] label "DK\\"kQH"
[5] input_checkbox checked focused
[6] text "Cursus"
[7] span "justo."
[8] text "Facilisis aliquam nisl"
[9] h3 "Section #9"
[10] p "Name"
[11] input_text value="Bob"
[12] button "Submit\""""


def test_page_lines_by_hand() -> None:
    lines = page_lines(PAGE)
    assert render_state('Select DK"kQH  and click Submit.', lines) == PAGE_TEXT
    assert [line.page_ref for line in lines] == [4, 6, 7, 8, 9, -4, 11, -5, 13, 15, 16, 18]
    assert lines[10].element_id == "username"


def test_refs_do_not_depend_on_page_refs() -> None:
    """Text nodes get new page refs at every read and element refs count the episode's history: the state
    text must not change with them."""
    renumbered = _relabel(PAGE, random.Random(0))
    assert render_state("t", page_lines(renumbered)) == render_state("t", page_lines(PAGE))


def test_state_after_the_episode() -> None:
    assert mw.render_done("Click  on it.", 1.0) == "Task: Click on it.\nDone: reward 1"
    assert mw.render_done("Click on it.", 2 / 3).endswith("reward 0.666667")


def test_action_text() -> None:
    assert Action(3).render() == "CLICK_ELEMENT ref=3"
    assert Action(5, 'say "hi"').render() == 'TYPE_TEXT ref=5 text="say \\"hi\\""'


LOGIN = (Line(6, "label", "Username"), Line(7, "input_text", "", "", element_id="username"),
         Line(9, "label", "Password"), Line(10, "input_password", "", "", element_id="password"),
         Line(11, "button", "Login"))  # fmt: skip
LOGIN_UTTERANCE = 'Enter the username "vina" and the password "US" into the text fields and press login.'
LOGIN_FIELDS = [("username", "vina"), ("password", "US")]


def _heuristic_only(lines: tuple[Line, ...], utterance: str, fields: list[tuple[str, str]], targeted: set[int]):
    return choose_action(lines, utterance, fields, targeted, random.Random(0), 0.0)


def test_policy_fills_a_form_then_presses_the_named_button() -> None:
    targeted: set[int] = set()
    # the password field is filled first when the username one is not empty any more
    filled = (*LOGIN[:3], Line(10, "input_password", "", "", element_id="password"), LOGIN[4])
    assert _heuristic_only(LOGIN, LOGIN_UTTERANCE, LOGIN_FIELDS, targeted) == Action(2, "vina")
    assert _heuristic_only(filled, LOGIN_UTTERANCE, LOGIN_FIELDS, targeted) == Action(4, "US")
    assert _heuristic_only(LOGIN, LOGIN_UTTERANCE, LOGIN_FIELDS, targeted) == Action(5)
    assert targeted == {7, 10, 11}
    assert _heuristic_only(LOGIN, LOGIN_UTTERANCE, LOGIN_FIELDS, targeted) is not None  # random when nothing left


def test_policy_clicks_targets_tabs_and_headers() -> None:
    tabs = (Line(6, "a", "Tab #1"), Line(8, "a", "Tab #2"), Line(-1, "text", "lorem"), Line(12, "span", "felis"))
    assert _heuristic_only(tabs, "Click on Tab #2.", [("target", "2")], set()) == Action(2)
    assert _heuristic_only(tabs, 'find the link "felis".', [("target", "felis")], set()) == Action(4)
    assert _heuristic_only(tabs, 'find the link "nam".', [("target", "nam")], set()) == Action(1)  # explore tabs
    collapsed = (Line(4, "h3", "Section #9"), Line(7, "button", "Submit"))
    assert _heuristic_only(collapsed, "Expand the section below and click submit.", [], set()) == Action(1)
    assert _heuristic_only(collapsed, "Expand the section below and click submit.", [], {4}) == Action(2)


def test_policy_random_actions_and_nothing_to_click() -> None:
    rng = random.Random(1)
    actions = {choose_action(LOGIN, LOGIN_UTTERANCE, LOGIN_FIELDS, set(), rng, 1.0) for _ in range(200)}
    assert {a.ref for a in actions} == {1, 2, 3, 4, 5}
    assert all((a.text is not None) == (a.ref in (2, 4)) for a in actions)  # text inputs are typed into
    assert choose_action((Line(-1, "text", "x"),), "u", [], set(), rng, 0.0) is None


def test_config_rejects_unknown_keys_and_tiny_budgets() -> None:
    with pytest.raises(pydantic.ValidationError):
        MiniWoBConfig(taks=["click-button"])
    with pytest.raises(pydantic.ValidationError):
        MiniWoBConfig(max_state_chars=50)


def test_episode_seeds_are_distinct_stable_and_per_task() -> None:
    config = MiniWoBConfig(episodes_per_task=50)
    seeds = mw.episode_seeds(config, 0, "click-button")
    assert seeds == sorted(set(seeds)) and len(seeds) == 50
    assert seeds == mw.episode_seeds(MiniWoBConfig(tasks=["enter-text", "click-button"], episodes_per_task=50), 0,
                                     "click-button")  # fmt: skip
    assert seeds != mw.episode_seeds(config, 1, "click-button")


# --- property test: random pages ------------------------------------------------------------------------

_WORDS = st.lists(st.sampled_from(["a", "Ok", "x\ny", 'say "hi"', "tab\t#2", "\u2028", "ünï"]), min_size=1,
                  max_size=3).map(" ".join)  # fmt: skip
_ELEMENT_TAGS = ["DIV", "SPAN", "P", "H3", "BUTTON", "A", "LABEL", "INPUT_text", "INPUT_checkbox"]


def _element(tag: str, children: list[dict[str, Any]]) -> dict[str, Any]:
    return {"tag": tag, "children": children}


def _pages() -> st.SearchStrategy[dict[str, Any]]:
    text_node = st.builds(lambda t: {"tag": "t", "text": t, "children": []}, _WORDS)
    leaf = st.builds(lambda tag, t: {"tag": tag, "text": t, "children": []}, st.sampled_from(_ELEMENT_TAGS), _WORDS)
    empty = st.builds(lambda tag: {"tag": tag, "text": "", "children": []}, st.sampled_from(_ELEMENT_TAGS))
    parent = st.sampled_from(_ELEMENT_TAGS)
    tree = st.recursive(
        st.one_of(text_node, leaf, empty),
        lambda kids: st.builds(_element, parent, st.lists(kids, max_size=4)),
        max_leaves=12,
    )
    body = st.builds(_element, st.just("BODY"), st.lists(tree, min_size=1, max_size=4))
    return st.builds(_number, body, st.lists(st.booleans(), max_size=30))


def _number(page: dict[str, Any], offscreen: list[bool]) -> dict[str, Any]:
    """Give refs as core.getDOMInfo does (elements 1, 2, ...; text nodes -1, -2, ...), values to inputs, and
    move some nodes off the page."""
    counters = {"element": 0, "text": 0}
    for i, n in enumerate(_nodes(page)):
        kind = "text" if n["tag"] == "t" else "element"
        counters[kind] += 1
        n["ref"] = counters[kind] if kind == "element" else -counters[kind]
        if n["tag"] == "INPUT_checkbox":
            n["value"] = i % 2 == 0
        elif n["tag"] == "INPUT_text":
            n["value"] = n.pop("text", "")
        if i < len(offscreen) and offscreen[i] and n is not page:
            n["left"], n["width"] = -100, 50
    return page


def _nodes(page: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield page
    for child in page["children"]:
        yield from _nodes(child)


def _relabel(page: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same page with other refs: elements permuted, text nodes renumbered from another start."""
    copy = _copy(page)
    nodes = list(_nodes(copy))
    element_refs = [n["ref"] for n in nodes if n["tag"] != "t"]
    shuffled = rng.sample(element_refs, len(element_refs))
    mapping = dict(zip(element_refs, shuffled, strict=True))
    for n in nodes:
        n["ref"] = mapping[n["ref"]] if n["tag"] != "t" else n["ref"] - 1000
    return copy


def _copy(page: dict[str, Any]) -> dict[str, Any]:
    return {**page, "children": [_copy(child) for child in page["children"]]}


def _rewrap(page: dict[str, Any]) -> dict[str, Any]:
    """The same page with every text node of several words split in two, as a narrower font would wrap it."""
    copy = _copy(page)
    for n in _nodes(copy):
        children = []
        for child in n["children"]:
            head, _, tail = child.get("text", "").partition(" ")
            if child["tag"] == "t" and tail.strip() and head.strip():
                children += [{**child, "text": head}, {**child, "text": tail, "ref": child["ref"] - 500}]
            else:
                children.append(child)
        n["children"] = children
    return copy


@settings(max_examples=150, deadline=None)
@given(_pages(), st.randoms(use_true_random=False))
def test_rendering_properties(page: dict[str, Any], rng: random.Random) -> None:
    lines = page_lines(page)
    state = render_state("Click it.", lines)
    rows = state.split("\n")
    # one row per line, numbered 1..N in order: the refs z uses
    assert len(rows) == len(lines) + 1 and rows[0] == "Task: Click it."
    numbered = enumerate(zip(rows[1:], lines, strict=True), 1)
    assert all(row.startswith(f"[{i}] {line.tag}") for i, (row, line) in numbered)
    assert all(line.text == line.text.strip() and "\n" not in line.text for line in lines)
    # clickable lines are page elements, text runs are not
    tags = {n["ref"]: n["tag"] for n in _nodes(page)}
    assert all(tags[line.page_ref] != "t" if line.page_ref > 0 else line.tag == "text" for line in lines)
    # the text does not depend on the page's refs, nor on where text nodes are wrapped
    assert render_state("Click it.", page_lines(_relabel(page, rng))) == state
    assert render_state("Click it.", page_lines(_rewrap(page))) == state


# --- live: one short episode in headless Chromium -------------------------------------------------------


def _require_browser() -> None:
    """Skip unless miniwob, selenium, Chromium and chromedriver are there (tries the install script once)."""
    pytest.importorskip("miniwob", reason="the miniwob package is not installed (pip install miniwob==1.1.0)")
    pytest.importorskip("selenium", reason="selenium is not installed (a dependency of miniwob)")
    chromium, chromedriver = Path(mw.DEFAULT_CHROME_BINARY), Path(mw.DEFAULT_CHROMEDRIVER)
    if not chromium.is_file():
        try:
            subprocess.run(["bash", str(ROOT / "scripts" / "install_chromium.sh")], check=False, timeout=240,
                           capture_output=True)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            pytest.skip(f"no {chromium} and scripts/install_chromium.sh failed: {error}")
    if not chromium.is_file() or not chromedriver.is_file():
        pytest.skip(f"no {chromium} or {chromedriver} (scripts/install_chromium.sh could not install them)")


_ACTION_RE = re.compile(r'CLICK_ELEMENT ref=(\d+)|TYPE_TEXT ref=(\d+) text=".*"')


def test_live_episode_is_well_formed_and_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    _require_browser()
    monkeypatch.delenv("MINIWOB_CHROME_BINARY", raising=False)
    monkeypatch.delenv("MINIWOB_CHROMEDRIVER", raising=False)
    config = MiniWoBConfig(tasks=["login-user"], episodes_per_task=1, max_steps_per_episode=4)
    episodes = mw.generate_episodes(config, seed=0)
    assert mw.generate_episodes(config, seed=0) == episodes
    (episode,) = episodes
    page_seed = mw.episode_seeds(config, 0, "login-user")[0]
    assert episode.episode_id == f"login-user-{page_seed}" and episode.env == "miniwob"
    assert 1 <= len(episode) <= 4
    for i, t in enumerate(episode.transitions):
        assert t.step == i and t.episode_id == episode.episode_id and t.env == "miniwob"
        assert t.x.startswith("Task: Enter the username") and t.y.startswith("Task: Enter the username")
        match = _ACTION_RE.fullmatch(t.z or "")
        assert match, t.z
        assert 1 <= int(match[1] or match[2]) <= len(t.x.split("\n")) - 1  # z names a line of x
        assert set(t.meta) == {"task", "seed", "reward", "done", "truncated"} and t.meta["seed"] == page_seed
        if i + 1 < len(episode):
            assert episode.transitions[i + 1].x == t.y and not t.meta["done"]
    last = episode.transitions[-1]
    assert last.meta["done"] == last.y.endswith(f"Done: reward {last.meta['reward']:g}")


def test_unknown_task_is_rejected() -> None:
    pytest.importorskip("miniwob", reason="the miniwob package is not installed")
    with pytest.raises(ValueError, match="click-buton"):
        mw.generate_episodes(MiniWoBConfig(tasks=["click-buton"]), seed=0)
