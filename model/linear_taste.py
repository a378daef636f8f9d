"""A linear taste on frozen face features, fitted to one person's votes: an L2 logistic
regression on the difference of two faces' standardized features (a tie is a soft
label of 0.5), its strength chosen by cross-validation on the person's own votes
(folds by faces, the simplest within one standard error of the best), then refitted
on all of them.

It is both the plain reference a personal model must beat (`logistic_scores`, which
the benchmarks run beside konomi) and a person's linear taste (`correction`): the
guild's score, scaled; their place in the guild's taste space (its coordinates, under a
prior ten times wider than the features': the directions the guild's votes found are
the likeliest ones); and a linear term on the face features, each as far as
cross-validation on the person's votes finds that it pays (the guild's score dropped,
or the place, when that predicts them best). The place is fitted inside every fold
like the rest: a place located on all the votes beforehand would be judged on the
votes it was fitted to and trusted too much. A person whose taste the guild's head
cannot express (an independent one) still gets what a linear model of their votes
gets. Newton's method: a few hundred features, a few hundred votes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.bradley_terry import win_chance
from model.pairs import Pairs

STRENGTHS = (0.1, 1.0, 10.0, 100.0, 1000.0)  # L2 on the weights, per vote summed
NONE = np.inf  # the strength that keeps a weight at its target
BASE_PULL = 1.0  # how strongly the scale on the guild's score is held at 1
PLACE_WIDTH = 10.0  # the taste-space place's prior: this many times wider than the features'
FOLDS = 5  # face groups for cross-validation: each fold fits ~64% of the votes


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    strength: float | np.ndarray,
    offset: np.ndarray | None = None,
    target: np.ndarray | None = None,
) -> np.ndarray:
    """Weights w minimising sum(cross-entropy(sigmoid(offset + x w), y)) + 1/2 sum(
    strength (w - target)^2), a strength per weight or one for all (an infinite one
    keeps its weight at the target)."""
    strength = np.broadcast_to(np.asarray(strength, float), (x.shape[1],))
    target = np.zeros(x.shape[1]) if target is None else target
    free = np.isfinite(strength)
    weights = np.where(free, 0.0, target).astype(float)
    if not free.any() or not len(y):
        return weights
    offset = (np.zeros(len(y)) if offset is None else offset) + x[:, ~free] @ weights[~free]
    x, strength, target = x[:, free], strength[free], target[free]

    def objective(w: np.ndarray) -> float:
        z = offset + x @ w  # the cross-entropy of sigmoid(z), computed without overflow
        return float(np.sum(np.logaddexp(0, z) - y * z) + strength @ (w - target) ** 2 / 2)

    fitted = target.astype(float).copy()
    current = objective(fitted)
    for _ in range(50):
        p = win_chance(offset + x @ fitted)
        gradient = x.T @ (p - y) + strength * (fitted - target)
        step = _newton_step(x, p * (1 - p), strength, gradient)
        for _ in range(30):  # halved until it helps: a saturated start overshoots
            trial = objective(fitted - step)
            if trial <= current:
                break
            step = step / 2
        else:
            break
        fitted, current = fitted - step, trial
        if np.abs(step).max() < 1e-6:
            break
    weights[free] = fitted
    return weights


def _newton_step(
    x: np.ndarray, curvature: np.ndarray, strength: np.ndarray, gradient: np.ndarray
) -> np.ndarray:
    """H^-1 gradient for H = x' diag(curvature) x + diag(strength). With fewer votes
    than weights (most people's case) through the votes' system, not the weights'
    (the Woodbury identity): 64 x 64 instead of 257 x 257 for 100 votes in a fold."""
    if len(x) >= x.shape[1] or np.any(strength <= 0):
        return np.linalg.solve((x * curvature[:, None]).T @ x + np.diag(strength), gradient)
    rows = x * np.sqrt(curvature)[:, None]
    scaled = gradient / strength
    inner = np.eye(len(x)) + (rows / strength) @ rows.T
    return scaled - (rows.T @ np.linalg.solve(inner, rows @ scaled)) / strength


def vote_losses(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, offset: np.ndarray
) -> np.ndarray:
    """Each vote's cross-entropy under these weights."""
    p = np.clip(win_chance(offset + x @ weights), 1e-9, 1 - 1e-9)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


Prior = tuple[float | np.ndarray, np.ndarray | None]  # L2 strength(s), and their target


Folds = list[tuple[np.ndarray, np.ndarray]]  # (votes fitted, votes judged) each


def face_folds(votes: Pairs, rng: np.random.Generator, groups: int = FOLDS) -> Folds:
    """Cross-validation folds by faces: the faces voted on fall into `groups` groups, and
    each fold judges the votes touching one group by a fit to the votes touching none.
    Folds by votes would let a face be fitted and judged at once: with 300 votes on 80
    faces every face is in every fold, and a term that memorizes the pool looks good
    while it tells nothing of new faces, what a taste is for."""
    if not len(votes):
        return []
    group = np.zeros(int(max(votes.a.max(), votes.b.max())) + 1, np.int64)
    faces = votes.items()
    group[faces] = rng.permutation(len(faces)) % groups
    folds = []
    for held in range(groups):
        touched = (group[votes.a] == held) | (group[votes.b] == held)
        if touched.any():
            folds.append((np.flatnonzero(~touched), np.flatnonzero(touched)))
    return folds


def choose_prior(
    x: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    priors: list[Prior],
    offset: np.ndarray | None = None,
) -> Prior:
    """Of these priors (L2 strengths and the weights they pull towards), the first whose
    cross-validated log-loss on these votes over `folds` is within one standard error of
    the least (list the strongest first to prefer the least change). The one-standard-
    error rule: on a hundred votes the losses of neighbouring priors differ by noise,
    and the least of them would often pick a term that fits the pool, not the person."""
    offset = np.zeros(len(y)) if offset is None else offset
    if len(y) < 3 or not folds:
        return priors[0]
    losses = np.array(
        [
            np.concatenate(
                [
                    vote_losses(
                        x[held],
                        y[held],
                        fit_logistic(x[kept], y[kept], strength, offset[kept], target),
                        offset[held],
                    )
                    for kept, held in folds
                ]
            )
            for strength, target in priors
        ]
    )
    gaps = losses - losses[np.argmin(losses.sum(1))]
    errors = gaps.std(1) * np.sqrt(gaps.shape[1])
    return priors[int(np.argmax(gaps.sum(1) <= errors))]


def _standardized(features: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The features standardized over `faces` (a constant feature stays zero), and the
    scale each was divided by."""
    scale = features[faces].std(0)
    scale = np.where(scale > 1e-6, scale, np.inf)
    return (features - features[faces].mean(0)) / scale, scale


def logistic_scores(
    features: np.ndarray, pool: np.ndarray, votes: Pairs, rng: np.random.Generator
) -> np.ndarray:
    """Every face's score under a linear taste fitted to `votes` on `features` (faces x
    dims) standardized over the `pool` faces: the plain reference."""
    standard, _ = _standardized(features, pool)
    x, y = standard[votes.a] - standard[votes.b], votes.y.astype(float)
    priors = [(strength, None) for strength in STRENGTHS[::-1]]  # strongest first
    strength, _ = choose_prior(x, y, face_folds(votes, rng), priors)
    return standard @ fit_logistic(x, y, strength)


@dataclass(frozen=True)
class LinearTaste:
    """A person's linear taste: `scale` times the guild's score, plus `position` on the
    taste-space coordinates, plus `weights` on the raw face features."""

    scale: float
    position: np.ndarray
    weights: np.ndarray

    def scores(self, base: np.ndarray, coordinates: np.ndarray, features: np.ndarray):
        return self.scale * base + coordinates @ self.position + features @ self.weights


def correction(
    features: np.ndarray,
    base: np.ndarray,
    votes: Pairs,
    rng: np.random.Generator,
    coordinates: np.ndarray | None = None,
) -> LinearTaste:
    """The linear taste whose scores best predict `votes`, as cross-validation on them
    judges between (for each L2 strength, the strongest first): the `base` scores alone;
    the base, its scale pulled towards 1, with the place on `coordinates` (faces x the
    taste space's directions) and with or without the feature term; the place and the
    term without the base (a base that misleads is dropped); the term alone (the plain
    reference). Features and coordinates standardized over all the faces given (the
    pool)."""
    faces = np.arange(len(features))
    if coordinates is None:
        coordinates = np.zeros((len(features), 0))
    standard, scale = _standardized(features, faces)
    places, place_scale = _standardized(coordinates, faces)
    everything = np.concatenate([base[:, None], places, standard], axis=1)
    x = everything[votes.a] - everything[votes.b]
    y = votes.y.astype(float)
    dims, features_dims = places.shape[1], standard.shape[1]

    def prior(base_strength: float, place: float, term: float) -> np.ndarray:
        return np.concatenate([[base_strength], np.full(dims, place), np.full(features_dims, term)])

    with_base = np.concatenate([[1.0], np.zeros(dims + features_dims)])
    without = np.zeros(1 + dims + features_dims)
    priors: list[Prior] = [(prior(NONE, NONE, NONE), with_base)]
    for strength in STRENGTHS[::-1]:
        place = strength / PLACE_WIDTH
        if dims:
            priors.append((prior(BASE_PULL, place, NONE), with_base))
        priors.append((prior(BASE_PULL, place, strength), with_base))
        if dims:
            priors.append((prior(NONE, place, strength), without))
        priors.append((prior(NONE, NONE, strength), without))
    strengths, target = choose_prior(x, y, face_folds(votes, rng), priors)
    weights = fit_logistic(x, y, strengths, target=target)
    return LinearTaste(
        float(weights[0]), weights[1 : 1 + dims] / place_scale, weights[1 + dims :] / scale
    )
