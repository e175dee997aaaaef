"""A fuzz of every reader of a user's files, through the functions the commands call: JSONL transitions,
episodes (``transitions`` and ``states`` lines), the recorded data sets' importers, Parquet files, ``datasets``
folders, run configs, checkpoints and tokenizers, and the image files of an image log. Every malformed input
either reads (and what it read can be written back) or ends in the project's own error: one line that names
the file, no traceback. A bad data file under ``swirl train`` leaves no folder that refuses the corrected
command.

Generated inputs: JSONL 300, episodes 200, importers 150, Parquet 120, ``datasets`` folders 60, configs 150,
image files 64, checkpoints 17, and through the commands 65 (predict and eval 30, data import 15, config show
10, predict on a checkpoint 3, train and its corrected rerun 7): 1,126 in all. The mutations are seeded by
hypothesis (derandomized), so a failure reruns.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.config import ConfigError, is_agent_config, load_config
from swirl_wm.data.importers import import_episodes
from swirl_wm.data.jsonl import DataError, group_episodes, read_transitions, write_episodes
from swirl_wm.data.tables import read_any, read_table
from swirl_wm.models.loading import ModelUnreadable, load_model, load_tokenizer
from swirl_wm.recipes.frames import read_frame
from tests.data.test_importers import TAU, WEBSHOP


def _fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --- what an error must look like ---------------------------------------------------------------------------

def _one_line(err: Exception, kinds: type[Exception] | tuple[type[Exception], ...], path: Path | str) -> None:
    """``err`` is one of the errors the commands print as one line, names ``path`` and is one line."""
    assert isinstance(err, kinds), f"{type(err).__name__} escaped: {err}"
    text = str(err)
    assert os.fspath(path) in text, f"the message does not name {path}: {text}"
    assert "\n" not in text and "Traceback" not in text, text


def _reads_or_refuses(read, path: Path, kinds=DataError) -> Any:
    """``read(path)``'s result, or None after checking that it raised a one-line error naming ``path``."""
    try:
        return read(path)
    except Exception as err:  # the point: nothing else escapes
        _one_line(err, kinds, path)
        return None


