"""Tests for swirl_wm.envs.scienceworld: the state renderer on hand-written texts, the replay rules on a
fake simulator (no Java), and one small real generation (needs Java)."""

from __future__ import annotations

import logging
import shutil

import pydantic
import pytest

from swirl_wm.envs import scienceworld as sw
from swirl_wm.envs.scienceworld import ScienceWorldConfig, generate_episodes, render_state
from swirl_wm.records import Episode

LOOK = (
    "This room is called the kitchen. In it, you see: \n"
    "\tthe agent\n"
    "\ta substance called air\n"
    "\ta chair. On the chair is: nothing.\n"
    "\ta cupboard. The cupboard door is closed. \n"
    "\ta oven, which is turned off. The oven door is closed. \n"
    "\ta stove, which is turned on. On the stove is: a metal pot (containing a substance called water).\n"
    "\ta thermometer, currently reading a temperature of 10 degrees celsius\n"
    "You also see:\n"
    "\tA door to the hallway (that is open)\n"
    "\tA door to the outside (that is closed)\n"
)
INVENTORY = "In your inventory, you see:\n\tan orange\n\ta glass cup (containing nothing)\n"
STATE = (
    "Observation: The stove is now activated\n"
    "Location: kitchen\n"
    "Inventory: orange; glass cup\n"
    "Exits: hallway, outside (closed)\n"
    "Here: chair; cupboard (closed); oven (off, closed); stove (on), on it: metal pot (containing water); "
    "thermometer, reading 10 degrees celsius"
)


def test_render_state_by_hand() -> None:
    assert render_state(LOOK, INVENTORY, "The stove is now activated.") == STATE


@pytest.mark.parametrize("observation", [None, LOOK, LOOK.strip() + "\n\n", INVENTORY])
def test_render_state_observation_repeating_look_or_inventory(observation: str | None) -> None:
    text = render_state(LOOK, INVENTORY, observation)
    assert text == STATE.replace("The stove is now activated", sw.SEE_BELOW)


def test_render_state_outside_empty_inventory_multiline_observation() -> None:
    look = "This outside location is called the outside. Here you see: \n\tthe agent\n\ta substance called air\n"
    observation = "The recipe reads:\nTo make salt water, you need to mix sodium chloride, water."
    assert render_state(look, "In your inventory, you see:\n", observation) == (
        "Observation: The recipe reads: To make salt water, you need to mix sodium chloride, water\n"
        "Location: outside\nInventory: nothing\nExits: none\nHere: nothing"
    )


def test_render_state_drops_last_items_then_cuts() -> None:
    one_less = render_state(LOOK, INVENTORY, "The stove is now activated.", max_chars=len(STATE) - 1)
    assert one_less == STATE.rsplit("; ", 1)[0] + "; … (+1 more)"
    for max_chars in range(2, len(STATE) + 2):
        text = render_state(LOOK, INVENTORY, "The stove is now activated.", max_chars=max_chars)
        assert len(text) <= max_chars
        assert text == STATE if max_chars >= len(STATE) else text.endswith(("more)", "…"))


def test_render_state_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="not a ScienceWorld look text"):
        render_state("In your inventory, you see:\n\tan orange", INVENTORY)


@pytest.mark.parametrize(
    "fields", [{"tasks": ["boil", "fly-to-moon"]}, {"tasks": []}, {"simplifications": ["noDoors"]}, {"step": 1}]
)
def test_config_rejects_bad_fields(fields: dict) -> None:
    with pytest.raises(pydantic.ValidationError):
        ScienceWorldConfig(**fields)


# --- The replay rules, on a fake simulator with ScienceWorldEnv's interface (no Java). -------------------

GOLD = ["open door to kitchen", "xyzzy", "go to kitchen", "pick up apple", "0", "focus on apple", "look around"]
FAKE_Z = ["open door to kitchen", "go to kitchen", "pick up apple", "focus on apple", "look around"]


