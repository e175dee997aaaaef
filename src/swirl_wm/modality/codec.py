"""The image tokenizer of the image modality: RGB frames ↔ a short grid of discrete codes.

A small convolutional autoencoder whose bottleneck is finite scalar quantisation (FSQ, Mentzer et al.
2023, "Finite Scalar Quantization: VQ-VAE Made Simple", arXiv:2309.15505) from the
``vector-quantize-pytorch`` library: the encoder maps an ``(H, W, 3)`` uint8 frame to an ``(H/f, W/f)``
grid of latent vectors, FSQ rounds each to one of ``prod(levels)`` codes (no codebook to collapse, no
commitment loss), and the decoder maps the code grid back to pixels. Trained by mean squared error on the
run's training states only (validation and test frames are held out and measure reconstruction quality:
PSNR, SSIM), saved with the run (``model.safetensors`` + ``codec.json``) and loaded by every checkpoint
that uses it. This plays the part of the unified model's VQ tokenizer in SWIRL's visual experiments
(arXiv:2602.06130 §4.2: image states as discrete codes inside the language model's token sequence).

Shapes: ``encode`` ``(N, H, W, 3)`` uint8 → ``(N, H/f, W/f)`` int64 in ``[0, codebook_size)``; ``decode``
the reverse. Units: pixels 0..255; PSNR in dB (peak 255); SSIM in −1..1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from swirl_wm.files import atomic_dir
from swirl_wm.modality.codec_config import ImageCodecConfig

CONFIG_FILE = "codec.json"
WEIGHTS_FILE = "model.safetensors"


class ImageCodec(nn.Module):
    """Encoder → FSQ → decoder (see the module docstring). Frames are ``(N, H, W, 3)`` uint8; ``H`` and ``W``
    must be multiples of ``config.downsample``."""

    def __init__(self, config: ImageCodecConfig, height: int, width: int) -> None:
        super().__init__()
        from vector_quantize_pytorch import FSQ  # the optional 'visual' extra (imported on use)

        if height % config.downsample or width % config.downsample:
            raise ValueError(f"{height}x{width} frames are not whole {config.downsample}-pixel patches")
        self.config, self.height, self.width = config, height, width
        c, f, d = config.channels, config.downsample, len(config.levels)
        # Patch-wise: a code reads only its own f x f patch, and its patch is drawn from it alone, so a code
        # means the same picture wherever it stands (the dynamics in code space stay local).
        self.encoder = nn.Sequential(nn.Conv2d(3, c, f, stride=f), nn.GELU(), nn.Conv2d(c, c, 1), nn.GELU(),
                                     nn.Conv2d(c, d, 1))
        self.quantizer = FSQ(levels=list(config.levels))
        self.decoder = nn.Sequential(nn.Conv2d(d, c, 1), nn.GELU(), nn.Conv2d(c, c, 1), nn.GELU(),
                                     nn.ConvTranspose2d(c, 3, f, stride=f))

    @property
    def grid(self) -> tuple[int, int]:
        """Codes per frame: ``(rows, columns)``."""
        return self.height // self.config.downsample, self.width // self.config.downsample

    @staticmethod
    def pixels(images: np.ndarray) -> torch.Tensor:
        """``(N, H, W, 3)`` uint8 → ``(N, 3, H, W)`` floats in 0..1 (what :meth:`reconstruct` reads)."""
        return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255

    def _check(self, images: np.ndarray) -> None:
        if images.ndim != 4 or images.shape[1:] != (self.height, self.width, 3):
            raise ValueError(f"expected frames of shape (N, {self.height}, {self.width}, 3), got {images.shape}")

    def reconstruct(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, 3, H, W)`` floats in 0..1 → (the reconstruction, same shape, unclamped; ``(N, h, w)`` codes)."""
        quantized, indices = self.quantizer(self.encoder(pixels * 2 - 1))
        return self.decoder(quantized), indices

    @torch.no_grad()
    def encode(self, images: np.ndarray) -> np.ndarray:
        """``(N, H, W, 3)`` uint8 → ``(N, h, w)`` int64 codes.

        Raises:
            ValueError: frames of another shape.
        """
        self._check(images)
        return self.reconstruct(self.pixels(images))[1].long().numpy()

    @torch.no_grad()
    def decode(self, codes: np.ndarray) -> np.ndarray:
        """``(N, h, w)`` codes → ``(N, H, W, 3)`` uint8 frames.

        Raises:
            ValueError: a grid of another shape, or a code outside ``[0, codebook_size)``.
        """
        codes = np.asarray(codes)
        if codes.ndim != 3 or codes.shape[1:] != self.grid:
            raise ValueError(f"expected code grids of shape (N, {self.grid[0]}, {self.grid[1]}), got {codes.shape}")
        if codes.size and (codes.min() < 0 or codes.max() >= self.config.codebook_size):
            raise ValueError(f"codes outside [0, {self.config.codebook_size})")
        latent = self.quantizer.indices_to_codes(torch.from_numpy(codes).long())
        pixels = self.decoder(latent).clamp(0, 1)
        return (pixels.permute(0, 2, 3, 1).numpy() * 255).round().clip(0, 255).astype(np.uint8)

    def save(self, folder: Path) -> Path:
        """Write the codec into ``folder`` atomically (``codec.json`` + ``model.safetensors``)."""
        from safetensors.torch import save_file

        with atomic_dir(Path(folder)) as tmp:
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(tmp / WEIGHTS_FILE))
            (tmp / CONFIG_FILE).write_text(json.dumps({"config": self.config.model_dump(mode="json"),
                                                       "height": self.height, "width": self.width}, indent=2))
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path) -> ImageCodec:
        """The codec saved in ``folder``.

        Raises:
            FileNotFoundError: ``folder`` holds no codec.
        """
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / CONFIG_FILE).exists():
            raise FileNotFoundError(f"{folder}: no image codec ({CONFIG_FILE}) here")
        meta = json.loads((folder / CONFIG_FILE).read_text())
        codec = cls(ImageCodecConfig(**meta["config"]), meta["height"], meta["width"])
        codec.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        return codec.eval()