def _cli_one_line(result, path: Path | str) -> None:
    """A command that ended in ``error: ...`` naming ``path`` (or succeeded), never in a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output
    if result.exit_code:
        assert result.exit_code == 2, result.output
        lines = result.output.strip().split("\n")
        at = max(i for i, line in enumerate(lines) if "error:" in line)  # after progress bars, if any
        text = lines[at][lines[at].index("error:"):]
        if text == "error: invalid config:":  # a config error: one line per problem, each naming the file
            assert all(line.strip().startswith(os.fspath(path)) for line in lines[at + 1:]), result.output
        else:
            assert at == len(lines) - 1 and os.fspath(path) in text, result.output


# --- byte-level mutations, shared by every file format ----------------------------------------------------

_NOT_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80\x80", b"\xf8\x88\x80\x80\x80"]


def _mutate_bytes(raw: bytes, kind: str, rng: random.Random) -> bytes:
    """``raw`` truncated, with bytes flipped, with non-UTF-8 bytes inserted, with its tail (a Parquet
    footer) damaged, or emptied."""
    if kind == "truncate":
        return raw[:rng.randrange(len(raw))]
    out = bytearray(raw)
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif kind == "not_utf8":
        at = rng.randrange(len(out) + 1)
        out[at:at] = rng.choice(_NOT_UTF8)
    elif kind == "tail":
        for _ in range(rng.randint(1, 3)):
            out[len(out) - 1 - rng.randrange(min(64, len(out)))] = rng.randrange(256)
    elif kind == "empty":
        return rng.choice([b"", b"\n", b"  \n\n"])
    return bytes(out)


BYTE_KINDS = ["truncate", "flip", "not_utf8", "tail", "empty"]
seeds = st.integers(0, 2**32 - 1)

# --- JSONL and episodes ------------------------------------------------------------------------------------

RECORDS = [
    {"episode_id": "e1", "step": 0, "env": "user", "x": "s0", "z": "go", "y": "s1", "meta": {"k": 1}},
    {"episode_id": "e2", "env": "user", "transitions": [{"x": "a", "z": "left", "y": "b"},
                                                        {"x": "b", "z": None, "y": "c", "meta": {}}]},
    {"episode_id": "e3", "states": ["p", "q", "r"], "actions": ["up", None], "meta": {"seed": 3}},
]
# Literal JSON text a value may be replaced by: numbers Python reads as inf or cannot hold, NaN, a lone
# surrogate escape, nesting deeper than the decoder's recursion limit.
_RAW_VALUES = ["NaN", "Infinity", "-1e99999", "1e99999", "9" * 5000, '"\\ud800"', '"x\\udfff"', '"\\u0000"',
               "[" * 50000 + "]" * 50000, '{"a":' * 20000 + "1" + "}" * 20000, "-0", "1.5", "true", "null"]
_values = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                       | st.text(max_size=6), lambda c: st.lists(c, max_size=3)
                       | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=5)


def _json_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    return [p for key, child in items for p in [(*prefix, key), *_json_paths(child, (*prefix, key))]]


def _edit(record: Any, path: tuple, value: Any, how: str) -> Any:
    """A copy of ``record`` with the item at ``path`` replaced, deleted, or given an extra sibling key."""
    record = json.loads(json.dumps(record))
    parent = record
    for key in path[:-1]:
        parent = parent[key]
    if how == "delete":
        del parent[path[-1]]
    elif how == "extra" and isinstance(parent, dict):
        parent[f"{path[-1]}_extra"] = value
    else:
        parent[path[-1]] = value
    return record


_SENTINEL = "__RAW__"


def _line(record: Any, raw: str | None) -> str:
    text = json.dumps(record, allow_nan=True, ensure_ascii=False)
    return text.replace(json.dumps(_SENTINEL), raw) if raw is not None else text


def _read_jsonl(path: Path):
    transitions = read_any(path)  # what predict, label and rollout read
    episodes = group_episodes(read_transitions(path))  # what the data stage of swirl train reads
    write_episodes(path.with_suffix(".out"), episodes)  # a file that reads is one a run folder can hold
    return transitions


@_fuzz(300)
@given(data=st.data(), kind=st.sampled_from(["field", "raw", *BYTE_KINDS]), seed=seeds)
def test_jsonl_lines(tmp_path_factory, data, kind: str, seed: int) -> None:
    rng = random.Random(seed)
    lines = [json.dumps(r) for r in RECORDS]
    at = rng.randrange(len(lines))
    if kind in ("field", "raw"):
        record = RECORDS[at]
        path = data.draw(st.sampled_from(_json_paths(record)))
        raw = data.draw(st.sampled_from(_RAW_VALUES)) if kind == "raw" else None
        value = _SENTINEL if raw is not None else data.draw(_values)
        lines[at] = _line(_edit(record, path, value, data.draw(st.sampled_from(["set", "delete", "extra"]))), raw)
        content = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    else:
        content = _mutate_bytes(("\n".join(lines) + "\n").encode(), kind, rng)
    file = tmp_path_factory.mktemp("jsonl") / "log.jsonl"
    file.write_bytes(content)
    _reads_or_refuses(_read_jsonl, file)


_shapes = st.recursive(st.none() | st.integers(-3, 3) | st.text(max_size=3) | st.floats(),
                       lambda c: st.lists(c, max_size=4) | st.dictionaries(
                           st.sampled_from(["x", "y", "z", "step", "meta", "states", "q"]), c, max_size=4),
                       max_leaves=8)


@_fuzz(200)
@given(form=st.sampled_from(["transitions", "states", "actions", "meta"]), value=_shapes,
       keep=st.booleans())
def test_episode_lines_with_nested_wrong_shapes(tmp_path_factory, form: str, value: Any, keep: bool) -> None:
    record: dict[str, Any] = dict(RECORDS[1] if form == "transitions" else RECORDS[2])
    record[form] = value
    if not keep and form == "actions":
        del record["states"]  # an episode of states without its states
    file = tmp_path_factory.mktemp("episodes") / "episodes.jsonl"
    file.write_text(json.dumps(record, allow_nan=True) + "\n", encoding="utf-8")
    _reads_or_refuses(_read_jsonl, file)


# --- the recorded data sets' importers -----------------------------------------------------------------------

PROPARA = {"para_id": "7", "sentence_texts": ["Rain falls.", "Water soaks in."], "participants": ["water"],
           "states": [["cloud", "ground", "soil"]]}
IMPORTED = {"propara": ("grids.v1.dev.json", json.dumps(PROPARA) + "\n"),
            "tau-bench": ("airline.json", json.dumps([TAU], indent=1)),
            "webshop": ("log.txt", WEBSHOP)}


def _import(name: str):
    def read(path: Path):
        episodes = import_episodes(name, path, 2000)
        write_episodes(path.with_suffix(".out"), episodes)
        return episodes
    return read


@_fuzz(150)
@given(data=st.data(), name=st.sampled_from(sorted(IMPORTED)), kind=st.sampled_from(["raw", *BYTE_KINDS]),
       seed=seeds)
def test_importers(tmp_path_factory, data, name: str, kind: str, seed: int) -> None:
    file_name, text = IMPORTED[name]
    rng = random.Random(seed)
    if kind == "raw" and name != "webshop":  # a JSON value where the upstream file has a field
        record = PROPARA if name == "propara" else TAU
        raw = data.draw(st.sampled_from(_RAW_VALUES))
        edited = _line(_edit(record, data.draw(st.sampled_from(_json_paths(record))), _SENTINEL, "set"), raw)
        content = (edited + "\n" if name == "propara" else f"[{edited}]").encode("utf-8", "surrogatepass")
    else:
        content = _mutate_bytes(text.encode(), "flip" if kind == "raw" else kind, rng)
    file = tmp_path_factory.mktemp("import") / file_name
    file.write_bytes(content)
    _reads_or_refuses(_import(name), file)


# --- Parquet files and datasets folders ---------------------------------------------------------------------

ROWS = {"episode_id": ["e1", "e1", "e2"], "step": [0, 1, 0], "x": ["s0", "s1", "t0"], "z": ["go", None, "up"],
        "y": ["s1", "s2", "t1"]}
# A column replaced by another type or shape (pyarrow types), renamed, dropped or joined by a stranger.
_COLUMNS = [pa.array([1, 2, 3]), pa.array([1.5, float("nan"), float("inf")]), pa.array([2**62, -1, 0]),
            pa.array(["", " ", "\x00"]), pa.array([None, None, None], pa.string()), pa.array([[1], [], None]),
            pa.array([["a", "b"], ["c"], []]), pa.array([{"a": 1}, {"a": None}, None]), pa.array([b"\xff", b"", b"x"]),
            pa.array([True, False, True]), pa.array(["a", "b", "c"])]


def _own_cache(monkeypatch, tmp_path_factory) -> None:
    """`datasets` caches every Parquet file it reads: the fuzz's go to the test session's folder."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "hf-cache"))


