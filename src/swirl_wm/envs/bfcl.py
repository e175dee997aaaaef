"""BFCL multi-turn: real transitions ``(x, z, y)`` replayed from the ground-truth calls on BFCL's stateful APIs.

World. The Berkeley Function Calling Leaderboard (PyPI ``bfcl-eval`` 2026.3.23, unpacked without its metadata
by ``make install``: scripts/unpack_vendored.py)
ships four multi-turn categories of 200 entries each (``multi_turn_base``, ``multi_turn_miss_func``,
``multi_turn_miss_param``, ``multi_turn_long_context``). An entry names the API classes it involves
(``GorillaFileSystem``, ``TradingBot``, ``TravelAPI``, ``VehicleControlAPI``, ``MessageAPI``,
``TicketAPI``, ``TwitterAPI``, the stateless ``MathAPI``), their initial configuration and the user's
turns; ``possible_answer/`` holds the ground-truth call strings per turn (``cd(folder='document')``).

Replay. As the package's executor (``multi_turn_utils.execute_multi_turn_func_call``) does, each involved
class is instantiated fresh and, unless stateless, loaded with ``_load_scenario(deepcopy(config),
long_context=...)``, ``long_context`` true for the long-context category only; a method name maps to the
involved instance that has it as a public bound method (no name is shared between the classes). Unlike the
executor, nothing is ``eval``-ed: :func:`parse_call` reads a call string with :mod:`ast` and accepts only
``name(...)`` or ``Class.name(...)`` with literal arguments; the method is then called directly. A
ground-truth call is skipped, and counted by reason, when it does not parse (``unparsable``), names no
method of the entry's instances (``unknown_function``) or raises inside the API (``raised``; the state
after it is still the next transition's ``x``). The APIs draw ids and floats from ``random.Random`` seeded
by the scenario, so a replay is deterministic; ``seed`` only picks episodes when ``max_episodes`` is set.

State text. The state is one JSON object, class name → that class's state, over the entry's stateful
classes: ``GorillaFileSystem`` as ``{"cwd": "/alex/workspace", "tree": {...}}`` (a directory is an object
of its entries, a file the string of its content; ``cwd`` is what ``pwd()`` answers, the current directory
being private), any other class as its public attributes without the constant ``long_context`` flag.
Values are made JSON-ready by :func:`to_json_value`: keys become strings, sets sorted lists, floats (and
``MathAPI``'s mpmath / Decimal numbers) are rounded to :data:`FLOAT_DECIMALS` decimals. JSON is written
with sorted keys, no spaces (``separators=(",", ":")``) and non-ASCII kept::

    x = {"state":{"GorillaFileSystem":{"cwd":"/alex","tree":{...}}},"user":"Go to workspace directory ..."}
    z = mv(source='log.txt', destination='archive')
    y = {"return":{"result":"..."},"state":{"GorillaFileSystem":{"cwd":"/alex/workspace","tree":{...}}}}

``user`` is the text of the current turn's user message(s), or of the last turn that had one (in
``multi_turn_miss_func`` the turn that adds a missed function has none). ``return`` is the method's
return value, ``null`` for ``None``. ``z`` is the call normalised by ``ast.unparse`` (``grep(a='x',b=1)``
becomes ``grep(a='x', b=1)``). So the ``state`` of ``y`` at step ``i`` is exactly the ``state`` of ``x`` at
step ``i + 1``, unless a skipped call in between changed the world (``raised``) or ``y`` was truncated.

Length. Both texts pass through :func:`swirl_wm.data.truncate.truncate_states` (head + tail, the cut
fields in ``meta["truncated"]``). Over the 200 ``multi_turn_base`` entries (x and y together) states are
median 905, 90th percentile 1,642, 99th 2,166, max 2,920 characters; in SmolLM2 tokens (~2.5 characters
per token, JSON punctuation) median 312, 90th percentile 827, max 1,172. The default budget of 2,000
characters keeps 97.8 % of those states whole (37 of 1,142 transitions cut). ``multi_turn_long_context``
states are median 2.3k, 90th percentile 8.7k, max 45k characters (712 of 1,203 transitions cut at 2,000).

Measurements (2 busy cores, seed 0). ``multi_turn_base``: 200 episodes, 1,142 transitions (2-10 per
episode), no call skipped, 0.39 s (~2.9k calls/s, loading and rendering included). All four categories:
800 episodes, 4,625 transitions (base 1,142, miss_func 1,140, miss_param 1,140, long_context 1,203), no
call skipped, 1.4 s. Output is byte-identical across runs, ``PYTHONHASHSEED`` values and time zones
(``TradingBot``'s timestamps go through ``datetime.fromtimestamp`` but round-trip to the same local time).

Source: BFCL v4 (Patil et al., ICML 2025; gorilla.cs.berkeley.edu/leaderboard), its multi-turn data and executor;
environments.md (BFCL row).
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from swirl_wm.data.truncate import count_truncated, truncate_episode
from swirl_wm.records import Episode, Transition

log = logging.getLogger(__name__)

ENV_NAME = "bfcl"
# bfcl_eval.constants.category_mapping.MULTI_TURN_CATEGORY (composite is commented out there).
Category = Literal["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context"]
SKIP_REASONS = ("unparsable", "unknown_function", "raised")
FLOAT_DECIMALS = 2  # prices, balances and temperatures; the APIs' random floats otherwise print 16 digits
MAX_CALL_CHARS = 20_000  # longest ground-truth call: 6,839 chars (long_context; 255 elsewhere); longer is refused
_NOT_STATE = frozenset({"long_context"})  # a loading flag every class stores, constant over an episode


class BFCLConfig(BaseModel):
    """Which BFCL multi-turn entries to replay, and the state budget.

    Source: BFCL v4 multi-turn categories; defaults from this module's measurements (module docstring).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: list[Category] = Field(
        default_factory=lambda: ["multi_turn_base"],
        min_length=1,
        description="BFCL multi-turn categories, 200 entries each. miss_func and miss_param replay the same "
        "ground truth as base with other user texts; long_context loads inflated states (mostly truncated).",
    )
    max_episodes: int | None = Field(
        default=None,
        ge=1,
        description="Episodes to keep, drawn by the seed from all entries of the categories (kept in file "
        "order); None keeps every entry.",
    )
    max_state_chars: int = Field(
        default=2000,
        ge=100,
        description="Longest state text x or y, characters; longer ones keep head and tail "
        "(swirl_wm.data.truncate). 2,000 keeps 97.8 % of multi_turn_base states whole, at most ~830 SmolLM2 "
        "tokens (module docstring, Length).",
    )

    @model_validator(mode="after")
    def _distinct_categories(self) -> BFCLConfig:
        if len(set(self.categories)) != len(self.categories):
            raise ValueError(f"categories must be distinct (episode ids repeat otherwise), got {self.categories}")
        return self


