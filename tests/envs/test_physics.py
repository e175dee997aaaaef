"""Tests for swirl_wm.envs.physics: hand-computed ticks, parsers and their errors, generator contracts."""

from __future__ import annotations

import re

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swirl_wm.envs.physics import (
    MAX_OBJECTS,
    MAX_SPEED,
    MAX_TEMP,
    MAX_WIDTH,
    MIN_WIDTH,
    OBJECT_NAMES,
    TEMP_STEP,
    Action,
    PhysicsObject,
    PhysicsState,
    PhysicsWorldConfig,
    all_actions,
    apply,
    equivalent,
    generate_episodes,
    paraphrases,
    parse_action,
    parse_state,
    render_state,
    state_fields,
)

SMALL = PhysicsWorldConfig(n_episodes=4)


@st.composite
def states(draw: st.DrawFn) -> PhysicsState:
    width = draw(st.integers(MIN_WIDTH, MAX_WIDTH))
    names = draw(st.lists(st.sampled_from(OBJECT_NAMES), min_size=1, max_size=MAX_OBJECTS, unique=True))
    objects = tuple(
        PhysicsObject(
            name,
            draw(st.integers(0, width - 1)),
            draw(st.integers(-MAX_SPEED, MAX_SPEED)),
            TEMP_STEP * draw(st.integers(0, MAX_TEMP // TEMP_STEP)),
        )
        for name in names
    )
    return PhysicsState(width, objects)


@pytest.mark.parametrize(
    ("x", "z", "y"),
    [
        # push: vel 0 → +1, then pos 3 → 4
        (
            "width=8 | ball: pos=3 vel=0 temp=20",
            "push the ball right",
            "width=8 | ball: pos=4 vel=+1 temp=20",
        ),
        # push clamped at -2, then pos 5 → 3
        (
            "width=8 | ball: pos=5 vel=-2 temp=20",
            "nudge the ball leftwards",
            "width=8 | ball: pos=3 vel=-2 temp=20",
        ),
        # right wall at 7.5: 8 → 7, 9 → 6, velocity flips
        ("width=8 | ball: pos=7 vel=+1 temp=20", "wait", "width=8 | ball: pos=7 vel=-1 temp=20"),
        ("width=8 | ball: pos=7 vel=+2 temp=20", "do nothing", "width=8 | ball: pos=6 vel=-2 temp=20"),
        # left wall at -0.5: -1 → 0, -2 → 1
        (
            "width=8 | ball: pos=0 vel=0 temp=20",
            "kick the ball to the left",
            "width=8 | ball: pos=0 vel=+1 temp=20",
        ),
        ("width=8 | ball: pos=0 vel=-2 temp=20", "just watch", "width=8 | ball: pos=1 vel=+2 temp=20"),
        # stop, then no move
        (
            "width=8 | ball: pos=2 vel=-1 temp=20",
            "bring the ball to rest",
            "width=8 | ball: pos=2 vel=0 temp=20",
        ),
        # heat 90 → 100, clamped at 100; cool clamped at 0
        ("width=8 | cup: pos=1 vel=0 temp=90", "heat the cup", "width=8 | cup: pos=1 vel=0 temp=100"),
        ("width=8 | cup: pos=1 vel=0 temp=100", "warm up the cup", "width=8 | cup: pos=1 vel=0 temp=100"),
        ("width=8 | cup: pos=1 vel=0 temp=0", "put the cup on ice", "width=8 | cup: pos=1 vel=0 temp=0"),
        # wait: every object still ticks; the action touches only its object
        (
            "width=5 | ball: pos=4 vel=+1 temp=20 | cup: pos=0 vel=-1 temp=50",
            "let a moment pass",
            "width=5 | ball: pos=4 vel=-1 temp=20 | cup: pos=0 vel=+1 temp=50",
        ),
        (
            "width=5 | ball: pos=1 vel=+1 temp=20 | cup: pos=3 vel=0 temp=50",
            "chill the cup",
            "width=5 | ball: pos=2 vel=+1 temp=20 | cup: pos=3 vel=0 temp=40",
        ),
    ],
)
def test_apply_hand_computed(x: str, z: str, y: str) -> None:
    assert apply(x, z) == y


def test_equivalent_matches_documented_ambiguities() -> None:
    def on(vel: int, temp: int) -> PhysicsState:
        return PhysicsState(8, (PhysicsObject("ball", 3, vel, temp),))

    wait, stop = Action("wait"), Action("stop", "ball")
    left, right = Action("push", "ball", "left"), Action("push", "ball", "right")
    assert equivalent(on(0, 50), stop, wait)
    assert equivalent(on(-1, 50), right, stop)
    assert equivalent(on(+1, 50), left, stop)
    assert equivalent(on(+2, 50), right, wait)
    assert equivalent(on(0, 100), Action("heat", "ball"), wait)
    assert equivalent(on(0, 0), Action("cool", "ball"), wait)
    assert not equivalent(on(+1, 50), stop, wait)
    assert not equivalent(on(0, 90), Action("heat", "ball"), wait)
    # The half-cell wall keeps pushes apart even against the wall.
    at_wall = PhysicsState(8, (PhysicsObject("ball", 0, 0, 50),))
    assert not equivalent(at_wall, left, right)


def _effect(state: PhysicsState, action: Action) -> tuple[tuple[int, int], ...]:
    """Reference for the action alone: every object's (vel, temp) before the tick."""
    out = []
    for o in state.objects:
        vel, temp = o.vel, o.temp
        if o.name == action.obj:
            if action.kind == "push":
                vel = max(-MAX_SPEED, min(MAX_SPEED, vel + (1 if action.direction == "right" else -1)))
            vel = 0 if action.kind == "stop" else vel
            temp = min(MAX_TEMP, temp + TEMP_STEP) if action.kind == "heat" else temp
            temp = max(0, temp - TEMP_STEP) if action.kind == "cool" else temp
        out.append((vel, temp))
    return tuple(out)


@settings(max_examples=40, deadline=None)
@given(states())
def test_tick_is_one_to_one_so_only_equal_effects_are_equivalent(state: PhysicsState) -> None:
    actions = all_actions(state.names)
    for a in actions:
        for b in actions:
            assert equivalent(state, a, b) == (_effect(state, a) == _effect(state, b))


@settings(deadline=None)
@given(states())
def test_render_parse_round_trip(state: PhysicsState) -> None:
    text = render_state(state)
    assert parse_state(text) == state
    assert render_state(parse_state(f"  {text}\n")) == text


@settings(deadline=None)
@given(states())
def test_state_fields_of_a_valid_state(state: PhysicsState) -> None:
    fields = state_fields(render_state(state))
    assert len(fields) == 1 + 3 * len(state.objects)
    assert fields["width"] == str(state.width)
    for o in state.objects:
        assert int(fields[f"{o.name}.pos"]) == o.pos
        assert int(fields[f"{o.name}.vel"]) == o.vel
        assert int(fields[f"{o.name}.temp"]) == o.temp


def test_state_fields_gives_partial_credit() -> None:
    garbled = "width=8|ball: pos=3 vel=+1 temp=20 | cube: pos=?? | cup: pos=0 vel=-1 temp=90 | ball: pos=1 vel=0 temp=0"
    assert state_fields(garbled) == {
        "width": "8",
        "ball.pos": "3",
        "ball.vel": "+1",
        "ball.temp": "20",
        "cup.pos": "0",
        "cup.vel": "-1",
        "cup.temp": "90",
    }
    assert state_fields("") == {}
    assert state_fields("the ball is somewhere") == {}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "width=8",
        "width=3 | ball: pos=0 vel=0 temp=0",
        "width=8 | ball: pos=8 vel=0 temp=0",
        "width=8 | ball: pos=03 vel=0 temp=0",
        "width=8 | ball: pos=1 vel=+3 temp=0",
        "width=8 | ball: pos=1 vel=+0 temp=0",
        "width=8 | ball: pos=1 vel=1 temp=0",
        "width=8 | ball: pos=1 vel=0 temp=15",
        "width=8 | ball: pos=1 vel=0 temp=110",
        "width=8 | dog: pos=1 vel=0 temp=10",
        "width=8 | ball: pos=1 vel=0 temp=10 | ball: pos=2 vel=0 temp=10",
        "width=8|ball: pos=1 vel=0 temp=10",
        "width=8 | " + " | ".join(f"{n}: pos=1 vel=0 temp=10" for n in OBJECT_NAMES[:7]),
    ],
)
def test_parse_state_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="malformed physics state") as info:
        parse_state(text)
    assert repr(text) in str(info.value)