def _table(data, kind: str) -> pa.Table:
    columns = {k: pa.array(v) for k, v in ROWS.items()}
    name = data.draw(st.sampled_from(sorted(columns)))
    if kind == "type":
        columns[name] = data.draw(st.sampled_from(_COLUMNS))
    elif kind == "rename":
        columns[name + "_renamed"] = columns.pop(name)
    elif kind == "drop":
        del columns[name]
    elif kind == "extra":
        columns["reward"] = pa.array([1.0, 0.0, float("nan")])
    elif kind == "states":  # an episode-of-states table with wrong shapes
        columns = {"episode_id": pa.array(["e"]), "states": data.draw(st.sampled_from([
            pa.array([["a"]]), pa.array([[1, 2]]), pa.array([["a", None]]), pa.array([None], pa.list_(pa.string())),
            pa.array([["a", "b"]])])), "actions": data.draw(st.sampled_from([
                pa.array([["go", "up"]]), pa.array([[None]], pa.list_(pa.string())), pa.array([3]), pa.array(["go"])]))}
    elif kind == "no_rows":
        return pa.table({k: v.slice(0, 0) for k, v in columns.items()})
    return pa.table(columns)


@_fuzz(120)
@given(data=st.data(), kind=st.sampled_from(["type", "rename", "drop", "extra", "states", "no_rows", *BYTE_KINDS]),
       seed=seeds)