@dataclass(frozen=True)
class ParsedCall:
    """A call string read by :func:`parse_call`: ``owner.name(*args, **kwargs)``, ``owner`` None if bare."""

    owner: str | None
    name: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    text: str  # the call as ``ast.unparse`` writes it


@dataclass(frozen=True)
class ReplayCounts:
    """What a replay did: episodes and transitions kept, calls read, calls skipped by reason (SKIP_REASONS),
    transitions with a truncated state, and seconds spent (loading data included)."""

    episodes: int
    transitions: int
    calls: int
    skipped: Mapping[str, int]
    truncated: int
    seconds: float


def parse_call(text: str) -> ParsedCall:
    """Read one BFCL call string without evaluating it.

    Accepted: a single expression that is a call of a bare name (``cd(folder='x')``) or of one attribute of a
    bare name (``GorillaFileSystem.cd(...)``), neither name starting with ``_``, whose positional and keyword
    arguments are literals (``ast.literal_eval``: strings, numbers, booleans, None, and lists, tuples,
    dicts, sets of those). No ``*args`` / ``**kwargs``, no keyword given twice.

    Args:
        text: the call string, at most :data:`MAX_CALL_CHARS` characters.

    Returns:
        The parsed call; ``text`` normalised by ``ast.unparse``.

    Raises:
        ValueError: for anything else (syntax error, several statements, non-literal argument such as a
            call, name, lambda or comprehension, attribute chains, private names, repeated keywords, too long
            input).

    Source: this module's design (never ``eval``, unlike BFCL's executor).
    """
    if len(text) > MAX_CALL_CHARS:
        raise ValueError(f"call string longer than {MAX_CALL_CHARS} characters ({len(text)})")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError) as err:  # RecursionError: deeply nested input
        raise ValueError(f"not a Python expression: {text!r} ({err})") from None
    call = tree.body
    if not isinstance(call, ast.Call):
        raise ValueError(f"not a call: {text!r}")
    func = call.func
    if isinstance(func, ast.Name):
        owner, name = None, func.id
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner, name = func.value.id, func.attr
    else:
        raise ValueError(f"callee must be name(...) or Class.name(...): {text!r}")
    if name.startswith("_") or (owner or "").startswith("_"):
        raise ValueError(f"private names are not callable: {text!r}")
    names = [kw.arg for kw in call.keywords]
    if None in names:
        raise ValueError(f"**kwargs not allowed: {text!r}")
    if len(set(names)) != len(names):  # ast.parse accepts a repeated keyword; compile would not
        raise ValueError(f"keyword argument repeated: {text!r}")
    try:
        args = tuple(ast.literal_eval(arg) for arg in call.args)
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg is not None}
        normalised = ast.unparse(tree)
    except (ValueError, TypeError, SyntaxError, RecursionError) as err:  # TypeError: {[1]: 2} is unhashable
        raise ValueError(f"arguments must be literals: {text!r} ({err})") from None
    return ParsedCall(owner, name, args, kwargs, normalised)


