"""Image states: a frame written as its codes inline, ``<boi><v3><v0>…<v12><eoi>``.

A state is the image tokenizer's (:mod:`swirl_wm.modality.codec`) code grid of the frame, row by row, each
code an added token ``<v{k}>`` of the language model's vocabulary, between the markers ``<boi>`` and
``<eoi>``: the layout of the paper's unified model (arXiv:2602.06130 §4.2), where the FWM writes only image
codes and the IDM only text. In a records / JSONL file an image state is that string; a run on an
environment that renders its states (``data.env: shapes``) or on a log of image files writes it in the
data stage, after training the run's codec on the training frames.

Hooks (:class:`~swirl_wm.modality.base.StateModality`): ``check`` a state is ``<boi>``, exactly rows ×
columns codes of the codebook, ``<eoi>``; ``truncate`` never cuts (a cut frame is no frame); ``diff`` lists
the code cells that changed, ``(col,row) <v3> -> <v7>``; ``added_tokens`` the markers and one token per code;
``suppressed_tokens`` keeps the FWM to image tokens (the end of sequence stays allowed,
:meth:`~swirl_wm.models.scoring.Scorer.suppressed_tokens`) and the IDM to everything else; ``metrics``
are code match (exact, 0..1), code accuracy (the fraction of code cells right, 0..1), well-formed (0..1),
PSNR (dB, capped at 100 for identical frames) and SSIM (−1..1, scikit-image) of the decoded prediction
against the decoded true codes — the world model's error alone —, and, given the prior states, changed-cell
accuracy and unchanged cells broken per frame (:func:`cells`, :meth:`ImageModality.metrics`); the codec's own
(true frame against its decoded codes) is measured when it is trained
(:func:`~swirl_wm.modality.codec.reconstruction_quality`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from swirl_wm.modality.codec import ImageCodec, frame_similarity
from swirl_wm.records import Role

BOI, EOI = "<boi>", "<eoi>"
_CODE = re.compile(r"<v(\d+)>")


def code_token(k: int) -> str:
    """The added token of code ``k``."""
    return f"<v{k}>"


class ImageModality:
    """Image states through one codec (see the module docstring); get one with :func:`load_image_modality`."""

    name = "image"
    native = False  # codes: the environment's hooks read the scene behind them (meta.x_source)

    def __init__(self, codec: ImageCodec, folder: str | None = None) -> None:
        self.codec, self.folder = codec, folder
        self.grid = codec.grid
        self.size = codec.config.codebook_size

    # states <-> codes <-> frames
    def codes(self, state: str) -> list[int]:
        """The codes written in ``state``, in order (whatever else it holds is skipped)."""
        return [int(k) for k in _CODE.findall(state)]

    def to_state(self, images: np.ndarray) -> list[str]:
        """``(N, H, W, 3)`` uint8 frames → their states."""
        return [BOI + "".join(code_token(int(k)) for k in grid.ravel()) + EOI for grid in self.codec.encode(images)]

    def to_image(self, states: Sequence[str]) -> np.ndarray:
        """States → ``(N, H, W, 3)`` uint8 decoded frames. A malformed state (a sample of an untrained FWM)
        is read leniently: its codes in order, out-of-range ones as 0, cut or padded with 0 to the grid."""
        rows, cols = self.grid
        grids = np.zeros((len(states), rows * cols), np.int64)
        for i, state in enumerate(states):
            codes = [k if k < self.size else 0 for k in self.codes(state)][: rows * cols]
            grids[i, : len(codes)] = codes
        return self.codec.decode(grids.reshape(len(states), rows, cols))

    # the StateModality hooks
    def check(self, state: str) -> str | None:
        if not (state.startswith(BOI) and state.endswith(EOI)):
            return f"expected {BOI} <v0>... {EOI}, got {state[:30]!r}"
        inner = state[len(BOI):-len(EOI)]
        if _CODE.sub("", inner):
            return f"text between the image codes: {_CODE.sub('', inner)[:20]!r}"
        codes = self.codes(inner)
        if len(codes) != self.grid[0] * self.grid[1]:
            return f"{len(codes)} codes, expected {self.grid[0]} x {self.grid[1]} = {self.grid[0] * self.grid[1]}"
        if max(codes) >= self.size:
            return f"code {max(codes)} outside the codebook of {self.size}"
        return None

    def truncate(self, state: str, max_chars: int) -> tuple[str, bool]:
        return state, False

    def diff(self, x: str, y: str) -> str:
        a, b = self.codes(x), self.codes(y)
        cols = self.grid[1]
        changed = [f"({i % cols},{i // cols}) {code_token(u)} -> {code_token(v)}"
                   for i, (u, v) in enumerate(zip(a, b, strict=False)) if u != v]
        if len(a) != len(b):
            changed.append(f"{len(a)} -> {len(b)} codes")
        return "; ".join(changed) if changed else "none"

    def added_tokens(self) -> tuple[str, ...]:
        return (BOI, EOI, *(code_token(k) for k in range(self.size)))

    def suppressed_tokens(self, vocabulary: Mapping[str, int], role: Role) -> list[int]:
        image = {vocabulary[t] for t in self.added_tokens() if t in vocabulary}
        if role.writes_state:  # a state is image codes only; an action, none
            return sorted(set(vocabulary.values()) - image)
        return sorted(image)

    def code_accuracy(self, prediction: str, reference: str) -> float:
        """The fraction of ``reference``'s codes that ``prediction`` has at the same position (0..1; 0 for a
        reference without codes)."""
        truth, guess = self.codes(reference), self.codes(prediction)
        return sum(u == v for u, v in zip(guess, truth, strict=False)) / len(truth) if truth else 0.0

    def metrics(self, predictions: Sequence[str], references: Sequence[str],
                priors: Sequence[str] | None = None) -> dict[str, float]:
        """Code match, code accuracy and well-formed (0..1), PSNR (dB) and SSIM of the decoded frames; given
        the prior states x, the cells the transitions changed (:func:`cells`):

        - ``changed_cell_accuracy`` (0..1): per transition whose x and y differ in some cell, the fraction of
          those cells ŷ has right, averaged over those transitions (left out when no transition changes a
          cell). Copying x scores 0: it says whether the FWM applies the action at all;
        - ``unchanged_cells_broken`` (cells per frame, ≥ 0): the cells equal in x and y that ŷ gets wrong,
          averaged over the transitions. Copying x scores 0.

        Raises:
            ValueError: the lists differ in length.
        """
        if len(predictions) != len(references) or (priors is not None and len(priors) != len(references)):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references"
                             + ("" if priors is None else f" and {len(priors)} prior states"))
        n = len(references)
        truth, guess = self.to_image(references), self.to_image(predictions)
        accuracy = [self.code_accuracy(p, r) for p, r in zip(predictions, references, strict=True)]
        out = {"code_match": sum(p == r for p, r in zip(predictions, references, strict=True)) / n,
               "code_accuracy": float(np.mean(accuracy)),
               "well_formed": sum(self.check(p) is None for p in predictions) / n} | frame_similarity(truth, guess)
        if priors is not None:
            figures = [cells(x, p, r) for x, p, r in zip(priors, predictions, references, strict=True)]
            moved = [right / changed for changed, right, _ in figures if changed]
            if moved:
                out["changed_cell_accuracy"] = float(np.mean(moved))
            out["unchanged_cells_broken"] = float(np.mean([broken for _, _, broken in figures]))
        return out


def cells(prior: str, prediction: str, reference: str) -> tuple[int, int, int]:
    """``(changed, changed_right, unchanged_broken)`` of one image-state transition, cell by cell over
    ``reference``'s codes: the cells whose code differs between ``prior`` (x) and ``reference`` (y), how many
    of them ``prediction`` (ŷ) has right, and how many cells equal in x and y it gets wrong. A cell that ŷ or
    x lacks (a short or malformed state) counts as different from every code. Copying x gives
    ``(changed, 0, 0)``."""
    truth = [int(k) for k in _CODE.findall(reference)]
    x, guess = (([int(k) for k in _CODE.findall(s)] + [-1] * len(truth))[: len(truth)] for s in (prior, prediction))
    changed = [u != v for u, v in zip(x, truth, strict=True)]
    right = [g == v for g, v in zip(guess, truth, strict=True)]
    return (sum(changed), sum(c and r for c, r in zip(changed, right, strict=True)),
            sum(not c and not r for c, r in zip(changed, right, strict=True)))


@functools.lru_cache(maxsize=8)
def load_image_modality(folder: str) -> ImageModality:
    """The image modality of the codec saved in ``folder`` (loaded once per process).

    Raises:
        FileNotFoundError: no codec in ``folder``.
    """
    return ImageModality(ImageCodec.load(Path(folder)), folder)
