"""A taste space learned from a whole guild: a few directions in the head's features
along which the guild's members differ, and each person's position in it.

One person's 100 votes cannot pin down a taste over the head's 192 features; the
guild's members together can find the few directions their tastes spread along.
Member m's score of a face is the guild's score plus `position_m . (features @
directions)`, fitted on everyone's votes with the guild model frozen. The directions
are then rescaled so that the members' positions have unit variance along each one:
a new person's position then has the prior N(0, I), centred on the guild (a new member
starts as the guild), and a few dozen votes locate it (`locate`, Newton's method in a
handful of dimensions). The personal head (model/stacked.py) learns the rest on top.
"""

from __future__ import annotations

import keras
import numpy as np

from model.bradley_terry import win_chance
from model.pairs import Pairs


def fit_directions(
    features: np.ndarray,
    base_scores: np.ndarray,
    pairs: Pairs,
    voters: np.ndarray,
    dims: int,
    *,
    min_votes: int = 10,
    steps: int = 300,
    seed: int = 0,
) -> np.ndarray:
    """(F, dims) taste directions from the votes of members with at least `min_votes`
    (`voters`: one member number per vote); zeros when fewer than two such members
    (a guild of one has no spread to learn)."""
    width = features.shape[1]
    members, counts = np.unique(voters, return_counts=True)
    kept = members[counts >= min_votes]
    if dims <= 0 or len(kept) < 2:
        return np.zeros((width, max(dims, 0)), np.float32)
    chosen = np.isin(voters, kept)
    member = np.searchsorted(kept, voters[chosen])
    votes = pairs.take(np.flatnonzero(chosen))
    difference = (features[votes.a] - features[votes.b]).astype(np.float32)
    base_gap = (base_scores[votes.a] - base_scores[votes.b]).astype(np.float32)[:, None]

    keras.utils.set_random_seed(seed)
    gap_in = keras.Input((1,), name="base_gap")
    difference_in = keras.Input((width,), name="difference")
    member_in = keras.Input((), dtype="int32", name="member")
    small = keras.initializers.RandomNormal(stddev=0.1, seed=seed)
    along = keras.layers.Dense(
        dims,
        use_bias=False,
        kernel_initializer=small,
        kernel_regularizer=keras.regularizers.L2(1e-4),
        name="directions",
    )(difference_in)
    position = keras.layers.Embedding(
        len(kept),
        dims,
        embeddings_initializer=small,
        embeddings_regularizer=keras.regularizers.L2(1e-4),
        name="positions",
    )(member_in)
    logit = keras.layers.Add()([keras.layers.Dot(axes=1)([along, position]), gap_in])
    model = keras.Model([gap_in, difference_in, member_in], logit)
    model.compile(
        optimizer=keras.optimizers.Adam(0.02),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(seed)
    batch = min(len(votes), 4096)
    for _ in range(steps):
        rows = rng.choice(len(votes), batch, replace=False) if batch < len(votes) else slice(None)
        model.train_on_batch(
            [base_gap[rows], difference[rows], member[rows].astype(np.int32)],
            votes.y[rows, None],
        )
    directions = keras.ops.convert_to_numpy(model.get_layer("directions").kernel)
    positions = keras.ops.convert_to_numpy(model.get_layer("positions").embeddings)
    return _unit_spread(directions.astype(np.float64), positions.astype(np.float64))


def _unit_spread(directions: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The same space, its axes the principal directions of the members' tastes, scaled
    so the members' positions have unit variance along each: the prior N(0, I)."""
    tastes = directions @ positions.T  # (F, members): each member's weights on the features
    left, spread, _ = np.linalg.svd(tastes, full_matrices=False)
    scaled = left * (spread / np.sqrt(positions.shape[0]))
    space = np.zeros_like(directions, np.float32)  # fewer members than dims: the rest stay 0
    kept = min(space.shape[1], scaled.shape[1])
    space[:, :kept] = scaled[:, :kept]
    return space


def locate(
    coordinates: np.ndarray,
    base_scores: np.ndarray,
    pairs: Pairs,
    strength: float = 1.0,
    iterations: int = 25,
) -> np.ndarray:
    """A person's MAP position (dims,) from their votes: P(a beats b) =
    sigmoid(base_a - base_b + position . (coordinates_a - coordinates_b)), prior N(0,
    I / strength). `coordinates`: (N, dims) every face's place in the taste space."""
    dims = coordinates.shape[1]
    position = np.zeros(dims)
    if not dims or not len(pairs):
        return position
    x = coordinates[pairs.a] - coordinates[pairs.b]
    gap = base_scores[pairs.a] - base_scores[pairs.b]
    for _ in range(iterations):
        p = win_chance(gap + x @ position)
        gradient = x.T @ (p - pairs.y) + strength * position
        hessian = (x * (p * (1 - p))[:, None]).T @ x + strength * np.eye(dims)
        step = np.linalg.solve(hessian, gradient)
        position -= step
        if np.abs(step).max() < 1e-8:
            break
    return position
