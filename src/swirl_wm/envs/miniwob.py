"""MiniWoB++: live transitions ``(x, z, y)`` from web-page tasks played in headless Chromium.

World. MiniWoB++ (Shi et al. 2017, Liu et al. 2018; PyPI ``miniwob`` 1.1.0) ships 130 small HTML tasks
(click a button, fill a form, switch tabs, ...) inside the wheel. Each page holds a task utterance
(``Click on the "Ok" button.``) and a 160×210 px task area; a seed (``Math.seedrandom``) draws the problem,
and the page ends the episode with a raw reward in -1..1 (1 solved, -1 failed) after the deciding action.

Browser. One headless Chromium per call drives the pages through Selenium and Debian's
``chromium-driver`` (``MINIWOB_CHROME_BINARY``, default ``/usr/bin/chromium``; ``MINIWOB_CHROMEDRIVER``,
default ``/usr/bin/chromedriver``; ``scripts/install_chromium.sh`` installs both). The driver is given
explicitly, so Selenium never tries to download one. The generator talks to the page through miniwob's
own JavaScript (``core.getDOMInfo``, ``core.elementClick``) and its action helpers, not through
``MiniWoBEnvironment``: that class takes a screenshot on every step and has no hook for Chromium's flags.
Every episode reloads its task page (~0.18 s), since focus and widget state would otherwise carry over
from the episode before. Two page settings make episodes reproducible: the 10 s episode timer is raised
to 10 min (a slow machine would otherwise end episodes by time, at a point that depends on load) and
jQuery animations are off (``jQuery.fx.off``), so a state is read after an accordion or dialog has
finished moving, not halfway.

State text. :func:`page_lines` flattens the page's DOM (``core.getDOMInfo``, which already drops elements
of zero size) into lines in document order, :func:`render_state` writes them under the utterance::

    Task: Select DKkQH and click Submit.
    [1] label "USa"
    [2] input_checkbox unchecked
    [3] label "DKkQH"
    [4] input_checkbox checked
    [5] button "Submit"

- An interactive element (``a``, ``button``, ``label``, ``option``, ``select``, ``textarea``, ``input_*``)
  is one line whose text is all the text inside it (an accessible name: the dialog's close button reads
  ``"Close"`` though that word is drawn off-screen); interactive elements inside it get their own lines.
- Any other element whose text lies in its own text nodes (its child elements hold no text, e.g. an
  accordion header beside its icon) is one line with that text (``div``, ``span``, ``h3``, ...).
- In mixed content (text between elements that hold text, e.g. a paragraph with links) each run of
  adjacent text nodes is one line of tag ``text``, which cannot be clicked. The page splits text nodes
  where the font wraps them; merging runs keeps that out of the state.
- Elements and text nodes lying wholly left of or above the page (``right <= 0`` or ``bottom <= 0``, a
  way pages hide things) and elements without text of their own (``div`` wrappers, empty icons) have no
  line; the text inside an interactive element is kept wherever it lies.
- After the text come the flags: ``value="..."`` for text inputs, ``checked`` / ``unchecked`` for check
  boxes and radio buttons, ``focused``. Whitespace runs become one space; texts are JSON-quoted.
- The state after the deciding action is ``Task: ...`` and ``Done: reward R`` (the raw reward).

Refs. The page's own ``ref`` numbers are unfit for text: a text node gets a new negative ref on every
read, and element refs count every element seen so far in the episode, so they depend on history that
the state does not show. Here a ref is the 1-based line number in the state (``[3]`` is the third
line under ``Task:``), recomputed for every state from the page alone; ``z`` refers to lines of ``x``.
Unchanged parts of a page keep their numbers; an element appearing or vanishing renumbers the lines
after it.

Actions. ``z`` is ``CLICK_ELEMENT ref=N`` (miniwob's ``core.elementClick``: click and focus) or
``TYPE_TEXT ref=N text="..."`` (click line N, then type the JSON-quoted text key by key). The policy
(:func:`choose_action`) is a task-agnostic heuristic mixed with seeded random actions, in this order:
click elements whose text is a value of the utterance (``"Ok"``, ``Tab #2`` for ``2``); type the
utterance's values into empty text inputs (the field whose name is the input's id, else the next value not
yet typed, else the first one); open tabs and section headers (``a``, ``h3``) not yet clicked; click
buttons named in the utterance (``Submit``, ``login``, ``Close``); else a random action. With probability
``random_action_prob`` the step is random anyway: a uniform clickable line, clicked, or typed into (a word
of the utterance) when it is a text input. Random actions make wrong clicks, so episodes end in both
rewards. Each element is targeted by the heuristic at most once per episode.

Determinism. The page draws its problem from the seed, the policy from ``random.Random`` seeded by the
config seed, the task and the episode seed, and the timer and animations are off, so equal seeds give
equal episodes on one machine (checked by this module's tests). Text depends on no pixel position; it
could still differ on another machine only where the fonts change which elements are wholly off-screen.

Measured. Default config, seed 0, on 2 cores shared with other work (load average ~6): 160 episodes,
313 transitions, 140 episodes solved (raw reward > 0), 20 failed, none stopped by the step limit; 32-33 s
in all, 9.5 transitions/s, of which 0.18 s per episode are page loads and ~0.7 s the browser start, so
the steps alone run at ~25/s (environments.md: ~9 steps/s). States (x and final y) are median 129, 90th
percentile 348, max 435 characters (SmolLM2 tokens: median 44, 90th percentile 149, max 202); none is cut
at the default ``max_state_chars``. Two runs gave byte-identical episodes.

Source: environments.md (MiniWoB++ row); the page protocol from miniwob 1.1.0's ``core.js`` and
``selenium_instance.py``; MiniWoB++ from Liu et al. 2018 (arXiv:1802.08802).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tqdm.auto import tqdm

from swirl_wm.data.truncate import MIN_STATE_CHARS, count_truncated, truncate_states
from swirl_wm.records import Episode, Transition

log = logging.getLogger(__name__)

ENV_NAME = "miniwob"
# Tasks a task-agnostic heuristic can play (module docstring, Actions): buttons, links, check boxes,
# text fields, a login form, a dialog, tabs to switch between and an accordion to open.
DEFAULT_TASKS = ("click-button", "click-link", "click-checkboxes", "enter-text", "login-user", "click-dialog",
                 "click-tab-2", "click-collapsible")  # fmt: skip
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run")  # fmt: skip
DEFAULT_CHROME_BINARY = "/usr/bin/chromium"
DEFAULT_CHROMEDRIVER = "/usr/bin/chromedriver"

INTERACTIVE_TAGS = frozenset({"a", "button", "label", "option", "select", "textarea"})
TEXT_INPUT_TAGS = frozenset({"input_text", "input_password", "input_email", "input_number", "input_search",
                             "input_tel", "input_url", "textarea"})  # fmt: skip
_EXPANDER_TAGS = frozenset({"a", "h3"})  # jQuery UI tab anchors and accordion headers
_BUTTON_TAGS = frozenset({"button", "input_submit", "input_button"})
_EPISODE_MAX_MS = 600_000  # the page's timer (core.EPISODE_MAX_TIME, 10 s by default) raised to 10 min
_PAGE_SETUP = f"core.EPISODE_MAX_TIME = {_EPISODE_MAX_MS}; if (window.jQuery) {{ jQuery.fx.off = true; }}"
# After an action, one round trip reads whether the episode ended, its raw reward, and else the DOM.
_READ = (
    "return {done: WOB_DONE_GLOBAL, reward: WOB_RAW_REWARD_GLOBAL, dom: WOB_DONE_GLOBAL ? null : core.getDOMInfo()};"
)


class MiniWoBConfig(BaseModel):
    """Which MiniWoB++ tasks to play, how many episodes, and how to render their states.

    Source: environments.md (MiniWoB++ row); defaults from this module's measurements (module docstring).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tasks: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TASKS),
        min_length=1,
        description="MiniWoB++ task names (the HTML files of miniwob/html/miniwob, e.g. click-button); default "
        "eight tasks the heuristic policy can play (DEFAULT_TASKS).",
    )
    episodes_per_task: int = Field(
        default=20, ge=1, le=100_000, description="Episodes per task, each with its own page seed."
    )
    max_steps_per_episode: int = Field(
        default=10,
        ge=1,
        description="Transitions kept per episode at most; the heuristic solves the default tasks in 1-6 steps.",
    )
    random_action_prob: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Probability that a step takes a random action instead of the heuristic's (1.0: a random "
        "policy); random actions give failed episodes and pages the heuristic would not reach.",
    )
    max_state_chars: int = Field(
        default=800,
        ge=MIN_STATE_CHARS,
        description="Longest state text, characters; longer ones lose their middle (data/truncate.py). The "
        "default config's states are at most ~440 (module docstring); 800 leaves room for wordier tasks.",
    )


