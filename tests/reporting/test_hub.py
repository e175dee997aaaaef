"""`swirl push` / `push_role`: a role's checkpoint and its model card go to a hub repository in one commit,
and the card's own loading code loads what was pushed. The hub is a local stand-in (a folder per
repository): nothing here touches the network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from typer.testing import CliRunner

from swirl_wm.cli.main import app
from swirl_wm.models.prompts import PromptFormat
from swirl_wm.models.world_model import WorldModel
from swirl_wm.reporting import hub
from swirl_wm.reporting.hub import push_role
from swirl_wm.reporting.model_card import model_card


class LocalHub:
    """``HfApi``'s two calls that :func:`push_role` makes, writing each repository into ``root/<repo_id>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: dict[str, bool] = {}
        self.messages: list[str] = []

    def create_repo(self, repo_id: str, *, repo_type: str, private: bool, exist_ok: bool) -> None:
        assert repo_type == "model" and exist_ok
        self.created[repo_id] = private

    def create_commit(self, repo_id: str, *, operations: list, repo_type: str, commit_message: str):
        assert repo_id in self.created and repo_type == "model"
        for operation in operations:
            target = self.root / repo_id / operation.path_in_repo
            target.parent.mkdir(parents=True, exist_ok=True)
            with operation.as_file() as source:
                target.write_bytes(source.read())
        self.messages.append(commit_message)
        return SimpleNamespace(commit_url=f"local://{repo_id}/commit/{len(self.messages)}")


@pytest.fixture
def run(tmp_path: Path, tiny_path: str) -> Path:
    """A finished run folder of shared weights: SFT and one Phase I, the best FWM after Phase I."""
    run = tmp_path / "run"
    checkpoints = {}
    for phase in ("sft", "iter1/phase1"):
        folder = f"checkpoints/{phase.replace('/', '-')}"
        shutil.copytree(tiny_path, run / folder)
        PromptFormat("A toy world.").save(run / folder)
        (run / folder / "README.md").write_text("the run's own card")
        checkpoints[phase] = {"fwm": folder, "idm": folder}
    (run / "state.json").write_text(json.dumps(
        {"stages": {f"{p}/eval": {"checkpoints": c} for p, c in checkpoints.items()}}))
    phases = [{"name": p, "val": {"fwm/rouge_l": 0.5 + i / 10}, "test": {"fwm/rouge_l": 0.4 + i / 10},
               "checkpoints": c} for i, (p, c) in enumerate(checkpoints.items())]
    (run / "metrics.json").write_text(json.dumps({
        "run": {"name": "toy", "seed": 0, "model": "tiny", "env": "physics", "shared_weights": True},
        "phases": phases, "best": {"fwm": "iter1/phase1", "idm": "sft"},
        "trivial_baselines": {"copy": {"test": {"fwm/rouge_l": 0.3}}}}))
    (run / "config.yaml").write_text(yaml.safe_dump({"name": "toy", "seed": 0}))
    return run


def test_push_uploads_the_role_with_a_card_whose_code_loads_it(tmp_path: Path, run: Path) -> None:
    local = LocalHub(tmp_path / "hub")
    url = push_role(run, "fwm", "me/toy-fwm", private=True, api=local)
    assert url == "local://me/toy-fwm/commit/1" and local.created == {"me/toy-fwm": True}
    assert local.messages == ["swirl-wm: FWM after iter1/phase1"]
    pushed = tmp_path / "hub" / "me" / "toy-fwm"
    source = run / "checkpoints" / "iter1-phase1"
    assert sorted(p.name for p in pushed.iterdir()) == sorted(p.name for p in source.iterdir())
    assert (pushed / "model.safetensors").read_bytes() == (source / "model.safetensors").read_bytes()
    card = (pushed / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: transformers" in card and "swirl-wm" in card
    assert "FWM + IDM after iter1/phase1" in card and "arXiv:2602.06130" in card
    assert "| fwm/rouge_l |" in card and "copy (test)" in card and "name: toy" in card
    code = card.split("```python\n")[1].split("```")[0]
    assert code.splitlines()[-1].startswith('wm = WorldModel.from_pretrained(snapshot_download("me/toy-fwm"))')
    model = WorldModel.from_pretrained(str(pushed))  # the card's call, the download being the stand-in's folder
    assert model.fwm is model.idm and model.fwm.prompt_format == PromptFormat("A toy world.")


def test_swirl_push_names_the_phase_and_refuses_in_one_line(tmp_path: Path, run: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    local = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(hub, "HfApi", lambda: local)
    done = CliRunner().invoke(app, ["push", str(run), "--role", "idm", "--repo-id", "me/toy-idm"])
    assert done.exit_code == 0, done.output
    assert "pushed the IDM of 'best' to local://me/toy-idm/commit/1" in done.output
    assert local.messages == ["swirl-wm: IDM after sft"] and local.created == {"me/toy-idm": False}
    for args, named in ((["--phase", "iter2/phase1"], "has not finished"), (["--role", "policy"], "policy")):
        refused = CliRunner().invoke(app, ["push", str(run), "--role", "fwm", "--repo-id", "me/x", *args])
        assert refused.exit_code == 2 and named in refused.output.splitlines()[-1], refused.output
    shutil.rmtree(run / "checkpoints" / "sft")
    pruned = CliRunner().invoke(app, ["push", str(run), "--role", "idm", "--repo-id", "me/x"])
    assert pruned.exit_code == 2 and "keep_checkpoints" in pruned.output and "Traceback" not in pruned.output
    assert len(local.messages) == 1


def test_a_card_of_separate_weights_leaves_the_other_role_to_fill_in() -> None:
    metrics = {"run": {"name": "r", "model": "tiny", "shared_weights": False}, "best": {}}
    phase = {"name": "sft", "val": {}, "test": {}}
    idm = model_card(metrics, phase, "idm", "checkpoints/sft/idm", "name: r\n", repo_id="me/idm")
    fwm = model_card(metrics, phase, "fwm", "checkpoints/sft/fwm", "name: r\n")
    assert 'WorldModel.from_pretrained(fwm_path="...", idm_path=snapshot_download("me/idm"))' in idm
    assert 'WorldModel.from_pretrained("checkpoints/sft/fwm", idm_path="...")' in fwm
