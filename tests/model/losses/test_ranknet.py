import numpy as np
from keras import ops

from model.losses import RankNetLoss, ranknet


def reference(d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy of sigmoid(d) against y, in float64."""
    p = 1.0 / (1.0 + np.exp(-d))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_matches_float64_cross_entropy_with_ties():
    rng = np.random.default_rng(0)
    d = rng.normal(0, 4, 1000)
    y = rng.choice([0.0, 0.5, 1.0], 1000)
    got = ops.convert_to_numpy(
        ranknet(ops.convert_to_tensor(d, "float32"), ops.convert_to_tensor(y, "float32"))
    )
    np.testing.assert_allclose(got, reference(d, y), rtol=1e-4, atol=1e-5)


def test_stays_finite_for_extreme_logits():
    d = ops.convert_to_tensor(np.array([-1e4, -80.0, 80.0, 1e4], np.float32))
    y = ops.convert_to_tensor(np.array([1.0, 0.5, 0.0, 1.0], np.float32))
    got = ops.convert_to_numpy(ranknet(d, y))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[[2, 3]], [80.0, 0.0], atol=1e-4)


def test_matrix_form_is_the_weighted_mean_over_the_batch_pairs():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(6, 1)).astype(np.float32)
    targets = np.zeros((6, 6, 2), np.float32)
    votes = [(0, 1, 1.0, 1), (2, 3, 0.5, 2), (4, 0, 0.0, 1)]
    for i, j, y, weight in votes:
        targets[i, j] = (y, weight)
    loss = float(ops.convert_to_numpy(RankNetLoss()(targets, scores)))
    expected = sum(w * reference(scores[i, 0] - scores[j, 0], y) for i, j, y, w in votes) / 4
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_no_pairs_gives_zero_not_nan():
    loss = RankNetLoss()(np.zeros((3, 3, 2), np.float32), np.ones((3, 1), np.float32))
    assert float(ops.convert_to_numpy(loss)) == 0.0
