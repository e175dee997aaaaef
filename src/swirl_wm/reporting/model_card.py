"""Upload-ready role folders: a model card (``README.md``) beside each saved role's safetensors.

The card has Hugging Face's YAML front matter (``huggingface_hub.ModelCardData``: base model, library,
tags) and says which role and phase the folder holds, the base model and where it came from, the data and
its split, the role's validation and test metrics with the trivial baselines beside them, how to load it,
and the run's resolved config.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCardData

from swirl_wm.files import atomic_write_text
from swirl_wm.reporting.markdown import format_value, md_table, md_text
from swirl_wm.results import SELF_TRAINING

_ROLE_TEXT = {
    "fwm": "forward world model P(y | x, z): given a state x and an action z, it writes the next state y",
    "idm": "inverse dynamics model Q(z | x, y): given a state x and the next state y, it names the action z",
}
_SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
_SELF_TRAINED = (" Then self-training (swirl.self_training, this project's addition, not the paper's): the FWM "
                 "trained again from the base model on the labelled transitions plus the state-only pairs of "
                 "iteration {iteration}, labelled with the IDM's latent actions; the IDM is the previous phase's.")


def _base_model(run: dict[str, Any]) -> str | None:
    """A hub id for the front matter, or None (the tiny preset, a local folder)."""
    model = run.get("model", "")
    if model == "smollm2":
        return _SMOLLM2
    if model == "tiny" or "/" not in model or Path(model).exists():
        return None
    return model


def _metric_lines(metrics: dict[str, Any], phase: dict[str, Any], role: str) -> list[str]:
    prefixes = (f"{role}/", "cycle/")
    keys = sorted({k for split in ("val", "test") for k in phase.get(split, {}) if k.startswith(prefixes)})
    baselines = metrics.get("trivial_baselines", {})
    names = [n for n in baselines if any(k in baselines[n].get("test", {}) for k in keys)]
    return md_table(["metric", "val", "test", *(f"{n} (test)" for n in names)],
                    [[k, *(format_value(k, phase.get(s, {}).get(k)) for s in ("val", "test")),
                      *(format_value(k, baselines[n].get("test", {}).get(k)) for n in names)] for k in keys])


def model_card(metrics: dict[str, Any], phase: dict[str, Any], role: str, folder: str, config_yaml: str,
               repo_id: str | None = None) -> str:
    """The card text of the ``role`` checkpoint that ``phase`` produced.

    Args:
        metrics: the run's ``metrics.json`` dict.
        phase: the entry of ``metrics["phases"]`` that produced the folder.
        role: ``"fwm"`` or ``"idm"`` (``"both"`` roles share a folder when weights are shared).
        folder: the checkpoint folder, relative to the run folder.
        config_yaml: the run's resolved config.
        repo_id: the hub repository the card goes to (:func:`~swirl_wm.reporting.hub.push_role`): the "Use"
            section then loads it from there; ``None`` = from ``folder``.

    Raises:
        KeyError: ``metrics`` lacks ``run``.
    """
    run = metrics["run"]
    data = run.get("data", {})
    shared = run.get("shared_weights", False)
    roles = ("fwm", "idm") if shared else (role,)
    front = ModelCardData(base_model=_base_model(run), library_name="transformers", pipeline_tag="text-generation",
                          tags=["swirl-wm", "world-model", *roles]).to_yaml()
    best = [r.upper() for r in roles if metrics.get("best", {}).get(r) == phase["name"]]
    lines = [
        "---", front, "---", "",
        f"# {md_text(run.get('name', 'run'))}: {' + '.join(r.upper() for r in roles)} after {phase['name']}", "",
        *(f"- **{r.upper()}**, the {_ROLE_TEXT[r]}." for r in roles),
        "- Trained with swirl-wm (SWIRL, arXiv:2602.06130): SFT on labelled transitions, then GRPO phases on "
        "state-only pairs." + (_SELF_TRAINED.format(iteration=phase.get("iteration"))
                               if phase["name"] == SELF_TRAINING else ""),
        f"- Base model: `{run.get('model')}` ({run.get('model_source', 'unknown source')}).",
        f"- Data: `{run.get('env')}`; split " + json.dumps({k: v for k, v in data.items() if k != 'wall_time_s'}),
        f"- Seed {run.get('seed')}, git commit `{run.get('git_commit')}`.",
        f"- Chosen as the best phase on validation for: {', '.join(best) or 'no role'}.", "",
        "## Metrics (this phase; trivial baselines on the same test transitions)", "",
        *[line for r in roles for line in _metric_lines(metrics, phase, r)], "",
        "## Use", "", *_use(folder, repo_id, role, shared), "",
        "## Config", "", "```yaml", config_yaml.rstrip(), "```", ""]
    return "\n".join(lines)


def _use(folder: str, repo_id: str | None, role: str, shared: bool) -> list[str]:
    """The "Use" section's code: the folder, or the hub repository, loaded as a ``WorldModel`` (the other
    role's folder left to fill in when the roles have their own weights)."""
    if repo_id is None:
        source, imports = f'"{folder}"', ["from swirl_wm import WorldModel"]
    else:
        source = f'snapshot_download("{repo_id}")'
        imports = ["from huggingface_hub import snapshot_download", "", "from swirl_wm import WorldModel"]
    if shared:
        call = f"WorldModel.from_pretrained({source})"
    elif role == "fwm":
        call = f'WorldModel.from_pretrained({source}, idm_path="...")'
    else:
        call = f'WorldModel.from_pretrained(fwm_path="...", idm_path={source})'
    return ["```python", *imports, "", f"wm = {call}  # prompts laid out as in training (prompt_format.json)",
            "```"]


def write_model_cards(metrics: dict[str, Any], run_dir: Path, config_yaml: str) -> list[Path]:
    """Write ``README.md`` into every role folder the run's phases produced (atomically); returns the paths.

    A folder is described by the first phase whose checkpoints name it (the phase that trained it).
    """
    written: dict[str, Path] = {}
    for phase in metrics["phases"]:
        for role, folder in phase.get("checkpoints", {}).items():
            target = Path(run_dir) / folder
            if folder in written or not target.is_dir():
                continue
            written[folder] = atomic_write_text(target / "README.md",
                                                model_card(metrics, phase, role, folder, config_yaml))
    return list(written.values())
