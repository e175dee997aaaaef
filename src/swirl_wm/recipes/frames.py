"""The data stage's part for image states (``data.modality: image``): the frames of the run's
states, the run's image tokenizer trained on the training frames, and every state written as its codes.

Where a state's frame comes from: an environment with a ``render`` hook draws it from its scene text
(``data.env: shapes``); in a user's log (``data.env: jsonl``, ``parquet``, ``hf-dataset``) each state is the
path of an image file (PNG, JPEG, ...; relative to the log's folder), all of one size. The codec is trained
on the distinct frames of the labelled and unlabelled splits only — validation and test frames measure its
reconstruction (PSNR, SSIM) without having been seen — and saved in the run folder (``image-codec``).
Each transition's ``x`` and ``y`` become the codes ``<boi><v3>…<eoi>``; the original states stay in
``meta["x_source"]`` / ``meta["y_source"]``, where the environment's exact checks (grounded accuracy:
``apply(x, ẑ) == y``) read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from swirl_wm.data.splits import Splits
from swirl_wm.envs.registry import env_spec
from swirl_wm.modality.codec import CONFIG_FILE, patch_kinds, reconstruction_quality, train_distinct_codec
from swirl_wm.modality.image import ImageModality, load_image_modality
from swirl_wm.recipes.run import SwirlRun
from swirl_wm.records import ORIGINAL_KEYS, Transition
from swirl_wm.run_folder import Layout


def read_frame(path: Path) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB.

    Raises:
        ValueError: the file is missing, not an image, a damaged or cut-short one, or one whose size Pillow
            refuses as a decompression bomb (the message names it).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (FileNotFoundError, UnidentifiedImageError) as err:
        raise ValueError(f"{path}: not an image file ({err.__class__.__name__}); with data.modality 'image' each "
                         "state of a log is an image file's path, relative to the log's folder") from err
    # What Pillow raises for a file it cannot decode (a cut or damaged one: OSError, SyntaxError from its
    # chunk parsers, ValueError), for a path it cannot open (a folder, a NUL byte) and for a bomb.
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        why = " ".join(str(err).split())[:200]
        raise ValueError(f"{path}: cannot read the image ({err.__class__.__name__}: {why})") from err


def frame_reader(run: SwirlRun) -> Callable[[str], np.ndarray]:
    """The function that draws a state of this run as a frame (see the module docstring); the config check
    has already refused a ``data.env`` that is neither a rendering environment nor a user's log
    (``USER_FORMATS``)."""
    data = run.config.data
    live = env_spec(data.env)
    if live is not None:
        render, env_config = live.render_fn, getattr(data, data.env)
        return lambda state: render(state, env_config)
    root = data.path.parent if data.path.is_file() else data.path
    return lambda state: read_frame(root / state)


def _frames(states: list[str], draw: Callable[[str], np.ndarray]) -> np.ndarray:
    frames = [draw(s) for s in states]
    shape = frames[0].shape if frames else None
    for state, frame in zip(states, frames, strict=True):
        if frame.shape != shape or frame.dtype != np.uint8:
            raise ValueError(f"state {state[:60]!r}: a {frame.shape} {frame.dtype} frame where the first was "
                             f"{shape} uint8; every frame of a run has one size")
    return np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)


def encode_splits(run: SwirlRun, splits: Splits) -> tuple[Splits, dict[str, Any]]:
    """``splits`` with every state written as image codes, and the codec's figures (its reconstruction of
    the held-out val + test frames: PSNR, SSIM, exact frames, codes used). Trains and saves the run's codec
    on the first call (main process), the first of ``data.image_codec.attempts`` seeds that gives every
    distinct patch of the training frames its own code
    (:func:`~swirl_wm.modality.codec.train_distinct_codec`); a resumed run reads it back.

    Raises:
        ValueError: as :func:`frame_reader`, frames of different sizes, or no codec that keeps the training
            frames' patch kinds apart (the message names the patches that share a code).
    """
    draw = frame_reader(run)
    parts = {name: getattr(splits, name) for name in (*Splits.FILES, "oracle")}
    states = sorted({s for part in parts.values() for t in part for s in (t.x, t.y)})
    frames = dict(zip(states, _frames(states, draw), strict=True))
    folder = run.path(Layout.IMAGE_CODEC)
    training = sorted({s for t in splits.labelled + splits.unlabelled for s in (t.x, t.y)})
    if not training:
        raise ValueError("no training frames for the image codec (the labelled and unlabelled splits are empty)")
    failure = None
    if run.state.is_main_process and not (folder / CONFIG_FILE).exists():
        cfg = run.config.data.image_codec
        run.announce(f"image codec: training on {len(training)} frames ({cfg.steps} steps, levels {cfg.levels})")
        try:
            codec, seed = train_distinct_codec(np.stack([frames[s] for s in training]), cfg, run.config.seed)
        except ValueError as err:
            failure = err
        else:
            if seed != run.config.seed:
                run.announce(f"image codec: seed {seed} gave every kind of patch its own code "
                             f"(data.image_codec.attempts; seeds from {run.config.seed} shared codes)")
            codec.save(folder)
    run.state.wait_for_everyone()  # every process stops here, so that one that failed leaves no one waiting
    if not (folder / CONFIG_FILE).exists():
        raise failure or ValueError("the image codec failed on the main process (its error names the patches)")
    modality: ImageModality = load_image_modality(str(folder.resolve()))
    held_out = sorted({s for t in splits.val + splits.test for s in (t.x, t.y)} - set(training))
    figures = {"frames": len(states), "training_frames": len(training), "held_out_frames": len(held_out),
               "frame_shape": list(frames[states[0]].shape), "codes_per_frame": modality.grid[0] * modality.grid[1],
               "codebook_size": modality.size}
    figures |= patch_kinds(modality.codec, np.stack([frames[s] for s in training]))
    if figures["codes_for_patch_kinds"] < figures["patch_kinds"]:  # a codec this run read back, not trained
        run.announce(f"warning: the run's saved image codec gives the training frames' {figures['patch_kinds']} "
                     f"distinct patches only {figures['codes_for_patch_kinds']} codes, so some different pictures "
                     "are one state; a new run folder trains one that keeps them apart or stops "
                     "(data.image_codec.attempts)")
    if held_out:
        figures |= reconstruction_quality(modality.codec, np.stack([frames[s] for s in held_out]))
    codes = dict(zip(states, modality.to_state(np.stack([frames[s] for s in states])), strict=True))

    def encode(t: Transition) -> Transition:
        return replace(t, x=codes[t.x], y=codes[t.y], meta={**t.meta, ORIGINAL_KEYS["x"]: t.x, ORIGINAL_KEYS["y"]: t.y})

    return Splits(**{name: [encode(t) for t in part] for name, part in parts.items()}), figures