@dataclass(frozen=True)
class Line:
    """One line of a state: a page element (or a run of text nodes) in document order.

    Attributes:
        page_ref: the page's ``ref`` of the element (negative for text nodes, which cannot be clicked).
        tag: lowercased tag, ``input_<type>`` for inputs, ``text`` for text nodes.
        text: the element's text, whitespace collapsed ("" when none).
        value: a text input's value, a check box's or radio button's state, else ``None``.
        focused: whether the element has the keyboard focus.
        element_id: the HTML id ("" when none); not rendered, read by the policy.
    """

    page_ref: int
    tag: str
    text: str
    value: str | bool | None = None
    focused: bool = False
    element_id: str = ""

    def render(self, ref: int) -> str:
        """The line's text with state ref ``ref`` (module docstring, State text)."""
        parts = [f"[{ref}] {self.tag}"]
        if self.text:
            parts.append(_quote(self.text))
        if isinstance(self.value, bool):
            parts.append("checked" if self.value else "unchecked")
        elif self.value is not None:
            parts.append(f"value={_quote(self.value)}")
        if self.focused:
            parts.append("focused")
        return " ".join(parts)


@dataclass(frozen=True)
class Action:
    """An action on a state: click line ``ref``, or click it and type ``text`` (``text`` not ``None``)."""

    ref: int
    text: str | None = None

    def render(self) -> str:
        """``z``: ``CLICK_ELEMENT ref=N`` or ``TYPE_TEXT ref=N text="..."``."""
        if self.text is None:
            return f"CLICK_ELEMENT ref={self.ref}"
        return f"TYPE_TEXT ref={self.ref} text={_quote(self.text)}"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _tag(node: Mapping[str, Any]) -> str:
    tag = str(node["tag"])
    if tag == "t":
        return "text"
    return "input_" + tag[6:] if tag.startswith("INPUT_") else tag.lower()  # the input type keeps its case


