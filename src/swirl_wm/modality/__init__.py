"""The state modality: where it is decided what a state *is* (text, or image codes).

A state is always a ``str`` in records, JSONL files, prompts, completions and rewards; what differs
between modalities is how that string is checked, cut, compared, diffed, decoded and tokenised. Those
decisions are the hooks of :class:`~swirl_wm.modality.base.StateModality`, and only they:

- reading: :meth:`check` (a state that is not one of this modality's, named by episode, step and field);
- length: :meth:`truncate` (the run's ``data.max_state_chars``);
- the IDM's prompt: :meth:`diff` (the list of changes from x to y, ``model.idm_diff``);
- vocabulary: :meth:`added_tokens` (tokens added to the base model's tokenizer, embeddings resized);
- decoding: :meth:`suppressed_tokens` (per role: e.g. the FWM writes only image codes, the IDM only text),
  in evaluation, latent actions and TRL's GRPO generation alike;
- metrics: :meth:`metrics` (the modality's similarity of predicted to true states; environment-specific
  metrics such as field accuracy stay with the environment).

A run chooses its modality with ``data.modality`` (default ``text``); it travels with every checkpoint in
``prompt_format.json``. A new modality is one module in this folder and one line in :data:`MODALITIES` (or
:data:`LOADED`, when it is made from a folder the run writes, as the image modality is from its codec).
Registering a modality imports nothing heavy: a loaded modality is named by its function, whose module (the
image modality's imports torch) is imported on first use, so that reading a run config stays fast.
"""

from __future__ import annotations

import importlib

from swirl_wm.modality.base import StateModality
from swirl_wm.modality.text import TEXT

MODALITIES: dict[str, StateModality] = {"text": TEXT}  # stateless modalities (modules that import no torch)
# Modalities made from a folder the run writes (the image modality: its trained codec, Layout.IMAGE_CODEC): the
# function that makes one from the folder, as "module:function", imported on first use.
LOADED: dict[str, str] = {"image": "swirl_wm.modality.image:load_image_modality"}
# The FWM's headline metric on a modality's states where it is not the environment's (glossary keys). Image
# states: the exact next frame in code space (copying x never gets it; on mostly-background frames copying x
# already scores SSIM ≈ 0.98 — eval.select_fwm_by: fwm/ssim for natural images).
HEADLINE_FWM: dict[str, str] = {"image": "fwm/code_match"}


def modality_of(name: str, folder: str | None = None) -> StateModality:
    """The registered modality ``name``; for one made from a folder (``image``: the run's codec), that one.

    Raises:
        ValueError: no modality of that name (the message lists the registered ones), or ``folder`` missing
            for a modality that needs one; FileNotFoundError: ``folder`` holds no codec.
    """
    if name in LOADED:
        if folder is None:
            raise ValueError(f"the {name} modality needs its folder (the run's codec); none given")
        module, _, function = LOADED[name].partition(":")
        return getattr(importlib.import_module(module), function)(str(folder))
    try:
        return MODALITIES[name]
    except KeyError:
        names = ", ".join([*MODALITIES, *LOADED])
        raise ValueError(f"unknown state modality {name!r}; registered: {names}") from None
