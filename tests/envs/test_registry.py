"""The registry of environments (envs/registry.py)."""


def test_every_registered_environment_is_wired_from_its_one_line():
    """envs/registry.py: an environment's module generates episodes (or is an agent environment), its config is
    data.<name>, data.env and `swirl data generate --env` accept it, and its hooks resolve (physics and the
    shapes world have them; only physics a no-op action)."""
    import importlib
    import typing

    from swirl_wm.cli.main import GENERATED
    from swirl_wm.config import FILE_FORMATS, DataConfig
    from swirl_wm.envs.registry import ENVIRONMENTS
    from swirl_wm.evaluation.evaluate import APPLY, NOOP_ACTION, STATE_FIELDS

    assert typing.get_args(DataConfig.model_fields["env"].annotation) == tuple(ENVIRONMENTS) + FILE_FORMATS
    assert tuple(ENVIRONMENTS) == GENERATED
    for name, spec in ENVIRONMENTS.items():
        assert name in DataConfig.model_fields
        module = importlib.import_module(spec.module)
        assert callable(getattr(module, "generate_episodes", None)) or isinstance(getattr(module, spec.agent), type)
    assert STATE_FIELDS.keys() == APPLY.keys() == {"physics", "shapes"} and NOOP_ACTION.keys() == {"physics"}
    assert ENVIRONMENTS["physics"].actions_of("width=8 | ball: pos=1 vel=0 temp=20")[0]


def test_the_registries_own_the_headline_metric_and_the_action_set():
    """The FWM's headline metric is a fact of the environment's registry line or importer (a user's own env
    name gets ROUGE-L), over which a modality with its own (image codes) wins; the normalised Phase I reward
    is allowed where the registry has an action set that the config does not reword, and an importer's name
    is a data.env and a `swirl data import --format` choice."""
    import pytest

    from swirl_wm.cli.main import ImportFormat
    from swirl_wm.config import FILE_FORMATS, RunConfig
    from swirl_wm.data.importers import FORMATS
    from swirl_wm.envs.registry import headline_fwm

    assert headline_fwm("physics") == headline_fwm("shapes") == "fwm/field_accuracy"
    assert headline_fwm("bfcl") == headline_fwm("tau-bench") == "fwm/bleu"
    assert {headline_fwm(env) for env in ("scienceworld", "miniwob", "webshop", "propara", "alfworld", "jsonl",
                                          "my-own-env", None)} == {"fwm/rouge_l"}
    assert headline_fwm("physics", "image") == headline_fwm("shapes", "image") == "fwm/code_match"
    assert [f.value for f in ImportFormat] == list(FORMATS) and set(FORMATS) < set(FILE_FORMATS)
    normalised = {"swirl": {"phase1_reward": "normalised"}}
    RunConfig.model_validate(normalised | {"data": {"physics": {"paraphrased": False}}})
    for data in ({}, {"env": "shapes"}, {"env": "jsonl", "path": "x.jsonl"}):
        with pytest.raises(ValueError, match="canonical actions: data.env: physics with data.physics.paraphrased: "
                                             "false"):
            RunConfig.model_validate(normalised | {"data": data})


def test_one_registry_for_state_logs_and_agents():
    """An agent environment is a registry line too: `swirl paw` can train in it (AgentEnvConfig.name's
    choices) and the SWIRL loop can read its expert walkthroughs; a state-log-only environment is no agent."""
    import typing

    import pytest

    from swirl_wm.config import AgentEnvConfig
    from swirl_wm.envs.registry import AGENTS, ENVIRONMENTS

    assert typing.get_args(AgentEnvConfig.model_fields["name"].annotation) == AGENTS
    assert set(AGENTS) == {"scienceworld", "textworld_express", "alfworld", "physics_goal"}
    assert all(name in AgentEnvConfig.model_fields for name in AGENTS)
    with pytest.raises(ValueError, match="physics is not an agent environment; agent environments: scienceworld"):
        ENVIRONMENTS["physics"].make_agent(None)


def test_an_agent_environment_feeds_the_swirl_loop():
    """data.env: textworld_express gives the train tasks' walkthroughs as episodes with their actions."""
    import shutil

    import pytest

    from swirl_wm.envs.registry import ENVIRONMENTS
    from swirl_wm.envs.textworld_express import TextWorldExpressConfig

    if shutil.which("java") is None:
        pytest.skip("TextWorldExpress needs Java and no 'java' is on PATH (apt-get install default-jre-headless)")
    episodes = ENVIRONMENTS["textworld_express"].generate(TextWorldExpressConfig(train_tasks=2, dev_tasks=1,
                                                                             test_tasks=1), seed=0)
    assert [e.episode_id for e in episodes] == ["cookingworld-train-0", "cookingworld-train-1"]
    for episode in episodes:
        steps = episode.transitions
        assert steps and all(t.z for t in steps) and all(a.y == b.x for a, b in zip(steps, steps[1:], strict=False))
        assert steps[-1].meta["won"]