def to_json_value(value: Any) -> Any:
    """Make an API value JSON-ready, deterministically (rules in the module docstring).

    Raises:
        TypeError: for an object that is not a JSON type, number, set or tuple (BFCL's states and returns hold
            none).
    """
    if isinstance(value, bool | int | str) or value is None:
        return value
    if value is Ellipsis:  # long_context.py's extension lists contain a literal `...`
        return "..."
    if isinstance(value, float) or hasattr(type(value), "__float__"):  # MathAPI returns mpmath / Decimal numbers
        return round(float(value), FLOAT_DECIMALS)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_json_value(v) for v in value), key=dumps)
    raise TypeError(f"not JSON-ready: {type(value).__name__} {value!r:.80}")


def dumps(value: Any) -> str:
    """JSON with sorted keys, no spaces, non-ASCII kept (the module's one text format)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _file_tree(node: Any) -> Any:
    # GorillaFileSystem's Directory has .contents (name -> File | Directory); File has .content (str).
    if hasattr(node, "contents"):
        return {name: _file_tree(child) for name, child in node.contents.items()}
    return node.content


def snapshot(instances: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready state of the stateful API instances, class name → state (module docstring).

    Args:
        instances: class name → loaded instance, stateless classes already left out.

    Returns:
        ``{class_name: state}``; ``GorillaFileSystem`` as ``{"cwd", "tree"}``, others as public attributes.

    Raises:
        TypeError: as :func:`to_json_value`.
    """
    state: dict[str, Any] = {}
    for name, instance in instances.items():
        if name == "GorillaFileSystem":
            state[name] = {"cwd": instance.pwd()["current_working_directory"],
                           "tree": {instance.root.name: _file_tree(instance.root)}}  # fmt: skip
        else:
            public = {k: v for k, v in vars(instance).items() if not k.startswith("_") and k not in _NOT_STATE}
            state[name] = to_json_value(public)
    return state


def _entries(categories: list[Category]) -> Iterator[tuple[Category, dict[str, Any], list[list[str]]]]:
    from bfcl_eval.constants.category_mapping import VERSION_PREFIX
    from bfcl_eval.constants.eval_config import POSSIBLE_ANSWER_PATH, PROMPT_PATH

    for category in categories:
        name = f"{VERSION_PREFIX}_{category}.json"
        with (PROMPT_PATH / name).open(encoding="utf-8") as prompts, \
                (POSSIBLE_ANSWER_PATH / name).open(encoding="utf-8") as answers:  # fmt: skip
            for prompt_line, answer_line in zip(prompts, answers, strict=True):
                entry, answer = json.loads(prompt_line), json.loads(answer_line)
                if entry["id"] != answer["id"]:
                    raise ValueError(f"{name}: prompt {entry['id']} is paired with answer {answer['id']}")
                yield category, entry, answer["ground_truth"]


def _instances(entry: dict[str, Any], category: Category) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fresh instances of the entry's classes, loaded as the executor does; returns (all, stateful)."""
    from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING, STATELESS_CLASSES

    instances: dict[str, Any] = {}
    for class_name in entry["involved_classes"]:
        instance = getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[class_name]), class_name)()
        if class_name not in STATELESS_CLASSES:
            instance._load_scenario(copy.deepcopy(entry["initial_config"].get(class_name, {})),
                                    long_context=category == "multi_turn_long_context")  # fmt: skip
        instances[class_name] = instance
    stateful = {name: inst for name, inst in instances.items() if name not in STATELESS_CLASSES}
    return instances, stateful


