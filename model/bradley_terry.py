"""Per-face Bradley-Terry offsets learned from votes on top of a base score.

P(A beats B) = sigmoid(base_A + o_A - base_B - o_B), with a Gaussian prior that
keeps o near `prior` (zero for the guild, the guild's offsets for a person).
Faces nobody voted on keep the prior. Fitted by Newton's method.
"""

from __future__ import annotations

import numpy as np

from model.pairs import Pairs


def win_chance(gap: np.ndarray) -> np.ndarray:
    """P(first wins) for a score gap: the logistic function, overflow-free."""
    return 0.5 * (1.0 + np.tanh(0.5 * gap))


def fit_offsets(
    pairs: Pairs,
    item_count: int,
    *,
    base: np.ndarray | None = None,
    prior: np.ndarray | None = None,
    strength: float = 1.0,
    iterations: int = 25,
) -> np.ndarray:
    """MAP offsets (item_count,) for the votes in `pairs`."""
    base = np.zeros(item_count) if base is None else np.asarray(base, np.float64)
    prior = np.zeros(item_count) if prior is None else np.asarray(prior, np.float64)
    offsets = prior.copy()
    if len(pairs) == 0:
        return offsets
    a, b, y = pairs.a, pairs.b, pairs.y.astype(np.float64)
    items = pairs.items()
    local = np.full(item_count, -1)
    local[items] = np.arange(len(items))
    la, lb = local[a], local[b]
    n = len(items)
    for _ in range(iterations):
        z = base[a] - base[b] + offsets[a] - offsets[b]
        p = win_chance(z)
        residual = y - p
        gradient = np.zeros(n)
        np.add.at(gradient, la, residual)
        np.add.at(gradient, lb, -residual)
        gradient -= strength * (offsets[items] - prior[items])
        w = p * (1.0 - p)
        hessian = np.zeros((n, n))
        np.add.at(hessian, (la, la), w)
        np.add.at(hessian, (lb, lb), w)
        np.add.at(hessian, (la, lb), -w)
        np.add.at(hessian, (lb, la), -w)
        hessian[np.diag_indices(n)] += strength
        step = np.linalg.solve(hessian, gradient)
        offsets[items] += step
        if np.max(np.abs(step)) < 1e-6:
            break
    return offsets