def _is_interactive(tag: str) -> bool:
    return tag in INTERACTIVE_TAGS or tag.startswith("input_")


def _visible(node: Mapping[str, Any]) -> bool:
    return node.get("left", 0) + node.get("width", 1) > 0 and node.get("top", 0) + node.get("height", 1) > 0


def _inner_text(node: Mapping[str, Any]) -> Iterable[str]:
    """Text of the node and its non-interactive descendants, in document order."""
    if node.get("text"):
        yield node["text"]
    for child in node.get("children", ()):
        if not _is_interactive(_tag(child)):
            yield from _inner_text(child)


def _has_text(node: Mapping[str, Any]) -> bool:
    return bool(_squash(str(node.get("text") or ""))) or any(_has_text(c) for c in node.get("children", ()))


def _visible_texts(nodes: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(node.get("text") or "") for node in nodes if _tag(node) == "text" and _visible(node)]


def page_lines(root: Mapping[str, Any]) -> tuple[Line, ...]:
    """Flatten a page's DOM into the state's lines (module docstring, State text).

    Args:
        root: the page's DOM in ``core.getDOMInfo``'s format: a node is a mapping with ``tag`` (upper case,
            ``INPUT_<type>`` for inputs, ``t`` for a text node), ``ref``, ``children`` and optionally
            ``text`` (only leaves have it), ``value``, ``focused``, ``id`` and the box ``left``, ``top``,
            ``width``, ``height`` in px (missing: visible).

    Returns:
        The lines in document order; line ``i`` has state ref ``i + 1``. The root itself has no line.

    Source: this module's design (module docstring), over miniwob 1.1.0's ``core.getDOMInfo``.
    """
    lines: list[Line] = []

    def element(node: Mapping[str, Any], tag: str, text: str) -> Line:
        value = node.get("value")
        if value is not None and not isinstance(value, bool):
            value = str(value)
        return Line(int(node["ref"]), tag, text, value, bool(node.get("focused")), str(node.get("id") or ""))

    def inside_interactive(node: Mapping[str, Any]) -> None:
        # the text in here is folded into the enclosing line; only interactive elements get lines
        if _is_interactive(_tag(node)):
            walk(node)
        else:
            for child in node.get("children", ()):
                inside_interactive(child)

    def walk(node: Mapping[str, Any]) -> None:
        tag = _tag(node)
        if _is_interactive(tag):
            if _visible(node):
                lines.append(element(node, tag, _squash(" ".join(_inner_text(node)))))
            for child in node.get("children", ()):
                inside_interactive(child)
            return
        children = node.get("children", ())
        if not any(_tag(child) != "text" and _has_text(child) for child in children):
            # text of its own only (a leaf, or text nodes beside icons): one line; empty children may be inputs
            text = _squash(" ".join([str(node.get("text") or ""), *_visible_texts(children)]))
            if text and _visible(node):
                lines.append(element(node, tag, text))
            for child in children:
                if _tag(child) != "text":
                    walk(child)
            return
        walk_mixed(children)

    def walk_mixed(children: Sequence[Mapping[str, Any]]) -> None:
        run: list[Mapping[str, Any]] = []  # adjacent text nodes, merged into one line
        for child in [*children, None]:
            if child is not None and _tag(child) == "text":
                run.append(child)
                continue
            if text := _squash(" ".join(_visible_texts(run))):
                lines.append(Line(int(run[0]["ref"]), "text", text))
            run = []
            if child is not None:
                walk(child)

    walk_mixed(root.get("children", ()))
    return tuple(lines)