def test_parquet_files(tmp_path_factory, monkeypatch, data, kind: str, seed: int) -> None:
    _own_cache(monkeypatch, tmp_path_factory)
    file = tmp_path_factory.mktemp("parquet") / "log.parquet"
    if kind in BYTE_KINDS:
        pq.write_table(pa.table({k: pa.array(v) for k, v in ROWS.items()}), file)
        file.write_bytes(_mutate_bytes(file.read_bytes(), kind, random.Random(seed)))
    else:
        pq.write_table(_table(data, kind), file)
    _reads_or_refuses(read_any, file)


@pytest.fixture(scope="module")
def saved_dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("saved") / "ds"
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(folder))
    return folder


_JSON_JUNK = [3, "x", [1], None, {"a": 1}, [{"filename": "missing.arrow"}], {"x": {"_type": "Nope"}},
              {"x": {"dtype": "int64", "_type": "Value"}}, "{not json"]


@_fuzz(60)
@given(data=st.data(), kind=st.sampled_from(["remove", "json", *BYTE_KINDS]), seed=seeds)
def test_datasets_folders(tmp_path_factory, saved_dataset: Path, data, kind: str, seed: int) -> None:
    folder = tmp_path_factory.mktemp("dataset") / "ds"
    shutil.copytree(saved_dataset, folder)
    rng = random.Random(seed)
    names = sorted(p.name for p in folder.iterdir())
    name = names[rng.randrange(len(names))]
    if kind == "remove":  # a missing arrow file, dataset_info.json or state.json
        (folder / name).unlink()
    elif kind == "json":  # a field of dataset_info.json or state.json of the wrong type or shape
        target = folder / data.draw(st.sampled_from(["dataset_info.json", "state.json"]))
        content = json.loads(target.read_text(encoding="utf-8"))
        junk = data.draw(st.sampled_from(_JSON_JUNK))
        if junk == "{not json":
            target.write_text(junk, encoding="utf-8")
        else:
            content[data.draw(st.sampled_from(sorted(content)))] = junk
            target.write_text(json.dumps(content), encoding="utf-8")
    else:
        (folder / name).write_bytes(_mutate_bytes((folder / name).read_bytes(), kind, rng))
    _reads_or_refuses(read_table, folder)


# --- run configs ----------------------------------------------------------------------------------------------

_BASE_CONFIG = {"name": "fuzz", "data": {"env": "jsonl", "path": "log.jsonl"}, "sft": {"learning_rate": 1e-4},
                "swirl": {"iterations": 1, "phase1": {"beta": 0.1}}}
_YAML_RAW = ["[" * 600 + "]" * 600, "{a: " * 600 + "1" + "}" * 600, "9" * 5000, ".nan", ".inf", "-.inf",
             "1e999", "&a [*a]", "!!python/object:os.system x", "!!binary aGVsbG8=", "2001-01-01", "? [a]\n: 1",
             "'\\ud800'", '"\\ud800"', "~", "yes", "0x1F", "1_000", "|\n  text", "- a\n- b"]