class FakeSimulator:
    """Hallway and kitchen; the gold path has a rejected command and an ambiguous one answered by '0'."""

    instances: list[FakeSimulator] = []
    gold = GOLD

    def __init__(self) -> None:
        self.server = self
        self.closed = False
        FakeSimulator.instances.append(self)

    def load(self, *_args: object, **_kwargs: object) -> None:
        self.room, self.door, self.carried, self.score, self.pending = "hallway", "closed", [], 0.0, False

    def get_variations_train(self) -> list[int]:
        return list(range(100))

    def get_variations_dev(self) -> list[int]:
        return list(range(100, 150))

    def get_gold_action_sequence(self) -> list[str]:
        return list(self.gold)

    def look(self) -> str:
        other = "kitchen" if self.room == "hallway" else "hallway"
        items = "\ta apple\n" if self.room == "kitchen" and not self.carried else ""
        return (
            f"This room is called the {self.room}. In it, you see: \n\tthe agent\n{items}"
            f"You also see:\n\tA door to the {other} (that is {self.door})\n"
        )

    def inventory(self) -> str:
        return "In your inventory, you see:\n" + "".join(f"\ta {c}\n" for c in self.carried)

    def step(self, command: str) -> str:
        if command == "boom":
            raise RuntimeError("simulator crashed")
        if command == "open door to kitchen":
            self.door = "open"
            return "The door is now open."
        if command == "go to kitchen":
            self.room = "kitchen"
            return "You move to the kitchen."
        if command == "pick up apple":
            self.pending = True
            return "Ambiguous request: Please enter the number for the action you intended:\n0:\tpick up apple"
        if command == "0" and self.pending:
            self.carried.append("apple")
            return "You move the apple to the inventory."
        if command == "focus on apple":
            self.score = 1.0
            return "You focus on the apple."
        if command == "look around":
            return self.look()
        return "No known action matches that input."

    def getScore(self) -> float:
        return self.score

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeSimulator]:
    FakeSimulator.instances = []
    monkeypatch.setattr(sw, "_new_simulator", FakeSimulator)
    monkeypatch.setattr(sw.shutil, "which", lambda _: "/usr/bin/java")
    return FakeSimulator


def test_generate_skips_rejected_merges_ambiguous(fake: type[FakeSimulator], caplog) -> None:
    config = ScienceWorldConfig(tasks=["find-living-thing"], variations_per_task=2)
    with caplog.at_level(logging.INFO, logger=sw.__name__):
        episodes = generate_episodes(config, seed=0)
    assert len(episodes) == 2 and fake.instances[0].closed and len(fake.instances) == 1
    assert "2 episodes, 10 transitions; 14 commands stepped (2 rejected, 2 disambiguated)" in caplog.text
    for episode in episodes:
        variation = int(episode.episode_id.rsplit("-", 1)[1])
        assert episode.episode_id == f"sciworld-find-living-thing-{variation}" and episode.env == "scienceworld"
        assert [t.z for t in episode.transitions] == FAKE_Z
        assert [t.step for t in episode.transitions] == list(range(5))
        assert all(a.y == b.x for a, b in zip(episode.transitions, episode.transitions[1:], strict=False))
        first, _, pick, focus, look = episode.transitions
        assert first.x.startswith("Observation: (see below)\nLocation: hallway\n")
        assert "Exits: kitchen (closed)" in first.x and "Exits: kitchen\n" in first.y
        assert pick.y.startswith("Observation: You move the apple to the inventory\n")
        assert "Inventory: apple\n" in pick.y and pick.y.endswith("Here: nothing")
        assert [t.meta["score"] for t in episode.transitions] == [0, 0, 0, 100, 100]
        assert focus.meta == {"task": "find-living-thing", "variation": variation, "score": 100}
        assert look.y.startswith("Observation: (see below)\n")


def test_generate_seed_split_and_cap(fake: type[FakeSimulator]) -> None:
    config = ScienceWorldConfig(tasks=["boil", "melt"], variations_per_task=3, max_steps_per_episode=2)
    ids = [e.episode_id for e in generate_episodes(config, seed=0)]
    assert ids == [e.episode_id for e in generate_episodes(config, seed=0)]
    assert ids != [e.episode_id for e in generate_episodes(config, seed=1)]
    assert [i.rsplit("-", 1)[0] for i in ids] == ["sciworld-boil"] * 3 + ["sciworld-melt"] * 3
    episodes = generate_episodes(config.model_copy(update={"variation_split": "dev"}), seed=0)
    assert all(100 <= e.transitions[0].meta["variation"] < 150 and len(e) == 2 for e in episodes)


