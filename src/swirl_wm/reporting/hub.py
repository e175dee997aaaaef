"""Publish a trained role: one checkpoint folder of a finished run, with its model card, to a Hugging Face hub
repository, through ``huggingface_hub``'s standard API (``HfApi.create_repo`` and one ``create_commit``).

The card (:func:`~swirl_wm.reporting.model_card.model_card`) names the base model, the method, the data, the
role's validation and test metrics beside the trivial baselines and the run's config, and loads the model
from the repository. Authentication is ``huggingface_hub``'s own (``hf auth login`` or ``HF_TOKEN``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import CommitOperationAdd, HfApi

from swirl_wm.evaluation.run_eval import phase_checkpoints
from swirl_wm.records import Role
from swirl_wm.reporting.model_card import model_card
from swirl_wm.run_folder import Layout

CARD = "README.md"


def push_role(run_dir: str | Path, role: str | Role, repo_id: str, *, phase: str = "best", private: bool = False,
              api: Any = None) -> str:
    """Upload ``role``'s checkpoint of ``phase`` in a finished run to ``repo_id``, with its model card as the
    repository's ``README.md`` (one commit; the repository is created when it does not exist).

    Args:
        run_dir: a run folder written by ``swirl train`` / ``swirl demo``.
        role: ``"fwm"`` or ``"idm"`` (or the :class:`~swirl_wm.records.Role`); with shared weights the folder
            holds both roles and the card says so.
        repo_id: ``"<user or organisation>/<name>"``.
        phase: ``"best"`` (the role's best phase on validation), ``"sft"``, ``"iter1/phase1"``, ...
        private: create the repository private (an existing one keeps its visibility).
        api: the client (``None`` = ``HfApi()``); anything with ``create_repo`` and ``create_commit``.

    Returns:
        the commit's URL.

    Raises:
        FileNotFoundError: not a finished run folder (no ``state.json`` / ``metrics.json``), or the phase's
            folder was pruned (``keep_checkpoints``).
        KeyError: the phase did not finish in this run.
        ValueError: an unknown role, or ``metrics.json`` of an unfinished or agent run.
        OSError: the hub refused (``huggingface_hub``'s HTTP, token and offline errors are ``OSError``).
    """
    run_dir, role = Path(run_dir), Role.of(role)
    metrics = json.loads((run_dir / Layout.METRICS).read_text(encoding="utf-8"))
    if "phases" not in metrics or "best" not in metrics:
        raise ValueError(f"{run_dir / Layout.METRICS}: not a finished SWIRL run's metrics (no 'phases' / 'best')")
    name = metrics["best"][role.name] if phase == "best" else phase
    folder = phase_checkpoints(run_dir, name)[role.name]
    source = run_dir / folder
    if not source.is_dir():
        raise FileNotFoundError(f"{source} ({role.name} of {name!r}) is gone: the run pruned it "
                                "(keep_checkpoints); push another --phase")
    entry = next((p for p in metrics["phases"] if p["name"] == name), None)
    if entry is None:
        raise KeyError(f"phase {name!r} is not among the phases of {run_dir / Layout.METRICS}")
    card = model_card(metrics, entry, role.name, folder, (run_dir / Layout.CONFIG).read_text(encoding="utf-8"),
                      repo_id=repo_id)
    files = sorted(f for f in source.rglob("*") if f.is_file() and f.relative_to(source).as_posix() != CARD)
    operations = [CommitOperationAdd(path_in_repo=f.relative_to(source).as_posix(), path_or_fileobj=str(f))
                  for f in files] + [CommitOperationAdd(path_in_repo=CARD, path_or_fileobj=card.encode("utf-8"))]
    api = api if api is not None else HfApi()
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    commit = api.create_commit(repo_id, operations=operations, repo_type="model",
                               commit_message=f"swirl-wm: {role.name.upper()} after {name}")
    return commit.commit_url
