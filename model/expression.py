"""Face features that see expression: HOG of the aligned face chip, whole and around
the eyes and the mouth, reduced by a PCA fitted on a pool's faces.

dlib's descriptor is an identity embedding, trained to ignore expression: a smile or
an open mouth barely moves it. Gradients of the aligned chip (the same 150 px chip the
descriptor reads, eyes level and in the same place) carry them, at the cost of a HOG
(about a millisecond) and no weights. The raw HOG is long (3,708 numbers); a PCA fitted
on the pool's faces only, per block and unwhitened (whitening lifts noise directions
to the strength of the real ones), keeps the directions the pool varies along.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CHIP = 150  # dlib's chip side, in pixels
# (name, rows, columns of the chip, the size it is resized to (width, height) for HOG)
REGIONS = (
    ("whole", slice(0, CHIP), slice(0, CHIP), (64, 64)),
    ("eyes", slice(25, 70), slice(10, 140), (96, 32)),
    ("mouth", slice(95, 140), slice(35, 115), (64, 32)),
)
COMPONENTS = {"whole": 64, "eyes": 32, "mouth": 32}


def _hog(size: tuple[int, int]) -> cv2.HOGDescriptor:
    return cv2.HOGDescriptor(size, (16, 16), (8, 8), (8, 8), 9)


def block_sizes() -> dict[str, int]:
    """How many raw HOG numbers each region gives."""
    return {name: int(_hog(size).getDescriptorSize()) for name, _, _, size in REGIONS}


RAW_SIZE = sum(block_sizes().values())


def expression_hog(chip: np.ndarray) -> np.ndarray:
    """The raw HOG of an aligned chip (uint8 RGB, CHIP px): its regions' gradients,
    concatenated in REGIONS' order; the same chip always gives the same numbers."""
    gray = cv2.cvtColor(np.ascontiguousarray(chip[:, :, :3]), cv2.COLOR_RGB2GRAY)
    parts = []
    for _, rows, columns, size in REGIONS:
        patch = cv2.resize(gray[rows, columns], size, interpolation=cv2.INTER_AREA)
        parts.append(_hog(size).compute(patch).ravel())
    return np.concatenate(parts).astype(np.float32)


@dataclass(frozen=True)
class ExpressionPCA:
    """Per region: the pool's mean HOG, its leading directions, and a scale that gives
    the region the total variance `reference` (the descriptor's, so that no block
    drowns the others)."""

    means: dict[str, np.ndarray]
    components: dict[str, np.ndarray]  # (directions, raw size of the region)
    scales: dict[str, float]

    @classmethod
    def fit(cls, raw: np.ndarray, reference: float = 1.0) -> ExpressionPCA:
        """Fitted on the pool's raw HOG rows only (faces x RAW_SIZE)."""
        means, components, scales = {}, {}, {}
        for name, block in _blocks(raw).items():
            mean = block.mean(0)
            _, singular, directions = np.linalg.svd(block - mean, full_matrices=False)
            kept = min(COMPONENTS[name], len(singular))
            variance = float((singular[:kept] ** 2).sum() / max(1, len(block) - 1))
            means[name], components[name] = mean, directions[:kept]
            scales[name] = float(np.sqrt(reference / variance)) if variance > 0 else 1.0
        return cls(means, components, scales)

    def project(self, raw: np.ndarray) -> np.ndarray:
        """Faces x 128: each region's coordinates on the pool's directions, scaled."""
        return np.concatenate(
            [
                (block - self.means[name]) @ self.components[name].T * self.scales[name]
                for name, block in _blocks(np.atleast_2d(raw)).items()
            ],
            axis=1,
        ).astype(np.float32)


def _blocks(raw: np.ndarray) -> dict[str, np.ndarray]:
    blocks, start = {}, 0
    for name, size in block_sizes().items():
        blocks[name] = raw[:, start : start + size]
        start += size
    return blocks