@_fuzz(150)
@given(data=st.data(), kind=st.sampled_from(["value", "raw", "document", *BYTE_KINDS]), seed=seeds)
def test_configs(tmp_path_factory, data, kind: str, seed: int) -> None:
    rng = random.Random(seed)
    text = yaml.safe_dump(_BASE_CONFIG)
    if kind == "value":  # a field of the wrong type, or an unknown field beside it
        how = data.draw(st.sampled_from(["set", "delete", "extra"]))
        text = yaml.safe_dump(_edit(_BASE_CONFIG, data.draw(st.sampled_from(_json_paths(_BASE_CONFIG))),
                                    data.draw(_values), how))
    elif kind == "raw":  # YAML text a value is replaced by
        edited = _edit(_BASE_CONFIG, data.draw(st.sampled_from(_json_paths(_BASE_CONFIG))), _SENTINEL, "set")
        text = yaml.safe_dump(edited).replace(_SENTINEL, data.draw(st.sampled_from(_YAML_RAW)))
    elif kind == "document":  # a whole document that is not a mapping of fields, or several documents
        text = data.draw(st.sampled_from([yaml.safe_dump(data.draw(_values)), f"{text}---\n{text}", "!!set {a}",
                                          "[" * 600]))
    content = text.encode("utf-8", "surrogatepass")
    if kind in BYTE_KINDS:
        content = _mutate_bytes(content, kind, rng)
    file = tmp_path_factory.mktemp("config") / "run.yaml"
    file.write_bytes(content)
    is_agent_config(file)  # config show and bench ask it before load_config: a file that is not YAML is no agent's
    try:
        load_config(file)
    except ConfigError as err:  # one line per problem, each naming the file (or --set)
        lines = str(err).removeprefix("invalid config:\n").split("\n")
        assert all(line.strip().startswith(os.fspath(file)) for line in lines), str(err)
        assert "Traceback" not in str(err)
    except Exception as err:
        raise AssertionError(f"{type(err).__name__} escaped load_config: {err}") from err


# --- image files of an image log ------------------------------------------------------------------------------

def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


# A PNG header that claims 10^10 pixels: Pillow refuses it as a decompression bomb.
BOMB = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
        + _png_chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, bytes]:
    from PIL import Image

    folder = tmp_path_factory.mktemp("pictures")
    pixels = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    out = {}
    for suffix in ("png", "jpg", "bmp"):
        Image.fromarray(pixels).save(folder / f"frame.{suffix}")
        out[suffix] = (folder / f"frame.{suffix}").read_bytes()
    return out


@_fuzz(60)
@given(suffix=st.sampled_from(["png", "jpg", "bmp"]), kind=st.sampled_from(["bomb", "folder", *BYTE_KINDS]),
       seed=seeds)
def test_image_files(tmp_path_factory, pictures: dict[str, bytes], suffix: str, kind: str, seed: int) -> None:
    folder = tmp_path_factory.mktemp("frames")
    file = folder / f"frame.{suffix}"
    if kind == "folder":  # a state naming a folder
        file.mkdir()
    else:
        file.write_bytes(BOMB if kind == "bomb" else _mutate_bytes(pictures[suffix], kind, random.Random(seed)))
    _reads_or_refuses(read_frame, file, ValueError)


@pytest.mark.parametrize("state", ["missing.png", "a\x00b.png", "x" * 300 + ".png", "."])
def test_image_paths_that_name_no_file(tmp_path: Path, state: str) -> None:
    _reads_or_refuses(read_frame, tmp_path / state, ValueError)


# --- the same inputs through the commands ---------------------------------------------------------------------

def _bad_jsonl(folder: Path, rng: random.Random) -> Path:
    file = folder / "log.jsonl"
    good = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    file.write_bytes(rng.choice([_mutate_bytes(good, rng.choice(BYTE_KINDS), rng),
                                 good + b'{"episode_id": "e", "x": ' + rng.choice(_RAW_VALUES).encode() + b"}\n"]))
    return file


def _bad_table(folder: Path, rng: random.Random) -> Path:
    file = folder / "log.parquet"
    pq.write_table(pa.table({k: pa.array(v) for k, v in ROWS.items()}), file)
    file.write_bytes(_mutate_bytes(file.read_bytes(), rng.choice(BYTE_KINDS), rng))
    return file


@_fuzz(30)
@given(make=st.sampled_from([_bad_jsonl, _bad_table]), command=st.sampled_from(["predict", "eval"]), seed=seeds)
def test_data_files_through_predict_and_eval(tmp_path_factory, monkeypatch, make, command: str, seed: int) -> None:
    _own_cache(monkeypatch, tmp_path_factory)
    folder = tmp_path_factory.mktemp("cli")
    file = make(folder, random.Random(seed))
    if command == "predict":  # the input is read before any model is loaded
        args = ["predict", "--fwm", str(folder / "no-model"), "--input", str(file)]
    else:  # eval reads --data before the run's checkpoints
        (folder / "run").mkdir()
        (folder / "run" / "config.yaml").write_text(yaml.safe_dump({"name": "r"}), encoding="utf-8")
        args = ["eval", "--run", str(folder / "run"), "--data", str(file)]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if _reads_or_refuses(read_any if command == "predict" else read_transitions, file) is None:
        _cli_one_line(result, file)  # else the error is the missing model's or run's


