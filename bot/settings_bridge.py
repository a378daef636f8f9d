"""Settings sections turned into the model's own settings types."""

from __future__ import annotations

from bot.config import Settings
from model.faces import DetectorSettings
from model.images import ImageLimits


def detector_settings(settings: Settings) -> DetectorSettings:
    faces = settings.faces
    return DetectorSettings(
        cascade=settings.cascade_path(),
        scale_factor=faces.scale_factor,
        min_neighbors=faces.min_neighbors,
        min_size=faces.min_size,
        margin=faces.margin,
        crop_size=max(faces.crop_size, settings.model.input_size),
    )


def image_limits(settings: Settings) -> ImageLimits:
    return ImageLimits(max_bytes=settings.images.max_bytes, max_pixels=settings.images.max_pixels)
