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

from dataclasses import dataclass, field

import numpy as np

from model.descriptor import stack_rows

CHIP = 150  # dlib's chip side, in pixels
# (name, rows, columns of the chip, the size it is resized to (width, height) for HOG)
REGIONS = (
    ("whole", slice(0, CHIP), slice(0, CHIP), (64, 64)),
    ("eyes", slice(25, 70), slice(10, 140), (96, 32)),
    ("mouth", slice(95, 140), slice(35, 115), (64, 32)),
)
COMPONENTS = {"whole": 64, "eyes": 32, "mouth": 32}
EXPRESSION_SIZE = sum(COMPONENTS.values())  # what the scorer reads beside the descriptor


BLOCK, STRIDE, CELL, BINS = 16, 8, 8, 9  # HOG's block and cell sides, in pixels


def _hog(size: tuple[int, int]):
    import cv2  # only where a chip is read (the image helpers): the bot never loads it

    return cv2.HOGDescriptor(size, (BLOCK, BLOCK), (STRIDE, STRIDE), (CELL, CELL), BINS)


def block_sizes() -> dict[str, int]:
    """How many raw HOG numbers each region gives: blocks across x blocks down x the
    four cells of a block x the bins of a cell."""
    per_block = (BLOCK // CELL) ** 2 * BINS
    return {
        name: ((width - BLOCK) // STRIDE + 1) * ((height - BLOCK) // STRIDE + 1) * per_block
        for name, _, _, (width, height) in REGIONS
    }


RAW_SIZE = sum(block_sizes().values())


def expression_hog(chip: np.ndarray) -> np.ndarray:
    """The raw HOG of an aligned chip (uint8 RGB, CHIP px): its regions' gradients,
    concatenated in REGIONS' order; the same chip always gives the same numbers."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(chip[:, :, :3]), cv2.COLOR_RGB2GRAY)
    parts = []
    for _, rows, columns, size in REGIONS:
        patch = cv2.resize(gray[rows, columns], size, interpolation=cv2.INTER_AREA)
        parts.append(_hog(size).compute(patch).ravel())
    return np.concatenate(parts).astype(np.float32)


def principal_directions(
    block: np.ndarray, kept: int, reference: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """A block's mean over these rows, its `kept` leading directions (fewer when the
    rows span fewer), and the scale that gives its projection the total variance
    `reference`; unwhitened."""
    mean = block.mean(0)
    _, singular, directions = np.linalg.svd(block - mean, full_matrices=False)
    kept = min(kept, int((singular > 1e-6).sum()))
    variance = float((singular[:kept] ** 2).sum() / max(1, len(block) - 1))
    scale = float(np.sqrt(reference / variance)) if variance > 0 else 1.0
    return mean, directions[:kept], scale


@dataclass(frozen=True)
class ExpressionPCA:
    """Per region: the pool's mean HOG, its leading directions, and a scale that gives
    the region the total variance `reference` (the descriptor's, so that no block
    drowns the others)."""

    means: dict[str, np.ndarray]
    components: dict[str, np.ndarray]  # (directions, raw size of the region)
    scales: dict[str, float]
    # Each region's width in the projection (its directions, zeros after those kept):
    # the bot's are COMPONENTS; the benchmarks try others.
    widths: dict[str, int] = field(default_factory=lambda: dict(COMPONENTS))

    @classmethod
    def fit(
        cls, raw: np.ndarray, reference: float = 1.0, widths: dict[str, int] = COMPONENTS
    ) -> ExpressionPCA:
        """Fitted on the pool's raw HOG rows only (faces x RAW_SIZE)."""
        means, components, scales = {}, {}, {}
        for name, block in _blocks(raw).items():
            means[name], components[name], scales[name] = principal_directions(
                block, widths[name], reference
            )
        return cls(means, components, scales, dict(widths))

    @classmethod
    def for_pool(
        cls, descriptors: np.ndarray, raw: np.ndarray, widths: dict[str, int] = COMPONENTS
    ) -> ExpressionPCA:
        """Fitted on a pool's faces (the rows whose raw HOG is not all zeros: faces
        dlib refused have none), each block given the descriptors' total variance."""
        described = np.abs(raw).sum(1) > 0
        if described.sum() < 2:
            return cls.fit(np.zeros((2, RAW_SIZE), np.float32), widths=widths)
        reference = float(descriptors[described].var(0).sum()) or 1.0
        return cls.fit(raw[described], reference, widths)

    def project(self, raw: np.ndarray) -> np.ndarray:
        """Faces x the widths' sum (EXPRESSION_SIZE in the bot): each region's
        coordinates on the pool's directions, scaled; zeros for a face without a raw
        HOG (all zeros), like a missing descriptor."""
        raw = np.atleast_2d(raw)
        projected = np.zeros((len(raw), sum(self.widths.values())), np.float32)
        start = 0
        for name, block in _blocks(raw).items():
            values = (block - self.means[name]) @ self.components[name].T * self.scales[name]
            projected[:, start : start + values.shape[1]] = values
            start += self.widths[name]
        projected[np.abs(raw).sum(1) == 0] = 0
        return projected

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays, stored beside a guild model's weights."""
        arrays = {}
        for name in COMPONENTS:
            arrays[f"{name}/mean"] = self.means[name]
            arrays[f"{name}/components"] = self.components[name]
            arrays[f"{name}/scale"] = np.array(self.scales[name])
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> ExpressionPCA:
        sizes = block_sizes()
        means, components, scales = {}, {}, {}
        for name in COMPONENTS:
            means[name] = np.asarray(arrays[f"{name}/mean"], np.float32)
            components[name] = np.asarray(arrays[f"{name}/components"], np.float32)
            scales[name] = float(arrays[f"{name}/scale"])
            kept, width = components[name].shape
            if means[name].shape != (sizes[name],) or width != sizes[name]:
                raise ValueError(f"a stored expression basis has the wrong shape ({name})")
            if kept > COMPONENTS[name]:
                raise ValueError(f"a stored expression basis keeps too many directions ({name})")
        return cls(means, components, scales)


def with_expression(
    descriptors: np.ndarray, raw: np.ndarray | None, basis: ExpressionPCA | None
) -> np.ndarray:
    """What a scorer reads beside each crop: the descriptors, then the raw HOGs
    projected on the guild model's `basis` (zeros without one, or without HOGs)."""
    descriptors = np.asarray(descriptors, np.float32)
    if basis is None or raw is None:
        projected = np.zeros((len(descriptors), EXPRESSION_SIZE), np.float32)
    else:
        projected = basis.project(raw)
    return np.concatenate([descriptors, projected], axis=1)


def pack_expression(raw: np.ndarray) -> bytes:
    """A face's raw HOG as stored: float16 (7.4 KB; HOG values lie in [0, 1])."""
    return np.asarray(raw, dtype="<f2").tobytes()


def unpack_expression(data: bytes | None) -> np.ndarray | None:
    if data is None:
        return None
    values = np.frombuffer(data, dtype="<f2")
    if values.shape != (RAW_SIZE,) or not np.isfinite(values).all():
        raise ValueError(f"a stored expression HOG must be {RAW_SIZE} finite float16 numbers")
    return values.astype(np.float32)


def stack_expressions(raws: list[np.ndarray | None]) -> np.ndarray:
    return stack_rows(raws, RAW_SIZE)


def _blocks(raw: np.ndarray) -> dict[str, np.ndarray]:
    blocks, start = {}, 0
    for name, size in block_sizes().items():
        blocks[name] = raw[:, start : start + size]
        start += size
    return blocks