def test_every_paraphrase_parses_to_its_action() -> None:
    for action in all_actions(OBJECT_NAMES):
        assert len(set(paraphrases(action))) >= 4
        for text in (*paraphrases(action), str(action)):
            assert parse_action(text, OBJECT_NAMES) == action, text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("  Give THE ball, a shove -- to the RIGHT!! ", "push ball right"),
        ("the ball goes left", "push ball left"),
        ("Heating the cup.", "heat cup"),
        ("please make the cup colder", "cool cup"),
        ("Halt ball", "stop ball"),
        ("Wait.", "wait"),
    ],
)
def test_parse_action_is_tolerant(text: str, canonical: str) -> None:
    assert str(parse_action(text, ("ball", "cup"))) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "dance",
        "push the ball",
        "push the ball left and right",
        "heat",
        "heat the marble",
        "heat the ball and the cup",
        "push the ball right then heat the cup",
    ],
)
def test_parse_action_rejects_unclear_text(text: str) -> None:
    with pytest.raises(ValueError, match="cannot parse action") as info:
        parse_action(text, ("ball", "cup"))
    assert repr(text) in str(info.value)


def test_apply_rejects_unparseable_input() -> None:
    with pytest.raises(ValueError, match="malformed physics state"):
        apply("ball at 3", "wait")
    with pytest.raises(ValueError, match="cannot parse action"):
        apply("width=8 | ball: pos=3 vel=0 temp=20", "heat the cup")


