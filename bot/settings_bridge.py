"""Settings sections turned into the model's own settings types."""

from __future__ import annotations

import dataclasses

from bot.config import Settings
from model.faces import DetectorSettings
from model.images import ImageLimits


def detector_settings(settings: Settings) -> DetectorSettings:
    """[faces] with the cascade path resolved and crops at least the model's input size."""
    return dataclasses.replace(
        settings.faces,
        cascade=settings.cascade_path(),
        crop_size=max(settings.faces.crop_size, settings.model.input_size),
    )


def image_limits(settings: Settings) -> ImageLimits:
    return ImageLimits(max_bytes=settings.images.max_bytes, max_pixels=settings.images.max_pixels)
