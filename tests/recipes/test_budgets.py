"""Token budgets against the texts they must hold: every shipped config whose data the tests can build (its
example log, or its generated environment) fits its own data, and a run whose budget cuts its texts stops
before SFT unless ``allow_cut_texts`` says otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from swirl_wm.config import FILE_FORMATS, load_config
from swirl_wm.data.jsonl import write_transitions
from swirl_wm.data.splits import Splits
from swirl_wm.recipes.data import base_model, check_generation_budgets, data_stage
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.records import Transition

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*ROOT.glob("configs/*.yaml"), *ROOT.glob("src/swirl_wm/configs/*.yaml")])
BUILT_HERE = ("physics",)  # generated in well under a second; the other environments need extras or a JVM


def _with_data(path: Path) -> bool:
    """A SWIRL config whose data is in the repository (a file's path) or generated cheaply."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "data" not in raw:  # an agent run (`swirl paw`): budgets are not checked there
        return False
    env, path = raw["data"].get("env", "physics"), raw["data"].get("path")
    return env in BUILT_HERE or (env in FILE_FORMATS and path is not None and (ROOT / path).exists())


CHECKED = [p for p in SHIPPED if _with_data(p)]
# Recorded data sets whose longest texts outrun a CPU-sized budget, opted in on purpose (each config says
# what its budgets cut); a walkthrough or demo config never is.
OPTED_IN = {"configs/tau-bench.yaml", "configs/webshop.yaml"}


def test_the_walkthrough_and_demo_configs_are_among_the_checked() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in CHECKED}
    assert {"configs/own-logs.yaml", "src/swirl_wm/configs/demo.yaml", "src/swirl_wm/configs/demo-tiny.yaml"} <= names


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shipped_config_budgets_hold_every_text_of_its_data(path: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # data.path is relative to the repository, as the README runs it
    config = load_config(path, {"output_dir": str(tmp_path / "run")})
    if config.model.name_or_path == "smollm2":  # the tiny preset has SmolLM2's tokenizer, without the conversion
        config = config.model_copy(update={"model": config.model.model_copy(update={"name_or_path": "tiny"})})
    messages: list[str] = []
    run = SwirlRun(config, messages.append)
    data_stage(run)
    splits = Splits.load(run.path("data"))
    warnings = check_generation_budgets(run, base_model(run, splits), splits)
    name = path.relative_to(ROOT).as_posix()
    if name in OPTED_IN:  # still needed: a config whose budgets came to fit drops its allow_cut_texts
        assert config.allow_cut_texts and warnings, name
    else:
        assert not config.allow_cut_texts and warnings == [], name


def _over_budget(tmp_path: Path, allow: bool) -> SwirlRun:
    transitions = [Transition(x=f"state {e}.{s}", z=f"act {s}", y=f"state {e}.{s + 1} " + "word " * 10,
                              episode_id=f"ep{e}", step=s, env="user") for e in range(12) for s in range(2)]
    write_transitions(tmp_path / "t.jsonl", transitions)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "output_dir": str(tmp_path / "run"), "allow_cut_texts": allow,
        "data": {"env": "jsonl", "path": str(tmp_path / "t.jsonl")}, "model": {"name_or_path": "tiny"},
        "eval": {"max_new_tokens_state": 4}}), encoding="utf-8")
    run = SwirlRun(load_config(config), lambda _: None)
    data_stage(run)
    return run


def test_a_budget_that_cuts_stops_the_run_naming_the_budget_and_the_opt_in(tmp_path: Path, tiny_path: str) -> None:
    from swirl_wm.models.loading import BaseModelRef

    run = _over_budget(tmp_path, allow=False)
    with pytest.raises(ValueError, match=r"eval.max_new_tokens_state = 4 tokens cuts \d+ of \d+ states.*"
                                         r"allow_cut_texts: true") as refused:
        check_generation_budgets(run, BaseModelRef(tiny_path, "tiny"), Splits.load(run.path("data")))
    assert "\n" not in str(refused.value)


def test_allow_cut_texts_lets_the_run_go_on_with_the_warnings(tmp_path: Path, tiny_path: str) -> None:
    from swirl_wm.models.loading import BaseModelRef

    run = _over_budget(tmp_path, allow=True)
    warnings = check_generation_budgets(run, BaseModelRef(tiny_path, "tiny"), Splits.load(run.path("data")))
    assert [w.split(" = ")[0] for w in warnings] == ["warning: eval.max_new_tokens_state"]


def test_opting_in_after_a_refusal_resumes_the_same_run(tmp_path: Path) -> None:
    from swirl_wm.recipes.run import EXTENDABLE
    from swirl_wm.run_folder import EXECUTION_ONLY, same_config

    run = _over_budget(tmp_path, allow=False)
    saved = tmp_path / "config.yaml"
    saved.write_text(yaml.safe_dump(run.config.model_dump(mode="json")), encoding="utf-8")
    allowed = run.config.model_copy(update={"allow_cut_texts": True})
    assert same_config(saved, allowed, EXECUTION_ONLY + EXTENDABLE)
