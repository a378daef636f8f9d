"""The expression features: the same face gives the same numbers, each region sees its
own part of the face, and the PCA is the pool's alone."""

import numpy as np

from model.descriptor import aligned_chip
from model.expression import CHIP, RAW_SIZE, ExpressionPCA, block_sizes, expression_hog
from model.settings import DetectorSettings
from tests.images import lfw_crops


def test_the_same_face_always_gives_the_same_hog():
    crop = lfw_crops(256)[0]
    first = expression_hog(aligned_chip(crop, DetectorSettings().margin))
    again = expression_hog(aligned_chip(crop.copy(), DetectorSettings().margin))
    assert first.shape == (RAW_SIZE,) and first.dtype == np.float32
    assert np.array_equal(first, again)


def test_a_changed_mouth_moves_the_mouth_block_not_the_eyes():
    chip = aligned_chip(lfw_crops(256)[1], DetectorSettings().margin)
    smiling = chip.copy()
    smiling[110:122, 50:100] = 255  # teeth where the lips were
    sizes = block_sizes()
    whole, eyes = sizes["whole"], sizes["eyes"]
    before, after = expression_hog(chip), expression_hog(smiling)
    eyes_moved = np.abs(after[whole : whole + eyes] - before[whole : whole + eyes]).sum()
    mouth_moved = np.abs(after[whole + eyes :] - before[whole + eyes :]).sum()
    print(f"eyes block moved {eyes_moved:.3f}, mouth block {mouth_moved:.3f}")
    assert eyes_moved == 0 and mouth_moved > 1 and chip.shape == (CHIP, CHIP, 3)


def test_the_pca_is_fitted_on_the_pool_alone_and_balanced():
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(120, RAW_SIZE)).astype(np.float32)
    unseen = rng.normal(5, 3, size=(30, RAW_SIZE)).astype(np.float32)
    pca = ExpressionPCA.fit(pool, reference=2.0)
    projected = pca.project(np.concatenate([pool, unseen]))
    again = ExpressionPCA.fit(pool, reference=2.0).project(unseen)
    assert projected.shape == (150, 128) and np.allclose(projected[120:], again, atol=1e-4)
    start = 0
    for name, kept in (("whole", 64), ("eyes", 32), ("mouth", 32)):
        block = projected[:120, start : start + kept]
        assert np.allclose(block.mean(0), 0, atol=1e-4), name  # centred on the pool
        assert np.isclose(block.var(0, ddof=1).sum(), 2.0, rtol=1e-3), name
        start += kept