def test_action_rejects_inconsistent_fields() -> None:
    for args in [
        ("push", "ball"),
        ("wait", "ball"),
        ("heat", None),
        ("heat", "ball", "left"),
        ("jump", "ball"),
    ]:
        with pytest.raises(ValueError, match="invalid action"):
            Action(*args)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n_objects=st.integers(1, MAX_OBJECTS),
    width=st.integers(MIN_WIDTH, MAX_WIDTH),
    identifiable_only=st.booleans(),
)
def test_generated_transitions_are_consistent(seed: int, n_objects: int, width: int, identifiable_only: bool) -> None:
    config = PhysicsWorldConfig(n_objects=n_objects, width=width, n_episodes=3, identifiable_only=identifiable_only)
    episodes = generate_episodes(config, seed)
    assert [e.episode_id for e in episodes] == [f"physics-{seed}-{i:05d}" for i in range(3)]
    for episode in episodes:
        assert episode.env == "physics" and len(episode) == config.episode_length
        for t, tr in enumerate(episode.transitions):
            state = parse_state(tr.x)
            action = parse_action(tr.z, state.names)
            assert (tr.step, tr.env, tr.episode_id) == (t, "physics", episode.episode_id)
            assert str(action) == tr.meta["action"]
            assert tr.z in paraphrases(action)
            assert apply(tr.x, tr.z) == tr.y
            if identifiable_only:
                others = (b for b in all_actions(state.names) if b != action)
                assert not any(equivalent(state, action, b) for b in others)
        for before, after in zip(episode.transitions, episode.transitions[1:], strict=False):
            assert before.y == after.x


def test_generation_is_deterministic_per_seed_and_prefix_stable() -> None:
    assert generate_episodes(SMALL, 7) == generate_episodes(SMALL, 7)
    assert generate_episodes(SMALL, 7) != generate_episodes(SMALL, 8)
    longer = generate_episodes(SMALL.model_copy(update={"n_episodes": 6}), 7)
    assert longer[:4] == generate_episodes(SMALL, 7)