def render_state(utterance: str, lines: Sequence[Line]) -> str:
    """The state text: ``Task: <utterance>`` then line ``i`` as ``[i+1] ...`` (module docstring).

    Source: this module's design (module docstring, State text and Refs).
    """
    return "\n".join([f"Task: {_squash(utterance)}", *(line.render(i) for i, line in enumerate(lines, 1))])


def render_done(utterance: str, reward: float) -> str:
    """The state after the episode's deciding action: the utterance and the raw reward (-1..1)."""
    return f"Task: {_squash(utterance)}\nDone: reward {reward:g}"


def _matches(text: str, value: str) -> bool:
    """Whether an element's text names a value of the utterance (``Ok`` for "Ok", ``Tab #2`` for "2")."""
    text, value = text.casefold().strip(), value.casefold().strip()
    return bool(value) and (text == value or text.endswith(f"#{value}"))


def choose_action(
    lines: Sequence[Line],
    utterance: str,
    fields: Sequence[tuple[str, str]],
    targeted: set[int],
    rng: random.Random,
    random_action_prob: float,
) -> Action | None:
    """Pick the next action: the heuristic's, or with probability ``random_action_prob`` a random one.

    Args:
        lines: the state's lines (:func:`page_lines`).
        utterance: the task utterance.
        fields: miniwob's key-value fields of the utterance (``[("username", "vina"), ...]``).
        targeted: page refs the heuristic has acted on in this episode; updated in place.
        rng: the episode's random generator.
        random_action_prob: probability of a random action, in 0..1.

    Returns:
        The action (its ``ref`` is a state ref), or ``None`` when no line can be clicked.

    Source: this module's design (module docstring, Actions).
    """
    clickable = [i for i, line in enumerate(lines) if line.page_ref > 0]
    if not clickable:
        return None
    if rng.random() >= random_action_prob and (index := _heuristic(lines, utterance, fields, targeted)) is not None:
        i, text = index
        targeted.add(lines[i].page_ref)
        return Action(i + 1, text)
    i = rng.choice(clickable)
    if lines[i].tag in TEXT_INPUT_TAGS:
        return Action(i + 1, rng.choice(re.findall(r"\w+", utterance) or ["a"]))
    return Action(i + 1)


