import numpy as np

from model.bradley_terry import fit_offsets
from model.metrics import kendall_tau, pairwise_metrics
from model.pairs import Pairs


def simulated_votes(strength: np.ndarray, count: int, seed: int = 0) -> Pairs:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(strength), count), rng.integers(0, len(strength), count)
    keep = a != b
    a, b = a[keep], b[keep]
    wins = rng.random(len(a)) < 1 / (1 + np.exp(-(strength[a] - strength[b])))
    return Pairs.of(a, b, wins.astype(float))


def test_recovers_the_order_of_strengths_from_votes():
    strength = np.linspace(-2, 2, 20)
    offsets = fit_offsets(simulated_votes(strength, 2000), 20)
    assert kendall_tau(offsets, strength) > 0.8


def test_faces_without_votes_keep_the_prior():
    prior = np.arange(5, dtype=float)
    offsets = fit_offsets(Pairs.of([0], [1], [1.0]), 5, prior=prior)
    np.testing.assert_allclose(offsets[2:], prior[2:])
    assert offsets[0] > prior[0] and offsets[1] < prior[1]


def test_a_base_score_that_explains_the_votes_leaves_offsets_near_zero():
    strength = np.linspace(-3, 3, 10)
    votes = simulated_votes(strength, 3000)
    offsets = fit_offsets(votes, 10, base=strength)
    assert np.abs(offsets).max() < 0.4


def test_pairwise_metrics_count_ties_apart_and_half_credit_predicted_ties():
    pairs = Pairs.of([0, 1, 2, 0], [1, 2, 0, 2], [1.0, 0.5, 1.0, 1.0])
    metrics = pairwise_metrics(np.array([2.0, 1.0, 2.0]), pairs)
    assert (metrics.decided, metrics.ties) == (3, 1)
    assert metrics.accuracy == (1 + 0.5 + 0.5) / 3  # 0 beats 1; 2 and 0 tie twice