@_fuzz(15)
@given(name=st.sampled_from(sorted(IMPORTED)), kind=st.sampled_from(BYTE_KINDS), seed=seeds)
def test_recorded_files_through_data_import(tmp_path_factory, name: str, kind: str, seed: int) -> None:
    folder = tmp_path_factory.mktemp("import-cli")
    file_name, text = IMPORTED[name]
    file = folder / file_name
    file.write_bytes(_mutate_bytes(text.encode(), kind, random.Random(seed)))
    result = CliRunner().invoke(app, ["data", "import", "--format", name, "--input", str(file),
                                      "--output", str(folder / "out.jsonl")])
    _cli_one_line(result, file)


@pytest.mark.parametrize("text", ["[" * 600, "seed: " + "9" * 5000, "a: 1\n---\nb: 2\n", "seed: !!python/name:os.x",
                                  "\xff", "data: {env: jsonl, path: [1]}", "- a\n- b\n", "sft: {learning_rate: .nan}",
                                  "sft: {learning_rate: 1e999}", "swirl: {phase1: {beta: .inf}}"])
def test_configs_through_config_show(tmp_path: Path, text: str) -> None:
    file = tmp_path / "run.yaml"
    file.write_bytes(text.encode("latin-1") if text == "\xff" else text.encode())
    result = CliRunner().invoke(app, ["config", "show", str(file)])
    assert result.exit_code == 2, result.output
    _cli_one_line(result, file)


# --- checkpoints and tokenizers --------------------------------------------------------------------------------

def _json_edit(name: str, edit):
    def apply(folder: Path) -> None:
        content = json.loads((folder / name).read_text(encoding="utf-8"))
        edit(content)
        (folder / name).write_text(json.dumps(content), encoding="utf-8")
    return apply


def _write(name: str, data: bytes):
    return lambda folder: (folder / name).write_bytes(data)


def _cut(name: str, fraction: float):
    return lambda folder: (folder / name).write_bytes((folder / name).read_bytes()[:int((folder / name).stat().st_size
                                                                                         * fraction)])


CHECKPOINTS = {  # each a distinct way a checkpoint folder is broken
    "weights cut short": _cut("model.safetensors", 0.5),
    "weights header cut": _cut("model.safetensors", 0.0001),
    "weights random bytes": _write("model.safetensors", bytes(random.Random(0).randrange(256) for _ in range(4096))),
    "weights header too long": _write("model.safetensors", b"\xff" * 8 + b"{}"),
    "weights missing": lambda folder: (folder / "model.safetensors").unlink(),
    "config missing": lambda folder: (folder / "config.json").unlink(),
    "config not json": _write("config.json", b"{"),
    "config a list": _write("config.json", b"[]"),
    "config field of a wrong type": _json_edit("config.json", lambda c: c.update(hidden_size="wide")),
    "config unknown model type": _json_edit("config.json", lambda c: c.update(model_type="nonsense")),
    "config shape unlike the weights": _json_edit("config.json", lambda c: c.update(hidden_size=48)),
    "tokenizer not json": _write("tokenizer.json", b"{not json"),
    "tokenizer cut short": _cut("tokenizer.json", 0.5),
    "tokenizer of a wrong shape": _write("tokenizer.json", b'{"model": 3}'),
    "tokenizer config a list": _write("tokenizer_config.json", b"[1, 2"),
    "adapter config not json": _write("adapter_config.json", b"{"),
    "adapter without its base": _write("adapter_config.json", b'{"peft_type": "LORA"}'),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINTS))
def test_checkpoints(tmp_path: Path, tiny_path: str, case: str) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_path, folder)
    CHECKPOINTS[case](folder)
    for load in (load_model, load_tokenizer):
        try:
            load(str(folder))
        except Exception as err:
            _one_line(err, ModelUnreadable, folder)