def test_generate_closes_simulator_on_error(fake: type[FakeSimulator], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeSimulator, "gold", ["open door to kitchen", "boom"])
    with pytest.raises(RuntimeError, match="crashed"):
        generate_episodes(ScienceWorldConfig(tasks=["boil"], variations_per_task=1), seed=0)
    assert fake.instances[0].closed


def test_generate_without_java_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sw.shutil, "which", lambda _: None)
    with pytest.raises(FileNotFoundError, match="default-jre-headless"):
        generate_episodes(ScienceWorldConfig(), seed=0)


# --- One small real generation. ---------------------------------------------------------------------------

requires_java = pytest.mark.skipif(
    shutil.which("java") is None, reason="needs Java (OpenJDK 17+) on PATH to run the ScienceWorld simulator"
)
# power-component: its gold path is fixed per variation. find-living-thing's is not (animals wander, and
# the gold path follows them: two loads of one variation in one JVM gave different commands under load).
REAL = ScienceWorldConfig(
    tasks=["power-component"], variations_per_task=1, max_steps_per_episode=6, max_state_chars=400
)


@pytest.fixture(scope="module")
def real_episodes() -> list[Episode]:
    return generate_episodes(REAL, seed=0)


@pytest.mark.java
@requires_java
def test_real_generation(real_episodes: list[Episode]) -> None:
    assert len(real_episodes) == 1
    for episode in real_episodes:
        assert episode.episode_id.startswith("sciworld-power-component-") and 1 <= len(episode) <= 6
        assert all(a.y == b.x for a, b in zip(episode.transitions, episode.transitions[1:], strict=False))
        first = episode.transitions[0]
        assert first.x.startswith("Observation: (see below)\nLocation: ")
        for t in episode.transitions:
            assert t.z and t.env == "scienceworld" and set(t.meta) == {"task", "variation", "score"}
            assert 0 < len(t.x) <= REAL.max_state_chars and 0 < len(t.y) <= REAL.max_state_chars
            assert t.y.startswith("Observation: ") and "\nLocation: " in t.y and "\nHere: " in t.y
        assert any(t.x != t.y for t in episode.transitions)


@pytest.mark.java
@requires_java
def test_real_generation_is_deterministic(real_episodes: list[Episode]) -> None:
    # A task with a fixed gold path replays to identical episodes: variations, commands and every state.
    again = generate_episodes(REAL, seed=0)
    assert again == real_episodes


@pytest.mark.java
@requires_java
def test_agent_environment_plays_a_task_and_its_walkthrough_wins() -> None:
    """env.name: scienceworld for `swirl paw`: tasks per split, a first observation with the goal, a wrong
    command that only answers, and the gold path as the walkthrough that wins (expert_episode)."""
    from swirl_wm.envs.agent import expert_episode
    from swirl_wm.envs.registry import ENVIRONMENTS

    config = ScienceWorldConfig(tasks=["power-component"], variations_per_task=1, max_steps_per_episode=20,
                                max_state_chars=400)
    with ENVIRONMENTS["scienceworld"].make_agent(config) as env:
        with pytest.raises(RuntimeError, match="no episode is running"):
            env.step("look around")
        train, test = env.tasks("train"), env.tasks("test")
        assert len(train) == len(test) == 1 and train[0].task_id != test[0].task_id
        task = train[0]
        assert task.task_id.startswith("sciworld-power-component-") and "Your task is" in task.goal
        first = env.reset(task)
        assert first.startswith(task.goal) and "\nLocation: " in first
        wrong = env.step("eat the sky")
        assert not wrong.done and not wrong.won and wrong.reward == 0.0 and wrong.info["score"] == 0
        assert env.admissible_actions() and all(isinstance(a, str) for a in env.admissible_actions()[:3])
        episode = expert_episode(env, task)
    assert episode.transitions[-1].meta["won"] and episode.transitions[-1].meta["reward"] == 1.0
    assert episode.transitions[0].x.startswith(task.goal)