def _replay_entry(category: Category, entry: dict[str, Any], ground_truth: list[list[str]],
                  skipped: Counter[str]) -> Episode:  # fmt: skip
    instances, stateful = _instances(entry, category)
    # Public bound methods, as the executor maps them; no method name is shared between BFCL's classes.
    methods = {name: (owner, method) for owner, instance in instances.items()
               for name, method in inspect.getmembers(instance, inspect.ismethod)
               if not name.startswith("_")}  # fmt: skip
    episode_id = entry["id"]
    transitions: list[Transition] = []
    user = ""
    for turn, calls in enumerate(ground_truth):
        messages = entry["question"][turn] if turn < len(entry["question"]) else []
        user = "\n".join(m["content"] for m in messages if m["role"] == "user") or user
        for text in calls:
            try:
                call = parse_call(text)
            except ValueError:
                skipped["unparsable"] += 1
                continue
            owner, method = methods.get(call.name, (None, None))
            if method is None or call.owner not in (None, owner):
                skipped["unknown_function"] += 1
                continue
            x = dumps({"state": snapshot(stateful), "user": user})
            try:
                returned = method(*call.args, **call.kwargs)
            except Exception:  # noqa: BLE001 - any error inside the API is a skipped call, as in the executor
                skipped["raised"] += 1
                continue
            y = dumps({"return": to_json_value(returned), "state": snapshot(stateful)})
            meta = {"category": category, "turn": turn}
            transitions.append(Transition(x, call.text, y, episode_id, len(transitions), ENV_NAME, meta))
    return Episode(episode_id, ENV_NAME, tuple(transitions))


def replay(config: BFCLConfig, seed: int) -> tuple[list[Episode], ReplayCounts]:
    """Replay the configured BFCL entries' ground-truth calls as episodes, with counts.

    Args:
        config: categories, episode count and state budget.
        seed: draws ``config.max_episodes`` entries (``random.Random(f"{seed}-bfcl")``); unused otherwise.

    Returns:
        ``(episodes, counts)``: one episode per entry, file order, id the BFCL id (``multi_turn_base_0``),
        transitions ``(x, z, y)`` as in the module docstring with ``meta`` ``category``, ``turn`` (0-based
        user turn) and ``truncated``; an episode whose every call was skipped is empty.

    Raises:
        ModuleNotFoundError: when ``bfcl_eval`` is not installed (``make install`` unpacks it).
        ValueError: when the package's prompt and answer files do not pair up by id.

    Source: BFCL v4 multi-turn data and executor (module docstring).
    """
    start = time.perf_counter()
    entries = list(_entries(config.categories))
    if config.max_episodes is not None and config.max_episodes < len(entries):
        keep = sorted(random.Random(f"{seed}-bfcl").sample(range(len(entries)), config.max_episodes))
        entries = [entries[i] for i in keep]
    skipped: Counter[str] = Counter()
    episodes = [truncate_episode(_replay_entry(category, entry, answer, skipped), config.max_state_chars)
                for category, entry, answer in entries]  # fmt: skip
    n_transitions = sum(len(e) for e in episodes)
    counts = ReplayCounts(
        episodes=len(episodes),
        transitions=n_transitions,
        calls=n_transitions + sum(skipped.values()),
        skipped={reason: skipped[reason] for reason in SKIP_REASONS},
        truncated=count_truncated(episodes),
        seconds=time.perf_counter() - start,
    )
    return episodes, counts


def generate_episodes(config: BFCLConfig, seed: int) -> list[Episode]:
    """:func:`replay`'s episodes; its counts go to an info log line.

    Args:
        config: categories, episode count and state budget.
        seed: picks episodes when ``config.max_episodes`` is set; equal seeds give equal episodes.

    Returns:
        The episodes (see :func:`replay`).

    Raises:
        As :func:`replay`.

    Source: BFCL v4 multi-turn data and executor (module docstring).
    """
    episodes, counts = replay(config, seed)
    log.info(
        "bfcl: %d episodes, %d transitions of %d ground-truth calls (skipped: %s); %d with a state cut to %d "
        "chars; %.2f s (%.0f calls/s)",
        counts.episodes, counts.transitions, counts.calls, dict(counts.skipped), counts.truncated,
        config.max_state_chars, counts.seconds, counts.calls / max(counts.seconds, 1e-9),
    )  # fmt: skip
    return episodes