def test_initial_states_follow_the_documented_ranges() -> None:
    for episode in generate_episodes(PhysicsWorldConfig(n_episodes=50), 0):
        state = parse_state(episode.transitions[0].x)
        assert list(state.names) == sorted(state.names) and len(state.names) == 3
        assert all(-1 <= o.vel <= 1 and 10 <= o.temp <= 90 for o in state.objects)


def test_generator_uses_every_kind_and_many_paraphrases() -> None:
    transitions = [t for e in generate_episodes(PhysicsWorldConfig(), 0) for t in e.transitions]
    assert {t.meta["action"].split()[0] for t in transitions} == {"push", "stop", "heat", "cool", "wait"}
    assert len({t.z for t in transitions if t.meta["action"] == "wait"}) >= 4


def test_ambiguous_actions_appear_only_when_allowed() -> None:
    def ambiguous(config: PhysicsWorldConfig) -> int:
        count = 0
        for episode in generate_episodes(config, 1):
            for tr in episode.transitions:
                state = parse_state(tr.x)
                action = parse_action(tr.z, state.names)
                count += any(equivalent(state, action, b) for b in all_actions(state.names) if b != action)
        return count

    assert ambiguous(PhysicsWorldConfig(n_episodes=50)) == 0
    assert ambiguous(PhysicsWorldConfig(n_episodes=50, identifiable_only=False)) > 0


def test_three_object_state_stays_short() -> None:
    # Longest names, widest track, widest numbers.
    worst = PhysicsState(
        MAX_WIDTH,
        tuple(PhysicsObject(n, MAX_WIDTH - 1, -MAX_SPEED, MAX_TEMP) for n in ("marble", "block", "brick")),
    )
    text = render_state(worst)
    assert len(text) <= 105
    # Tokenizer-free bound: at most two tokens per word and one per other character (digit, symbol, space).
    assert 2 * len(re.findall(r"[a-z]+", text)) + len(re.sub(r"[a-z]", "", text)) < 100


def test_config_rejects_unknown_keys_and_out_of_range_values() -> None:
    assert PhysicsWorldConfig().model_dump() == {
        "n_objects": 3,
        "width": 8,
        "episode_length": 6,
        "n_episodes": 200,
        "paraphrased": True,
        "identifiable_only": True,
    }
    with pytest.raises(pydantic.ValidationError, match="extra"):
        PhysicsWorldConfig(n_object=3)  # type: ignore[call-arg]
    for bad in [
        {"n_objects": 0},
        {"n_objects": MAX_OBJECTS + 1},
        {"width": MIN_WIDTH - 1},
        {"width": MAX_WIDTH + 1},
        {"episode_length": 0},
        {"n_episodes": 0},
    ]:
        with pytest.raises(pydantic.ValidationError):
            PhysicsWorldConfig(**bad)


def test_canonical_actions_keep_the_states_and_name_the_action() -> None:
    paraphrased = generate_episodes(PhysicsWorldConfig(n_episodes=4), seed=3)
    canonical = generate_episodes(PhysicsWorldConfig(n_episodes=4, paraphrased=False), seed=3)
    pairs = [(a, b) for ea, eb in zip(paraphrased, canonical, strict=True)
             for a, b in zip(ea.transitions, eb.transitions, strict=True)]
    assert all((a.x, a.y, a.meta) == (b.x, b.y, b.meta) for a, b in pairs)
    assert all(b.z == b.meta["action"] and apply(b.x, b.z) == b.y for _, b in pairs)


def test_action_set_is_every_canonical_action_of_the_state():
    from swirl_wm.envs.physics import action_set

    got = action_set("width=8 | brick: pos=6 vel=0 temp=30 | tin: pos=5 vel=0 temp=80")
    assert len(got) == 2 * 5 + 1 and len(set(got)) == len(got)
    assert {"push brick left", "push tin right", "stop tin", "heat brick", "cool tin", "wait"} <= set(got)
