"""Malformed config files and command lines: every generated case ends in a clear error that
names the file, line and field (or a usage error), never a traceback from inside the stack.

Generated cases here: 300 config texts + 300 byte strings + 300 mutated configs + 250 command lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.config import ConfigError, RunConfig, load_config


def _fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_LOCATED = re.compile(r":\d+: ")  # "file:line: ..."

_yaml_chars = st.text(alphabet=st.sampled_from(list("abcdefgnrstuxy_:-{}[],'\"#&*!|>%@`\n\t 0123456789.é")),
                      max_size=120)


def _check_load(path: Path) -> None:
    try:
        config = load_config(path)
    except ConfigError as err:
        assert str(path) in str(err) and _LOCATED.search(str(err)), str(err)
    else:
        assert isinstance(config, RunConfig)


@_fuzz(300)
@given(text=_yaml_chars)
def test_config_text_is_loaded_or_refused_with_its_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    _check_load(path)


@_fuzz(300)
@given(data=st.binary(max_size=200))
def test_config_bytes_are_loaded_or_refused_with_its_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    _check_load(path)


def _paths(node: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _paths(v, (*prefix, k))] + ([prefix] if prefix else [])
    return [prefix]


_DEFAULT = RunConfig().model_dump(mode="json")
_values = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
                       | st.text(max_size=12), lambda c: st.lists(c, max_size=3)
                       | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=6)


@_fuzz(300)
@given(path=st.sampled_from(_paths(_DEFAULT)), value=_values, extra_key=st.booleans())
def test_mutated_config_names_the_field(tmp_path: Path, path: tuple[str, ...], value: object,
                                        extra_key: bool) -> None:
    raw = yaml.safe_load(yaml.safe_dump(_DEFAULT))
    node = raw
    for part in path[:-1]:
        node = node[part]
    if extra_key:  # an unknown key next to a known one
        node[path[-1] + "_typo"] = value
    else:
        node[path[-1]] = value
    file = tmp_path / "mutated.yaml"
    file.write_text(yaml.safe_dump(raw), encoding="utf-8")
    try:
        load_config(file)
    except ConfigError as err:
        message = str(err)
        assert _LOCATED.search(message) and str(file) in message
        named = ".".join(path) + ("_typo" if extra_key else "")
        # the field is named (or its parent, for a sub-config replaced by a non-mapping)
        assert ".".join(path[:-1] or path) in message or named in message, message


_COMMANDS = [["train"], ["eval"], ["data", "generate"], ["data", "import"], ["nonsense"], []]
_OPTIONS = ["--output-dir", "--seed", "--run", "--data", "--phase", "--output", "--env", "--config",
            "--n-episodes", "--format", "--input", "--max-state-chars", "--bogus"]
_ARG_VALUES = st.one_of(st.sampled_from(["", "-1", "0", "x", "physics", "tau-bench", "webshop", "propara",
                                         "missing.yaml", "missing/", "1e9", "nan", "best"]),
                        st.text(alphabet="abc-./_0123456789 é", max_size=12))


@_fuzz(250)
@given(command=st.sampled_from(_COMMANDS),
       args=st.lists(st.one_of(st.sampled_from(_OPTIONS), _ARG_VALUES), max_size=6))
def test_command_lines_end_in_a_clear_error(tmp_path: Path, monkeypatch, command: list[str],
                                            args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    if command == ["data", "generate"] and "--output" in args:
        args = [a for a in args if a != "physics"]  # keep the fuzz from generating data (slow, valid)
    if command == ["train"]:
        args = ["missing.yaml", *args]  # a train command that validates would start training
    result = CliRunner().invoke(app, [*command, *args])
    # 0: help/usage printed; 2: a usage error or our own error message. Never an unhandled exception.
    assert result.exit_code in (0, 2), (command, args, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 2:
        assert "error" in result.output.lower() or "Usage" in result.output, result.output