def _heuristic(
    lines: Sequence[Line], utterance: str, fields: Sequence[tuple[str, str]], targeted: set[int]
) -> tuple[int, str | None] | None:
    """(line index, text to type or None) of the heuristic's action, or None when it has none."""
    fresh = [i for i, line in enumerate(lines) if line.page_ref > 0 and line.page_ref not in targeted]
    values = {key: value for key, value in fields if key != "button"}
    inputs = [line for line in lines if line.tag in TEXT_INPUT_TAGS]
    for i in fresh:
        if lines[i].tag not in TEXT_INPUT_TAGS and any(_matches(lines[i].text, v) for v in values.values()):
            return i, None
    for i in fresh:
        if lines[i].tag in TEXT_INPUT_TAGS and not lines[i].value:
            if lines[i].element_id in values:
                return i, values[lines[i].element_id]
            typed = {line.value for line in inputs}
            untyped = [value for value in values.values() if value not in typed]
            if untyped or values:  # a value not typed yet, else the first (enter-password: twice the same)
                return i, (untyped or list(values.values()))[0]
            return i, None  # no value to type (focus-text): click it
    for i in fresh:
        if lines[i].tag in _EXPANDER_TAGS:
            return i, None
    words = set(re.findall(r"\w+", utterance.casefold()))
    for i in fresh:
        if lines[i].tag in _BUTTON_TAGS and lines[i].text.casefold() in words:
            return i, None
    return None


def task_names() -> tuple[str, ...]:
    """The MiniWoB++ tasks shipped in the installed ``miniwob`` wheel (its ``html/miniwob/*.html``)."""
    from miniwob.selenium_instance import HTML_DIR

    return tuple(sorted(path.stem for path in (HTML_DIR / "miniwob").glob("*.html")))


