"""Augmentation that keeps identity: mirror, small shifts, mild brightness/contrast jitter."""

from __future__ import annotations

import numpy as np

from model.settings import AugmentSettings


def augment(images: np.ndarray, settings: AugmentSettings, rng: np.random.Generator) -> np.ndarray:
    """A randomly changed copy of a (N, H, W, 3) float32 batch with values 0-255."""
    out = images.astype(np.float32, copy=True)
    count = len(out)
    if settings.flip:
        flip = rng.random(count) < 0.5
        out[flip] = out[flip, :, ::-1]
    if settings.shift > 0:
        pad = settings.shift
        padded = np.pad(out, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
        height, width = out.shape[1:3]
        offsets = rng.integers(0, 2 * pad + 1, size=(count, 2))
        for index, (dy, dx) in enumerate(offsets):
            out[index] = padded[index, dy : dy + height, dx : dx + width]
    if settings.jitter > 0:
        gain = 1.0 + rng.uniform(-settings.jitter, settings.jitter, size=(count, 1, 1, 1))
        bias = rng.uniform(-settings.jitter, settings.jitter, size=(count, 1, 1, 1)) * 255.0
        mean = out.mean(axis=(1, 2, 3), keepdims=True)
        out = np.clip((out - mean) * gain + mean + bias, 0.0, 255.0)
    return out.astype(np.float32)