def distinct_patches(images: np.ndarray, f: int) -> np.ndarray:
    """The distinct ``f × f`` patches of ``images`` (``(N, H, W, 3)`` uint8, sides multiples of ``f``), as
    ``(P, f, f, 3)`` uint8 in a fixed order."""
    n, h, w, _ = images.shape
    patches = images.reshape(n, h // f, f, w // f, f, 3).transpose(0, 1, 3, 2, 4, 5).reshape(-1, f, f, 3)
    return np.unique(patches, axis=0)


def train_codec(images: np.ndarray, config: ImageCodecConfig, seed: int) -> ImageCodec:
    """An :class:`ImageCodec` trained to reconstruct ``images`` (``(N, H, W, 3)`` uint8, N ≥ 1) by mean
    squared error with Adam, ``config.steps`` steps of ``config.batch_size`` patches drawn with ``seed``.

    The codec is patch-wise (a code reads and draws one ``downsample``-pixel patch), so it is trained on the
    frames' *distinct* patches, each counted once: in a scene of a few objects on a plain background the
    background patch would otherwise outweigh every object's, and the rare objects' patches would share
    codes (measured on the shapes world, 32 x 32 frames: without it 9 of the 13 patch kinds got a code of their own,
    PSNR 26 dB; with it all 13, PSNR 52 dB, SSIM 0.9995 on held-out frames).

    Raises:
        ValueError: no frames, or frames whose sides are not multiples of ``config.downsample``.
    """
    if images.ndim != 4 or not len(images):
        raise ValueError(f"expected a non-empty (N, H, W, 3) array of frames, got shape {images.shape}")
    torch.manual_seed(seed)
    codec = ImageCodec(config, images.shape[1], images.shape[2])
    pixels = codec.pixels(distinct_patches(images, config.downsample))
    optimizer = torch.optim.Adam(codec.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.steps)
    generator = torch.Generator().manual_seed(seed)
    codec.train()
    for _ in range(config.steps):
        batch = pixels[torch.randint(len(pixels), (config.batch_size,), generator=generator)]
        reconstruction, _ = codec.reconstruct(batch)
        loss = nn.functional.mse_loss(reconstruction, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return codec.eval()


def train_distinct_codec(images: np.ndarray, config: ImageCodecConfig, seed: int) -> tuple[ImageCodec, int]:
    """The first of ``config.attempts`` codecs, trained by :func:`train_codec` with ``seed``, ``seed + 1``, ...,
    that gives every distinct patch of ``images`` (``(N, H, W, 3)`` uint8) a code of its own, and its seed.

    Raises:
        ValueError: no attempt does; the message gives the patch kinds, the codes the last codec gave them,
            the patches that share a code (:func:`shared_codes`) and the settings to change. Also as
            :func:`train_codec`.

    Source: this project's measurement (``data.image_codec.attempts``): a shared code makes two pictures one
        state, and whether a codec keeps the kinds apart depends on its seed.
    """
    for attempt in range(config.attempts):
        codec = train_codec(images, config, seed + attempt)
        shared = shared_codes(codec, images)
        if not shared:
            return codec, seed + attempt
    kinds = patch_kinds(codec, images)
    listed = "; ".join(f"code {code}: " + " and ".join(patches) for code, patches in shared.items())
    raise ValueError(
        f"the image codec gives the training frames' {kinds['patch_kinds']} distinct patches only "
        f"{kinds['codes_for_patch_kinds']} codes with each of its {config.attempts} seeds "
        f"({seed}..{seed + config.attempts - 1}, data.image_codec.attempts), so different pictures would be one "
        f"state; with seed {seed + config.attempts - 1} these share a code: {listed}. Train it longer "
        "(data.image_codec.steps), with more levels (data.image_codec.levels) or with more attempts")


def reconstruction_quality(codec: ImageCodec, images: np.ndarray) -> dict[str, float]:
    """How well ``codec`` reproduces ``images`` (``(N, H, W, 3)`` uint8, N ≥ 1) through its codes: mean PSNR
    (dB, peak 255, capped at 100 for an exact frame), mean SSIM (−1..1), the fraction of frames exactly
    reproduced, and the number of distinct codes used (scikit-image's metrics).

    Raises:
        ValueError: frames of another shape than the codec's.
    """
    codes = codec.encode(images)
    decoded = codec.decode(codes)
    return frame_similarity(images, decoded) | {
        "exact": float(np.mean([(a == b).all() for a, b in zip(images, decoded, strict=True)])),
        "codes_used": int(len(np.unique(codes)))}


def frame_similarity(truth: np.ndarray, guess: np.ndarray) -> dict[str, float]:
    """Mean PSNR (dB, peak 255, capped at 100 for an exact frame) and mean SSIM (−1..1) of two equally long
    ``(N, H, W, 3)`` uint8 stacks (scikit-image)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    pairs = list(zip(truth, guess, strict=True))
    psnr = [min(peak_signal_noise_ratio(t, g, data_range=255), 100.0) if (t != g).any() else 100.0 for t, g in pairs]
    ssim = [structural_similarity(t, g, channel_axis=2, data_range=255) for t, g in pairs]
    return {"psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim))}


@torch.no_grad()
def shared_codes(codec: ImageCodec, images: np.ndarray) -> dict[int, list[str]]:
    """The codes that ``codec`` gives two or more of the distinct patches of ``images`` (``(N, H, W, 3)``
    uint8), each with a description of its patches: mean RGB (0..255) and, for patches of at most 8 pixels
    a side, the map of bright pixels (``#``: brightest channel > 127) row by row. Empty when every kind of
    patch has a code of its own (see :func:`patch_kinds`)."""
    patches = distinct_patches(images, codec.config.downsample)
    codes = codec.reconstruct(codec.pixels(patches))[1].reshape(-1).tolist()
    by_code: dict[int, list[str]] = {}
    for patch, code in zip(patches, codes, strict=True):
        by_code.setdefault(int(code), []).append(_describe(patch))
    return {code: kinds for code, kinds in sorted(by_code.items()) if len(kinds) > 1}


def _describe(patch: np.ndarray) -> str:
    """One patch (``(f, f, 3)`` uint8) in words: its mean colour and, when small, its bright pixels."""
    r, g, b = (int(round(v)) for v in patch.reshape(-1, 3).mean(axis=0))
    text = f"mean RGB ({r}, {g}, {b})"
    if patch.shape[0] <= 8:
        text += " " + "/".join("".join("#" if p.max() > 127 else "." for p in row) for row in patch)
    return text


@torch.no_grad()
def patch_kinds(codec: ImageCodec, images: np.ndarray) -> dict[str, int]:
    """How many distinct patches ``images`` hold (``patch_kinds``) and how many codes ``codec`` gives them
    (``codes_for_patch_kinds``): fewer codes than kinds means two different pictures share a code, so states
    that differ there are one state to the world model (measured: a run whose codec kept 9 codes for 13
    kinds on its held-out frames had an IDM at 42 % grounded accuracy where one with 13 had 72 %).
    """
    patches = distinct_patches(images, codec.config.downsample)
    codes = codec.reconstruct(codec.pixels(patches))[1]
    return {"patch_kinds": len(patches), "codes_for_patch_kinds": int(len(torch.unique(codes)))}