@pytest.mark.parametrize("case", ["weights random bytes", "tokenizer of a wrong shape", "adapter config not json"])
def test_checkpoints_through_predict(tmp_path: Path, tiny_path: str, case: str) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_path, folder)
    CHECKPOINTS[case](folder)
    result = CliRunner().invoke(app, ["predict", "--fwm", str(folder), "--x", "s", "--z", "a"])
    assert result.exit_code == 2, result.output
    _cli_one_line(result, folder)


# --- swirl train: a bad data file, then the corrected command in the same output_dir ---------------------------

def _good_log(folder: Path, images: bool = False) -> Path:
    """24 transitions of 12 episodes; with ``images`` each state is a PNG file beside the log."""
    from PIL import Image

    states = [f"state {e}.{s}" for e in range(12) for s in range(3)]
    if images:
        for k in range(4):
            Image.fromarray(np.full((8, 8, 3), 60 * k, np.uint8)).save(folder / f"f{k}.png")
        states = [f"f{k % 4}.png" for k in range(len(states))]
    lines = [{"episode_id": f"ep{e}", "step": s, "x": states[3 * e + s], "z": f"act {s}", "y": states[3 * e + s + 1]}
             for e in range(12) for s in range(2)]
    file = folder / "good.jsonl"
    file.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return file


def _bad_data(folder: Path, kind: str) -> tuple[Path, str, Path]:
    """A bad data file of ``kind``, its ``data.env`` and the file the error must name."""
    good = _good_log(folder, images=kind == "image")
    if kind == "image":  # the log reads; its first frame does not
        (folder / "f0.png").write_bytes((folder / "f0.png").read_bytes()[:40])
        shutil.copy(good, folder / "bad.jsonl")
        return folder / "bad.jsonl", "jsonl", folder / "f0.png"
    if kind in ("parquet", "hf-dataset"):
        table = datasets.Dataset.from_json(str(good))
        if kind == "parquet":
            table.to_parquet(str(folder / "bad.parquet"))
            (folder / "bad.parquet").write_bytes((folder / "bad.parquet").read_bytes()[:-10])
            return folder / "bad.parquet", kind, folder / "bad.parquet"
        table.save_to_disk(str(folder / "bad"))
        next((folder / "bad").glob("*.arrow")).unlink()
        return folder / "bad", kind, folder / "bad"
    content = {"json": good.read_bytes() + b'{"episode_id": "e", "x": [1e99999]}\n', "empty": b"",
               "not_utf8": b"\xff" + good.read_bytes(), "deep": b"[" * 50000 + b"\n"}[kind]
    (folder / "bad.jsonl").write_bytes(content)
    return folder / "bad.jsonl", "jsonl", folder / "bad.jsonl"


@pytest.mark.parametrize("kind", ["json", "empty", "not_utf8", "deep", "parquet", "hf-dataset", "image"])
def test_train_on_a_bad_file_then_the_corrected_rerun(tmp_path: Path, tmp_path_factory, monkeypatch, kind: str) -> None:
    import swirl_wm.recipes.swirl as swirl

    _own_cache(monkeypatch, tmp_path_factory)

    bad, env, named = _bad_data(tmp_path, kind)
    raw = {"output_dir": str(tmp_path / "run"), "data": {"env": env, "path": str(bad)},
           "model": {"name_or_path": "tiny"}, "eval": {"embedding_similarity": False}}
    if kind == "image":
        raw["data"] |= {"modality": "image", "image_codec": {"steps": 300, "channels": 8, "downsample": 4}}
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    _cli_one_line(failed := CliRunner().invoke(app, ["train", str(config)]), named)
    assert failed.exit_code == 2
    raw["data"] |= {"env": "jsonl", "path": str(_good_log(tmp_path, images=kind == "image"))}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")

    def stop(*_):
        raise RuntimeError("stopped after the data stage")

    monkeypatch.setattr(swirl, "base_model", stop)  # the rest of the run is the other tests' business
    rerun = CliRunner().invoke(app, ["train", str(config)])
    assert rerun.output.strip().splitlines()[-1] == "error: stopped after the data stage", rerun.output
