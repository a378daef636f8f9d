"""The linear taste on frozen features: the reference a personal model must beat, and
the correction that makes a personal model at least that good."""

import numpy as np

from model.linear_taste import correction, logistic_scores
from model.metrics import pairwise_metrics
from model.pairs import Pairs


def _votes(taste: np.ndarray, faces: np.ndarray, count: int, seed: int) -> Pairs:
    rng = np.random.default_rng(seed)
    a, b = rng.choice(faces, count), rng.choice(faces, count)
    keep = a != b
    a, b = a[keep], b[keep]
    wins = rng.random(len(a)) < 1 / (1 + np.exp(-3 * (taste[a] - taste[b])))
    return Pairs.of(a, b, wins.astype(float))


def _world(seed: int = 0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(400, 40)) * rng.uniform(0.1, 5, 40)  # unequal scales
    taste = (features / features.std(0)) @ rng.normal(size=40) / np.sqrt(40)
    return features, taste, np.arange(300), np.arange(300, 400)


def test_the_reference_learns_a_linear_taste_for_faces_it_never_saw():
    features, taste, pool, unseen = _world()
    votes = _votes(taste, pool, 200, 1)
    scores = logistic_scores(features, pool, votes, np.random.default_rng(0))
    accuracy = pairwise_metrics(scores, _votes(taste, unseen, 3000, 2)).accuracy
    print(f"unseen faces: {accuracy:.3f}")
    assert accuracy > 0.75


def test_a_head_that_already_predicts_the_votes_is_left_as_it_is():
    features, taste, pool, _ = _world()
    votes = _votes(taste, pool, 100, 3)
    taste = correction(features[pool], 3 * taste[pool], votes, np.random.default_rng(0))
    assert taste.scale == 1 and np.array_equal(taste.weights, np.zeros(features.shape[1]))


def test_a_head_that_misses_the_taste_is_corrected_as_far_as_the_votes_show():
    """A head that learned the guild's taste (unrelated to this person's): the correction
    adds what a linear model of the person's votes sees, on faces it never saw; the
    same votes and seed give the same weights."""
    features, taste, pool, unseen = _world()
    guild = features @ np.random.default_rng(9).normal(size=40)
    guild = 2 * guild / guild.std()  # a trained head's scores: a few logits across
    votes = _votes(taste, pool, 150, 4)
    fitted = correction(features, guild, votes, np.random.default_rng(0))
    again = correction(features, guild, votes, np.random.default_rng(0))
    test = _votes(taste, unseen, 3000, 5)
    before = pairwise_metrics(guild, test).accuracy
    after = pairwise_metrics(fitted.scale * guild + features @ fitted.weights, test).accuracy
    print(f"unseen faces: {before:.3f} the head alone, {after:.3f} corrected ({fitted.scale:.3f})")
    assert fitted.scale == again.scale and np.array_equal(fitted.weights, again.weights)
    assert after > 0.72 and after > before + 0.15


def test_a_term_that_only_fits_the_pools_faces_costs_new_faces_little():
    """300 votes on 80 faces with 300 features: a linear term can order the pool's
    faces any way at all. These people's taste beyond the head is a liking for each
    face that the features do not carry; cross-validation by faces sees such a term
    tell little of faces it did not fit. Folds by votes judged it on the faces it fitted
    and cost new faces 0.06 on average (0.697 -> 0.637 on these six people)."""
    before, after = [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        features = rng.normal(size=(180, 300))
        shared = rng.normal(size=180)  # what the head has learned, and the person shares
        taste = shared + 1.5 * rng.normal(size=180)  # and their liking of each face
        pool, unseen = np.arange(80), np.arange(80, 180)
        votes = _votes(taste, pool, 300, seed + 100)
        fitted = correction(features, shared, votes, np.random.default_rng(0))
        test = _votes(taste, unseen, 3000, seed + 200)
        before.append(pairwise_metrics(shared, test).accuracy)
        after.append(
            pairwise_metrics(fitted.scores(shared, np.zeros((180, 0)), features), test).accuracy
        )
    print(f"new faces: {np.mean(before):.3f} the head alone, {np.mean(after):.3f} with the term")
    assert np.mean(after) >= np.mean(before) - 0.015


def test_a_place_in_the_taste_space_learns_a_taste_along_it_from_fewer_votes():
    """The guild's taste space holds the directions its members' tastes spread along; a
    person whose taste lies along them (and not along the guild's score) is found there
    from 30 votes, well ahead of the plain reference on the same votes. A taste outside
    the space is the reference's to find: with 30 votes cross-validation cannot tell it
    from the space's directions, and by 100 votes it stands level with the reference."""
    features, _, pool, unseen = _world()
    directions = np.random.default_rng(7).normal(size=(40, 4))
    coordinates = (features / features.std(0)) @ directions
    guild = coordinates[:, 0] / coordinates[:, 0].std()
    along_results, outside_results = [], []
    for seed in range(8):
        person = np.random.default_rng(seed)
        along = coordinates[:, 1:] @ person.normal(size=3)
        outside = (features / features.std(0)) @ person.normal(size=40)
        for taste, count, results in ((along, 30, along_results), (outside, 100, outside_results)):
            taste = taste / taste.std()
            votes = _votes(taste, pool, count, seed + 10)
            test = _votes(taste, unseen, 3000, seed + 20)
            fitted = correction(features, guild, votes, np.random.default_rng(0), coordinates)
            reference = logistic_scores(features, pool, votes, np.random.default_rng(0))
            results.append(
                [
                    pairwise_metrics(fitted.scores(guild, coordinates, features), test).accuracy,
                    pairwise_metrics(reference, test).accuracy,
                ]
            )
    along, along_reference = np.mean(along_results, axis=0)
    outside, outside_reference = np.mean(outside_results, axis=0)
    print(
        f"a taste along the space, 30 votes: {along:.3f} (the reference {along_reference:.3f}); "
        f"outside it, 100 votes: {outside:.3f} ({outside_reference:.3f})"
    )
    assert along > along_reference + 0.1
    assert outside > outside_reference - 0.01
