"""The plain reference a personal model must beat: an L2 logistic regression on the same
frozen face features, trained on exactly the person's votes.

Features are standardized on the pool's faces; a vote is the difference of its two
faces' features (a tie is a soft label of 0.5); the L2 strength is chosen by 3-fold
cross-validation on the person's own votes (their log-loss), then refitted on all of
them. Newton's method: the features are few (128), the votes at most a few hundred.
"""

from __future__ import annotations

import numpy as np

STRENGTHS = (0.1, 1.0, 10.0, 100.0, 1000.0)  # L2 on the weights, per vote summed


def fit_logistic(x: np.ndarray, y: np.ndarray, strength: float, steps: int = 25) -> np.ndarray:
    """Weights w minimising sum(cross-entropy(sigmoid(x w), y)) + strength/2 |w|^2."""
    weights = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ weights, -30, 30)))
        gradient = x.T @ (p - y) + strength * weights
        hessian = (x * (p * (1 - p))[:, None]).T @ x + strength * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-6:
            break
    return weights


def log_loss(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    p = np.clip(1 / (1 + np.exp(-np.clip(x @ weights, -30, 30))), 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def choose_strength(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> float:
    """The L2 strength with the least 3-fold cross-validated log-loss on these votes."""
    folds = np.array_split(rng.permutation(len(y)), min(3, len(y)))
    losses = []
    for strength in STRENGTHS:
        loss = 0.0
        for held in folds:
            kept = np.setdiff1d(np.arange(len(y)), held)
            loss += log_loss(x[held], y[held], fit_logistic(x[kept], y[kept], strength))
        losses.append(loss)
    return STRENGTHS[int(np.argmin(losses))]


def logistic_scores(
    features: np.ndarray, pool: np.ndarray, votes, rng: np.random.Generator
) -> np.ndarray:
    """Every face's score under a logistic taste fitted to `votes` (a Pairs) on
    `features` (faces x dims) standardized over the `pool` faces."""
    mean, scale = features[pool].mean(0), features[pool].std(0) + 1e-6
    standard = (features - mean) / scale
    x = standard[votes.a] - standard[votes.b]
    y = np.asarray(votes.y, dtype=float)
    weights = fit_logistic(x, y, choose_strength(x, y, rng))
    return standard @ weights
