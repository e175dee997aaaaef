"""The registry of state-log sources (envs/registry.py)."""


def test_every_registered_environment_is_wired_from_its_one_line():
    """envs/registry.py: a source's module generates episodes, its config is data.<name>, data.env and
    `swirl data generate --env` accept it, and its hooks resolve (only physics has them today)."""
    import importlib
    import typing

    from swirl_wm.cli.main import GENERATED
    from swirl_wm.config import FILE_SOURCES, DataConfig
    from swirl_wm.envs.registry import SOURCES
    from swirl_wm.evaluation.evaluate import APPLY, NOOP_ACTION, STATE_FIELDS

    assert typing.get_args(DataConfig.model_fields["env"].annotation) == tuple(SOURCES) + FILE_SOURCES
    assert tuple(SOURCES) == GENERATED
    for name, spec in SOURCES.items():
        assert name in DataConfig.model_fields
        assert callable(importlib.import_module(spec.module).generate_episodes)
    assert STATE_FIELDS.keys() == APPLY.keys() == NOOP_ACTION.keys() == {"physics"}
    assert SOURCES["physics"].actions_of("width=8 | ball: pos=1 vel=0 temp=20")[0]
