"""Settings of the model's parts, as plain dataclasses.

Light to import (no OpenCV, no Keras), so the bot's config can use them as its
[faces] and [model] sections directly. Each number's bounds are declared beside it
(`bounded`); a number declared without any must be above zero. bot/config.py checks
them all at start-up, one validator for every section.
"""

from __future__ import annotations

import math
from dataclasses import Field, asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Bounds:
    """Where a number setting may lie: above or at least a low end, below or at most a
    high end (None: open). Always finite."""

    above: float | None = None
    at_least: float | None = None
    below: float | None = None
    at_most: float | None = None

    def problem(self, number: float) -> str | None:
        """What is wrong with `number` here, in words; None when it fits."""
        if not math.isfinite(number):
            return f"must be a finite number, got {number!r}"
        if self.above is not None and number <= self.above:
            return f"must be above {self.above:g}, got {number!r}"
        if self.at_least is not None and number < self.at_least:
            if self.at_least == 0:
                return f"must not be negative, got {number!r}"
            return f"must be at least {self.at_least:g}, got {number!r}"
        if self.below is not None and number >= self.below:
            return f"must be below {self.below:g}, got {number!r}"
        if self.at_most is not None and number > self.at_most:
            return f"must be at most {self.at_most:g}, got {number!r}"
        return None


POSITIVE = Bounds(above=0)  # every number declared without bounds of its own
ANY_NUMBER = Bounds(at_least=-math.inf)


def bounded(default: Any, **bounds: float) -> Any:
    """A setting's field with its bounds beside it, e.g. `bounded(0.2, at_least=0,
    at_most=1)`."""
    return field(default=default, metadata={"bounds": Bounds(**bounds)})


def bounds_of(item: Field) -> Bounds:
    return item.metadata.get("bounds", POSITIVE)


@dataclass(frozen=True)
class ImageLimits:
    """What an image file may be. Every limit is checked on the bytes or the header,
    before a pixel is decoded: no face photo needs more, and a hostile file that
    declares a huge or absurdly thin canvas costs nothing."""

    max_bytes: int = 10_000_000
    max_pixels: int = 40_000_000
    max_side: int = 12_000
    max_aspect: float = bounded(10.0, above=1)  # longest side / shortest side
    max_decoded_bytes: int = 200_000_000  # width x height x channels x bytes per channel


@dataclass(frozen=True)
class DetectorSettings:
    cascade: str = ""  # a path; empty: OpenCV's frontal-face Haar cascade
    scale_factor: float = bounded(1.1, above=1)
    min_neighbors: int = bounded(5, at_least=0)
    min_size: int = 24
    margin: float = bounded(0.25, at_least=0)
    # Pool crops are kept at this size: sharp in the pairs people vote on, and enough
    # for the face descriptor (dlib aligns 150 px chips). The CNN gets a downscaled copy.
    crop_size: int = 256
    # Faces are searched on a copy whose longest side is at most this (boxes are
    # mapped back to the original for the crop): bounds OpenCV's time and memory.
    detect_max_side: int = 1024


@dataclass(frozen=True)
class ScorerConfig:
    input_size: int = 80
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 64])
    dense_units: int = 64
    dropout: float = bounded(0.2, at_least=0, below=1)
    # The face descriptor's length, a second input beside the CNN (0: the CNN alone).
    descriptor_size: int = bounded(128, at_least=0)
    # The expression features' length (model/expression.py), read beside the descriptor
    # (0: none). They come from the descriptor's aligned chip, so they need it.
    expression_size: int = bounded(128, at_least=0)
    # Directions of the guild's taste space (model/taste_space.py; 0: none): a person's
    # model adds their position along them to the head's score.
    taste_dims: int = bounded(8, at_least=0, at_most=64)

    @property
    def features_size(self) -> int:
        """What the scorer reads beside the crop: the descriptor, then the expression
        features."""
        return self.descriptor_size + self.expression_size

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ScorerConfig:
        known = {k: data[k] for k in ("input_size", "widths", "dense_units", "dropout")}
        # Models stored before the descriptor (the expression features, the taste
        # space) existed have none.
        return cls(
            **known,
            descriptor_size=int(data.get("descriptor_size", 0)),
            expression_size=int(data.get("expression_size", 0)),
            taste_dims=int(data.get("taste_dims", 0)),
        )


@dataclass(frozen=True)
class AugmentSettings:
    flip: bool = True
    shift: int = bounded(4, at_least=0)
    jitter: float = bounded(0.1, at_least=0)


@dataclass(frozen=True)
class TrainSettings:
    seed: int = bounded(0, at_least=-math.inf)
    batch_images: int = 512
    batch_pairs: int = 2048
    min_steps_per_epoch: int = 8
    max_epochs: int = 30
    patience: int = 4
    learning_rate: float = 0.002
    validation_fraction: float = bounded(0.2, above=0, below=1)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    personal_pull: float = bounded(0.03, at_least=0)
    offset_prior: float = 1.0
    personal_offset_prior: float = 0.5
    # A person's head and offsets are pulled towards the guild's only as far as the
    # guild model predicts their votes (model/training.py guild_agreement); off: fully.
    adaptive_priors: bool = True
    # The taste space: members with fewer votes do not shape it; a person's position in
    # it has the prior N(0, I / taste_position_prior).
    taste_min_votes: int = 10
    taste_position_prior: float = 1.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TrainSettings:
        """Settings sent to a remote worker; unknown keys are refused, not ignored: a
        worker must not train with settings it does not understand."""
        values = dict(data)
        values["augment"] = AugmentSettings(**values.get("augment", {}))
        return cls(**values)