def _start_browser() -> Any:
    """A headless Chromium driven by Selenium (module docstring, Browser); the caller quits it.

    Raises:
        FileNotFoundError: when Chromium or chromedriver is missing (the message says how to install them).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = os.environ.get("MINIWOB_CHROME_BINARY", DEFAULT_CHROME_BINARY)
    chromedriver = os.environ.get("MINIWOB_CHROMEDRIVER", DEFAULT_CHROMEDRIVER)
    for name, path in (("MINIWOB_CHROME_BINARY", binary), ("MINIWOB_CHROMEDRIVER", chromedriver)):
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"MiniWoB++ needs Chromium and chromedriver; {name}={path} does not exist: run "
                "scripts/install_chromium.sh (Debian: apt-get install chromium chromium-driver) or set "
                "MINIWOB_CHROME_BINARY and MINIWOB_CHROMEDRIVER"
            )
    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.binary_location = binary  # noqa: V101 (read by Selenium, which vulture cannot see)
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def _begin(driver: Any, task: str, seed: int) -> None:
    """Load the task page afresh and start the episode drawn by ``seed``.

    As miniwob's ``SeleniumInstance.create_driver`` and ``begin_task`` (train data mode), plus the page
    settings of the module docstring. The page is reloaded for every episode (~0.18 s) because focus and
    widget state otherwise carry over from the previous episode.
    """
    from miniwob.selenium_instance import HTML_DIR
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get((HTML_DIR / "miniwob" / f"{task}.html").as_uri())
    WebDriverWait(driver, 10).until(expected_conditions.element_to_be_clickable((By.ID, "sync-task-cover")))
    driver.execute_script(f"{_PAGE_SETUP} Math.seedrandom({seed!r}); core.setDataMode('train'); "
                          "core.startEpisodeReal();")  # fmt: skip
    for _ in range(20):  # as miniwob: the page may take up to 1 s to say it is ready
        if driver.execute_script("return WOB_TASK_READY;"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"MiniWoB++ page {task} did not get ready for seed {seed}")


def _fields(task: str, utterance: str) -> list[tuple[str, str]]:
    from miniwob.fields import get_field_extractor

    try:
        return list(get_field_extractor(task)(utterance))
    except (KeyError, ValueError):  # no extractor for the task, or an utterance it does not parse
        return []


def _act(driver: Any, page_ref: int, text: str | None) -> None:
    from miniwob.selenium_actions import execute_click_element, execute_type_text

    execute_click_element(page_ref, driver)
    if text is not None:
        execute_type_text(text, driver)


def _play(driver: Any, config: MiniWoBConfig, task: str, episode_seed: int, rng: random.Random) -> Episode:
    episode_id = f"{task}-{episode_seed}"
    _begin(driver, task, episode_seed)
    utterance = _squash(driver.execute_script("return core.getUtterance();"))
    fields = _fields(task, utterance)
    lines = page_lines(driver.execute_script("return core.getDOMInfo();"))
    x = render_state(utterance, lines)
    targeted: set[int] = set()
    transitions: list[Transition] = []
    while len(transitions) < config.max_steps_per_episode:
        action = choose_action(lines, utterance, fields, targeted, rng, config.random_action_prob)
        if action is None:
            break
        _act(driver, lines[action.ref - 1].page_ref, action.text)
        page = driver.execute_script(_READ)
        done, reward = bool(page["done"]), float(page["reward"]) if page["done"] else 0.0
        lines = () if done else page_lines(page["dom"])
        y = render_done(utterance, reward) if done else render_state(utterance, lines)
        meta = {"task": task, "seed": episode_seed, "reward": reward, "done": done}
        transition = Transition(x, action.render(), y, episode_id, len(transitions), ENV_NAME, meta)
        transitions.append(truncate_states(transition, config.max_state_chars))
        x = y
        if done:
            break
    return Episode(episode_id, ENV_NAME, tuple(transitions))


def episode_seeds(config: MiniWoBConfig, seed: int, task: str) -> list[int]:
    """The page seeds of a task's episodes: ``config.episodes_per_task`` distinct ints in 0..10⁶, sorted.

    Drawn by ``random.Random(f"{seed}-{task}")`` (str seeds hash with SHA-512: stable across runs), so a
    task's episodes do not depend on the other tasks.
    """
    return sorted(random.Random(f"{seed}-{task}").sample(range(1_000_000), config.episodes_per_task))


def generate_episodes(config: MiniWoBConfig, seed: int) -> list[Episode]:
    """Play the configured tasks' episodes in headless Chromium and record their transitions.

    For each task (in config order) the browser plays episodes with the page seeds :func:`episode_seeds`,
    in increasing order, each on a freshly loaded page; episode ``<task>-<page seed>`` ends at the page's
    deciding action or after ``config.max_steps_per_episode`` transitions. The policy's generator is
    ``random.Random(f"{seed}-{task}-{page seed}")``. One browser serves the whole call and quits when it
    returns or raises. States longer than ``config.max_state_chars`` lose their middle (data/truncate.py).
    An info log line gives the counts (episodes, transitions, truncated, solved) and the speed in steps
    per second.

    Args:
        config: tasks, episodes, policy and rendering.
        seed: draws the page seeds and the policy's random actions; equal seeds give equal episodes.

    Returns:
        The episodes, task by task; ``meta`` of a transition holds ``task``, ``seed`` (the page seed),
        ``reward`` (the raw reward after the step, 0 until done), ``done`` and ``truncated``.

    Raises:
        ValueError: a task is not one of the installed miniwob's tasks.
        FileNotFoundError: Chromium or chromedriver is missing (see :func:`_start_browser`).
        ImportError: the ``miniwob`` package is not installed.
        selenium.common.WebDriverException: the browser fails.

    Source: environments.md (MiniWoB++ row); the page protocol from miniwob 1.1.0 (module docstring).
    """
    known = task_names()
    unknown = [task for task in config.tasks if task not in known]
    if unknown:
        raise ValueError(f"unknown MiniWoB++ task(s) {unknown} in MiniWoBConfig.tasks; choose from {list(known)}")
    episodes: list[Episode] = []
    start = time.perf_counter()
    driver = _start_browser()
    plan = [(task, episode_seed) for task in config.tasks for episode_seed in episode_seeds(config, seed, task)]
    try:
        for task, episode_seed in tqdm(plan, desc="miniwob episodes", unit="episode", disable=None, leave=False):
            rng = random.Random(f"{seed}-{task}-{episode_seed}")
            episodes.append(_play(driver, config, task, episode_seed, rng))
    finally:
        driver.quit()
    seconds = time.perf_counter() - start
    steps = sum(len(e) for e in episodes)
    solved = sum(bool(e.transitions) and e.transitions[-1].meta["reward"] > 0 for e in episodes)
    log.info(
        "miniwob: %d episodes (%d solved), %d transitions (%d truncated) in %.1f s (%.1f steps/s with resets "
        "and browser starts)",
        len(episodes), solved, steps, count_truncated(episodes), seconds, steps / max(seconds, 1e-9),
    )  # fmt: skip
    return episodes
