"""How well scores predict held-out votes."""

from __future__ import annotations

import math

import numpy as np

from model.pairs import Pairs


def pairwise_metrics(scores: np.ndarray, pairs: Pairs) -> dict:
    """Accuracy on decided votes (a predicted tie counts half), ties counted apart, log-loss."""
    if len(pairs) == 0:
        return {"votes": 0, "decided": 0, "ties": 0, "accuracy": None, "log_loss": None}
    d = scores[pairs.a] - scores[pairs.b]
    decided = pairs.y != 0.5
    wins = pairs.y[decided] == 1.0
    margin = d[decided]
    correct = np.where(margin == 0, 0.5, (margin > 0) == wins)
    y = pairs.y.astype(np.float64)
    loss = np.maximum(d, 0) - d * y + np.log1p(np.exp(-np.abs(d)))
    return {
        "votes": int(len(pairs)),
        "decided": int(decided.sum()),
        "ties": int((~decided).sum()),
        "accuracy": float(correct.mean()) if decided.any() else None,
        "log_loss": float(loss.mean()),
    }


def kendall_tau(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Kendall's tau-b between two orderings given as scores."""
    n = len(predicted)
    concordant = discordant = ties_p = ties_t = 0
    for i in range(n):
        dp = np.sign(predicted[i + 1 :] - predicted[i])
        dt = np.sign(truth[i + 1 :] - truth[i])
        both = (dp != 0) & (dt != 0)
        concordant += int(((dp == dt) & both).sum())
        discordant += int(((dp != dt) & both).sum())
        ties_p += int(((dp == 0) & (dt != 0)).sum())
        ties_t += int(((dt == 0) & (dp != 0)).sum())
    denominator = math.sqrt((concordant + discordant + ties_p) * (concordant + discordant + ties_t))
    return (concordant - discordant) / denominator if denominator else 0.0
