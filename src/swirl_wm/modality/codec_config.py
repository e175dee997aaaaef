"""The image tokenizer's settings (``data.image_codec`` of a run config), apart from the tokenizer itself
(:mod:`swirl_wm.modality.codec`), so that reading a run config does not import torch."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ImageCodecConfig(BaseModel):
    """The image tokenizer's architecture and training (``data.image_codec`` of a run config)."""

    model_config = ConfigDict(extra="forbid")

    levels: tuple[int, ...] = Field((8, 8), min_length=1, description=(
        "FSQ levels per latent dimension; the codebook has prod(levels) codes (one added token each). "
        "Each level >= 3 (FSQ needs its symmetric variant for 2)"))
    downsample: int = Field(4, ge=1, le=16, description="pixels per code along each side (the encoder's stride)")
    channels: int = Field(32, ge=4, le=512, description="hidden channels of the encoder and decoder")
    steps: int = Field(3000, ge=1, description="optimizer steps of the reconstruction training")
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    attempts: int = Field(3, ge=1, le=20, description=(
        "codecs trained in turn, with the run's seed, seed + 1, ..., until one gives every distinct patch of "
        "the training frames a code of its own; that one is kept. Two patch kinds on one code make two "
        "different pictures one state (measured: a codec that kept 9 codes for the shapes world's 13 kinds "
        "left its IDM at 42 % grounded accuracy where one with 13 reached 72 %; at 3000 steps 2 of 4 seeds "
        "gave a kind no code of its own). When none of the attempts does, the data stage fails, naming the "
        "patches that share a code and how many codes the kinds got"))

    @field_validator("levels")
    @classmethod
    def _levels_at_least_3(cls, levels: tuple[int, ...]) -> tuple[int, ...]:
        if any(level < 3 for level in levels):
            raise ValueError(f"FSQ levels must be >= 3, got {levels}")
        return levels

    @property
    def codebook_size(self) -> int:
        """Codes in the codebook: ``prod(levels)``."""
        return math.prod(self.levels)
