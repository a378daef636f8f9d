"""Which pair to ask next: the one whose answer teaches the model the most.

A vote on faces a and b with P(a wins) = p carries Fisher information p(1 - p) about
the score gap. What the gap teaches depends on what is still unknown about it: the
person's place in the guild's taste space (its posterior covariance, along the two
faces' coordinate gap) and the two faces' own offsets (their posterior variances,
large for faces with few votes). So a pair is worth

    p (1 - p) * (gap' Covariance gap + variance_a + variance_b)

the expected shrinkage of what the model does not know yet. Pairs the model is sure
of (p near 0 or 1) teach little; so do pairs of well-known faces on which everyone
agrees. Pure numpy: the voting service and the benchmarks call `most_informative`.
"""

from __future__ import annotations

import numpy as np

from model.bradley_terry import win_chance
from model.pairs import Pairs


def what_is_unknown(
    scores: np.ndarray,
    coordinates: np.ndarray,
    votes: Pairs,
    position_prior: float,
    offset_prior: float,
) -> tuple[np.ndarray, np.ndarray]:
    """After these votes: the covariance (dims, dims) of the person's place in the taste
    space, and each face's offset variance (N,), both from the Laplace approximation
    at the model's current scores."""
    dims = coordinates.shape[1]
    certainty = np.full(len(scores), float(offset_prior))
    precision = position_prior * np.eye(dims)
    if len(votes):
        p = win_chance(scores[votes.a] - scores[votes.b])
        weight = p * (1 - p)
        np.add.at(certainty, votes.a, weight)
        np.add.at(certainty, votes.b, weight)
        gap = coordinates[votes.a] - coordinates[votes.b]
        precision = precision + (gap * weight[:, None]).T @ gap
    return np.linalg.inv(precision), 1.0 / certainty


def offset_variances(vote_counts: np.ndarray, offset_prior: float) -> np.ndarray:
    """Faces' offset variances from how many votes involve each, when reading every
    vote is too dear (a guild's): each vote counted at its most informative, p = 1/2."""
    return 1.0 / (offset_prior + np.asarray(vote_counts, float) / 4)


def pair_information(
    scores: np.ndarray,
    coordinates: np.ndarray,
    covariance: np.ndarray,
    variances: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
) -> np.ndarray:
    """How much each candidate pair (a[i], b[i]) would teach (the module's formula)."""
    p = win_chance(scores[a] - scores[b])
    gap = coordinates[a] - coordinates[b]
    spread = np.einsum("ij,jk,ik->i", gap, covariance, gap)
    return p * (1 - p) * (spread + variances[a] + variances[b])


def most_informative(
    scores: np.ndarray,
    coordinates: np.ndarray,
    votes: Pairs,
    a: np.ndarray,
    b: np.ndarray,
    count: int,
    *,
    position_prior: float = 1.0,
    offset_prior: float = 0.5,
    vote_counts: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the `count` candidates that teach the most, chosen one at a time:
    each chosen pair counts as answered (as the model expects) before the next, so a
    batch does not ask the same question twice.

    A person's model is judged by their `votes`; a guild's, whose votes are too many to
    read, by `vote_counts` (votes involving each face; `votes` then holds none): its
    faces' offsets only, as it has no place in its own taste space."""
    chosen: list[int] = []
    asked = votes
    counts = None if vote_counts is None else np.asarray(vote_counts, float).copy()
    for _ in range(min(count, len(a))):
        if counts is None:
            covariance, variances = what_is_unknown(
                scores, coordinates, asked, position_prior, offset_prior
            )
        else:
            coordinates, covariance = np.zeros((len(scores), 0)), np.zeros((0, 0))
            variances = offset_variances(counts, offset_prior)
        value = pair_information(scores, coordinates, covariance, variances, a, b)
        value[chosen] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        expected = float(win_chance(scores[a[best]] - scores[b[best]]))
        asked = Pairs.concat(asked, Pairs.of([a[best]], [b[best]], [expected]))
        if counts is not None:
            counts[[a[best], b[best]]] += 1
    return np.array(chosen, np.int64)
