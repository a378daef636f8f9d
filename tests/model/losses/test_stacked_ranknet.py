import numpy as np
from keras import ops

from model.losses import RankNetLoss, StackedRankNetLoss


def dense_targets(pairs: list[tuple[int, int, float, float]], size: int) -> np.ndarray:
    targets = np.zeros((size, size, 2), np.float32)
    for row, column, target, weight in pairs:
        targets[row, column] = (target, weight)
    return targets


def test_sums_each_persons_ranknet_loss_as_if_trained_alone():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(3, 5, 1)).astype(np.float32)
    people = [
        [(0, 1, 1.0, 1.0), (1, 0, 0.0, 1.0), (2, 4, 0.5, 2.0)],
        [(3, 2, 1.0, 1.0)],
        [],  # a person with no pair this step adds nothing
    ]
    stacked = np.zeros((3, 4, 4), np.float32)  # padded with weight-0 rows
    for p, pairs in enumerate(people):
        for k, pair in enumerate(pairs):
            stacked[p, k] = pair
    got = float(ops.convert_to_numpy(StackedRankNetLoss()(stacked, scores)))
    alone = sum(
        float(ops.convert_to_numpy(RankNetLoss()(dense_targets(pairs, 5), scores[p])))
        for p, pairs in enumerate(people)
    )
    np.testing.assert_allclose(got, alone, rtol=1e-5)


def test_one_persons_scores_do_not_move_anothers_loss():
    scores = np.zeros((2, 3, 1), np.float32)
    pairs = np.array([[[0, 1, 1.0, 1.0]], [[0, 1, 1.0, 1.0]]], np.float32)
    before = float(ops.convert_to_numpy(StackedRankNetLoss()(pairs, scores)))
    scores[1, 2, 0] = 50.0  # an image person 1 has no pair on
    after = float(ops.convert_to_numpy(StackedRankNetLoss()(pairs, scores)))
    assert after == before
    scores[0, 0, 0] = 50.0  # person 0's winner now far ahead: only their loss drops
    assert float(ops.convert_to_numpy(StackedRankNetLoss()(pairs, scores))) < before - 0.6
