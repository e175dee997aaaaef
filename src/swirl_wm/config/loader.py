"""Reading a run config: YAML safe-loaded, ``--set`` overrides applied, validated against the schema
(:mod:`swirl_wm.config.schema`); a validation error names the file, the line and the field of each problem.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from swirl_wm.config.schema import RunConfig

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class ConfigError(ValueError):
    """A config file that does not validate; the message names file, line and field of each problem."""


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at path ``loc`` (the deepest node found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(key)), None)
            key_node = next((k for k, v in node.value if k.value == str(key)), None)
            if match is None:
                return line
            node, line = match, key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def is_agent_config(path: Path) -> bool:
    """Whether the YAML at ``path`` configures an agent run (``swirl paw``: a top-level ``env``, the
    environment the agent plays) rather than a SWIRL run (``data``).

    A file that is not YAML is no agent config: :func:`load_config` then says what is wrong with it, and where.

    Raises:
        OSError: unreadable file.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False
    return isinstance(raw, dict) and "env" in raw


def parse_override(text: str) -> tuple[str, Any]:
    """``"swirl.phase1.beta=1.0"`` → ``("swirl.phase1.beta", 1.0)``: a dotted key and a YAML value (``--set``).

    Raises:
        ConfigError: no ``=``, an empty key, or a value that is not YAML.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected key=value with a dotted key, e.g. swirl.phase1.beta=1.0")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {text!r}: the value is not YAML ({err})") from None


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``raw[a][b][c] = value`` for ``dotted = "a.b.c"``, creating missing sections (an unknown key is
    then rejected when the config is validated).

    Raises:
        ConfigError: a part of the path holds a value, not a section.
    """
    node = raw
    *parents, leaf = dotted.split(".")
    for i, part in enumerate(parents):
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {dotted}: {'.'.join(parents[: i + 1])} is a value, not a section")
    node[leaf] = value


def load_config(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None,
                schema: type[ConfigT] = RunConfig) -> ConfigT:
    """Safe-load a YAML config, apply ``overrides`` (dotted keys, e.g. ``{"sft.learning_rate": 1e-4}`` from
    ``--set``), validate against ``schema`` (:class:`RunConfig` for SWIRL runs, :class:`AgentRunConfig` for
    agent runs).

    Raises:
        FileNotFoundError: no such file (OSError for another unreadable path, such as a folder).
        ConfigError: not UTF-8, invalid YAML, not a mapping, unknown key, wrong type or out-of-range value; the
            message lists ``file:line: field: problem`` for each (``--set`` for a field an override set).
    """
    name = os.fspath(path)
    data = Path(name).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(f"{name}:{line}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        if isinstance(err, yaml.reader.ReaderError):  # a character YAML forbids: a position, not a mark
            line, err = text.count("\n", 0, err.position) + 1, err.reason
        raise ConfigError(f"{name}:{line}: invalid YAML: {getattr(err, 'problem', err)}") from None
    except (ValueError, RecursionError) as err:  # an integer past Python's 4,300 digits; nesting past its stack
        raise ConfigError(f"{name}:0: unreadable YAML ({type(err).__name__}: {str(err)[:120]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}:1: expected a mapping of config fields, got {type(raw).__name__}")
    overrides = overrides or {}
    for dotted, value in overrides.items():
        set_dotted(raw, dotted, value)
    try:
        return schema.model_validate(raw)
    except ValidationError as err:
        problems = []
        for e in _all_errors(schema, raw, err):
            field = ".".join(str(p) for p in e["loc"]) or "(top level)"
            overridden = any(field == k or field.startswith(k + ".") for k in overrides)
            where = "--set" if overridden else f"{name}:{_line_of(node, e['loc']) or 0}"
            problems.append(f"{where}: field '{field}': {e['msg']} (got {e.get('input')!r})")
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems)) from None


def _all_errors(schema: type[BaseModel], raw: dict[str, Any], first: ValidationError) -> list[dict[str, Any]]:
    """The field errors of ``first`` and the cross-field errors that pydantic only checks once every field is
    valid: validated again with each broken field left at its default, until nothing new appears."""
    errors = list(first.errors())
    seen = {(e["loc"], e["msg"]) for e in errors}
    pruned = copy.deepcopy(raw)
    for _ in range(4):  # nesting depth of the configs' model validators
        for e in errors:
            _drop(pruned, e["loc"])
        try:
            schema.model_validate(pruned)
            break
        except ValidationError as again:
            new = [e for e in again.errors() if (e["loc"], e["msg"]) not in seen]
        if not new:
            break
        errors += new
        seen |= {(e["loc"], e["msg"]) for e in new}
    return errors


def _drop(raw: Any, loc: tuple[Any, ...]) -> None:
    """Delete the value at ``loc`` in nested dicts (nothing when the path is not there or is the top)."""
    for key in loc[:-1]:
        if not isinstance(raw, dict) or key not in raw:
            return
        raw = raw[key]
    if loc and isinstance(raw, dict):
        raw.pop(loc[-1], None)


def dump_config(config: BaseModel) -> str:
    """The resolved config as YAML (every default written out), for the run folder."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
