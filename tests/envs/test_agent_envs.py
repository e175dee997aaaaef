"""Tests for swirl_wm.envs.agent (the episode bookkeeping and expert episodes, on a fake game) and its two
adapters, TextWorldExpress (needs textworld-express and Java) and ALFWorld (needs alfworld): walkthroughs
win, any action text gets the game's own answer, tasks are deterministic per seed and the splits are
disjoint. Kept small: the whole module runs in well under a minute on two busy cores."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swirl_wm.envs.agent import SPLITS, AgentEnv, AgentTask, Split, StepResult, expert_episode

# Arbitrary model output: any text, plus near-misses of real commands (case, spacing, trailing newline).
ACTION_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["", " ", "\n", "help", "look", "inventory", "TAKE COIN", "go to  fridge 1", "take knife\n"]),
)
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_PROPERTY_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=20)  # ALFWorld's reset takes ~0.25 s


class CountingGame(AgentEnv):
    """A fake game: the task is won by saying ``win``; anything else is answered ``Nothing happens.``."""

    name = "counting"

    def tasks(self, split: Split) -> list[AgentTask]:
        return [AgentTask(self.name, f"counting-{split}-0", split, "say win", 0)]

    def _reset(self, task: AgentTask) -> str:
        return f"Your task: {task.goal}."

    def _step(self, action: str) -> StepResult:
        won = action == "win"
        return StepResult("You win." if won else "Nothing happens.", float(won), won, won, {})

    def admissible_actions(self) -> list[str]:
        return ["win", "wait"]

    def walkthrough(self, task: AgentTask) -> list[str]:
        return ["wait", "win"]

    def close(self) -> None:
        self._running = False


def test_step_counts_truncates_and_refuses_outside_an_episode() -> None:
    env = CountingGame(max_steps=2)
    task = env.tasks("train")[0]
    with pytest.raises(RuntimeError, match="reset"):
        env.step("wait")
    assert env.reset(task) == "Your task: say win."
    first = env.step("wait")
    assert (first.done, first.won, first.reward) == (False, False, 0.0)
    assert dict(first.info) == {"truncated": False, "steps": 1}
    second = env.step("wait")
    assert (second.done, second.won, dict(second.info)) == (True, False, {"truncated": True, "steps": 2})
    with pytest.raises(RuntimeError, match="reset"):
        env.step("win")
    env.reset(task)
    won = env.step("win")
    assert (won.done, won.won, won.reward, won.info["truncated"]) == (True, True, 1.0, False)


def test_reset_refuses_another_environments_task() -> None:
    with pytest.raises(ValueError, match="not 'counting'"):
        CountingGame(max_steps=5).reset(AgentTask("other", "t", "train", "goal", 0))


def test_expert_episode_chains_observations() -> None:
    env = CountingGame(max_steps=5)
    task = env.tasks("dev")[0]
    episode = expert_episode(env, task)
    assert episode.episode_id == "counting-dev-0" and episode.env == "counting"
    (a, b) = episode.transitions
    assert (a.x, a.z, a.y, a.step) == ("Your task: say win.", "wait", "Nothing happens.", 0)
    assert (b.x, b.z, b.y, b.step) == ("Nothing happens.", "win", "You win.", 1)
    assert dict(b.meta) == {"split": "dev", "seed": 0, "reward": 1.0, "won": True}
    with pytest.raises(RuntimeError, match="did not win"):
        expert_episode(CountingGame(max_steps=1), task)


def check_splits_disjoint(tasks: dict[Split, list[AgentTask]]) -> None:
    ids = [t.task_id for split in SPLITS for t in tasks[split]]
    seeds = [t.seed for split in SPLITS for t in tasks[split]]
    assert len(set(ids)) == len(ids) and len(set(seeds)) == len(seeds)
    assert all(t.split == split for split in SPLITS for t in tasks[split])


def check_invalid_action(env: AgentEnv, task: AgentTask, answer: str) -> None:
    first = env.reset(task)
    before = env.admissible_actions()
    result = env.step("please fly to the moon")
    assert (result.observation, result.reward, result.done, result.won) == (answer, 0.0, False, False)
    assert env.admissible_actions() == before
    assert env.reset(task) == first


# --- TextWorldExpress ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twx() -> Iterator[AgentEnv]:
    pytest.importorskip("textworld_express", reason="textworld-express not installed (pip install textworld-express)")
    if shutil.which("java") is None:
        pytest.skip("TextWorldExpress needs Java and no 'java' is on PATH (apt-get install default-jre-headless)")
    from swirl_wm.envs.textworld_express import TextWorldExpress, TextWorldExpressConfig

    with TextWorldExpress(TextWorldExpressConfig(train_tasks=6, dev_tasks=3, test_tasks=3)) as env:
        yield env


@pytest.fixture(scope="module")
def twx_tasks(twx: AgentEnv) -> dict[Split, list[AgentTask]]:
    return {split: twx.tasks(split) for split in SPLITS}


def test_twx_config_rejects_unknown_params() -> None:
    pytest.importorskip("textworld_express", reason="textworld-express not installed")
    from swirl_wm.envs.textworld_express import TextWorldExpressConfig

    assert TextWorldExpressConfig(game="coin", game_params={"numLocations": 4}).params == {
        "numLocations": 4, "numDistractorItems": 0, "includeDoors": 0
    }  # fmt: skip
    with pytest.raises(pydantic.ValidationError, match="numIngredients"):
        TextWorldExpressConfig(game="coin", game_params={"numIngredients": 2})


def test_twx_tasks_and_splits(twx_tasks: dict[Split, list[AgentTask]]) -> None:
    check_splits_disjoint(twx_tasks)
    assert [t.seed for t in twx_tasks["dev"]] == [10000, 10001, 10002]
    task = twx_tasks["train"][0]
    assert (task.env, task.task_id, task.meta["game"]) == ("textworld_express", "cookingworld-train-0", "cookingworld")
    assert task.goal.startswith("You are hungry!")


def test_twx_walkthroughs_win(twx: AgentEnv, twx_tasks: dict[Split, list[AgentTask]]) -> None:
    for task in [t for split in SPLITS for t in twx_tasks[split]]:
        episode = expert_episode(twx, task)
        assert 7 <= len(episode) <= 13  # cookingworld's measured range (module docstring)
        assert episode.transitions[0].x.startswith(task.goal + "\n")
        assert [t.meta["won"] for t in episode.transitions] == [False] * (len(episode) - 1) + [True]


def test_twx_deterministic_per_seed(twx: AgentEnv, twx_tasks: dict[Split, list[AgentTask]]) -> None:
    task = twx_tasks["test"][1]
    first = (twx.reset(task), twx.admissible_actions(), twx.walkthrough(task))
    assert (twx.reset(task), twx.admissible_actions(), twx.walkthrough(task)) == first
    assert twx.reset(twx_tasks["test"][2]) != first[0] or twx.walkthrough(twx_tasks["test"][2]) != first[2]


def test_twx_invalid_action(twx: AgentEnv, twx_tasks: dict[Split, list[AgentTask]]) -> None:
    check_invalid_action(twx, twx_tasks["train"][0], "Unknown action: I'm not sure what you mean.")


@PROPERTY_SETTINGS
@given(action=ACTION_TEXT)
def test_twx_step_never_raises(twx: AgentEnv, twx_tasks: dict[Split, list[AgentTask]], action: str) -> None:
    twx.reset(twx_tasks["train"][1])
    result = twx.step(action)
    assert isinstance(result.observation, str) and result.observation
    assert result.reward in (0.0, 1.0) and not result.won


# --- ALFWorld -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alfworld_module():  # noqa: ANN201 - the module, imported only when its dependencies are installed
    pytest.importorskip("alfworld", reason="alfworld not installed (pip install alfworld==0.4.2)")
    pytest.importorskip("fast_downward", reason="fast-downward-textworld (alfworld's planner) not installed")
    from swirl_wm.envs import alfworld

    return alfworld


@pytest.fixture(scope="module")
def alf(alfworld_module) -> Iterator[AgentEnv]:  # noqa: ANN001
    config = alfworld_module.ALFWorldConfig(train_tasks=6, dev_tasks=2, test_tasks=2)
    with alfworld_module.ALFWorld(config) as env:
        yield env


@pytest.fixture(scope="module")
def alf_tasks(alf: AgentEnv) -> dict[Split, list[AgentTask]]:
    return {split: alf.tasks(split) for split in SPLITS}


def test_alfworld_rooms_place_every_object(alfworld_module) -> None:  # noqa: ANN001
    from alfworld.gen.constants import VAL_RECEPTACLE_OBJECTS

    for room in alfworld_module.ROOMS.values():
        assert all(r in VAL_RECEPTACLE_OBJECTS for r in room.receptacles)
        assert all(any(o in VAL_RECEPTACLE_OBJECTS[r] for r in room.receptacles) for o in room.objects)


def test_alfworld_generation_deterministic_and_varied(alfworld_module) -> None:  # noqa: ANN001
    config = alfworld_module.ALFWorldConfig()
    for task_type in alfworld_module.TASK_TYPES:
        games = [alfworld_module.generate_game(seed, task_type, config) for seed in range(20)]
        assert alfworld_module.generate_game(3, task_type, config) == games[3]
        bodies = {game.problem.split("\n", 1)[1] for game in games}  # without the (problem NAME) line
        assert len(bodies) == len(games)
        for game in games:
            n_receptacles = len(re.findall(r"^\w+ - receptacle$", game.problem, flags=re.MULTILINE))
            assert config.min_receptacles <= n_receptacles <= config.max_receptacles
    with pytest.raises(pydantic.ValidationError, match="must not be empty"):
        alfworld_module.ALFWorldConfig(min_receptacles=8, max_receptacles=6)


def test_alfworld_tasks_and_splits(alf_tasks: dict[Split, list[AgentTask]]) -> None:
    check_splits_disjoint(alf_tasks)
    train = alf_tasks["train"]
    assert [t.meta["task_type"] for t in train] == [
        "pick_and_place_simple", "look_at_obj_in_light", "pick_clean_then_place_in_recep",
        "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", "pick_two_obj_and_place",
    ]  # fmt: skip
    assert [t.seed for t in alf_tasks["test"]] == [20000, 20001]


def test_alfworld_walkthroughs_win(alf: AgentEnv, alf_tasks: dict[Split, list[AgentTask]]) -> None:
    for task in [t for split in SPLITS for t in alf_tasks[split]]:
        episode = expert_episode(alf, task)
        assert 3 <= len(episode) <= 12
        assert episode.transitions[0].x.endswith(f"Your task is to: {task.goal}.")
        assert episode.transitions[-1].meta["won"]


def test_alfworld_deterministic_per_seed(alf: AgentEnv, alf_tasks: dict[Split, list[AgentTask]]) -> None:
    task = alf_tasks["dev"][0]
    first = (alf.reset(task), alf.admissible_actions(), alf.walkthrough(task))
    assert first[0].startswith("You are in the middle of a room. Looking quickly around you, you see a ")
    assert (alf.reset(task), alf.admissible_actions(), alf.walkthrough(task)) == first


def test_alfworld_invalid_action_and_foreign_task(alf: AgentEnv, alf_tasks: dict[Split, list[AgentTask]]) -> None:
    task = alf_tasks["train"][0]
    check_invalid_action(alf, task, "Nothing happens.")
    with pytest.raises(ValueError, match="another ALFWorldConfig"):
        alf.reset(AgentTask(task.env, task.task_id, task.split, "put a sock in drawer", task.seed, task.meta))


@SLOW_PROPERTY_SETTINGS
@given(action=ACTION_TEXT)
def test_alfworld_step_never_raises(alf: AgentEnv, alf_tasks: dict[Split, list[AgentTask]], action: str) -> None:
    alf.reset(alf_tasks["train"][2])
    result = alf.step(action)
    assert isinstance(result.observation, str) and result.observation
    assert result.reward == 0.0 and not result.done
