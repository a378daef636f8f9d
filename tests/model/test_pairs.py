import numpy as np

from model.pairs import Pairs, plan_batches


def test_every_vote_lands_in_exactly_one_fixed_size_batch_per_epoch():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 50, 300), rng.integers(0, 50, 300)
    keep = a != b
    pairs = Pairs.of(a[keep], b[keep], rng.choice([0.0, 0.5, 1.0], keep.sum()))
    batches = plan_batches(pairs, 50, 16, rng)
    assert all(len(batch.items) == 16 == len(set(batch.items)) for batch in batches)
    assert sum(batch.pair_count for batch in batches) == len(pairs)
    total_weight = sum(batch.targets[..., 1].sum() for batch in batches)
    assert total_weight == 2 * len(pairs)  # each vote as (a beats b, y) and (b beats a, 1 - y)


def test_targets_are_the_votes_seen_from_both_sides():
    pairs = Pairs.of([0, 0, 1], [1, 1, 0], [1.0, 0.0, 1.0])
    [batch] = plan_batches(pairs, 2, 64, np.random.default_rng(0))
    i, j = list(batch.items).index(0), list(batch.items).index(1)
    # Three votes on 0 vs 1: 0 won once, 1 won twice.
    np.testing.assert_allclose(batch.targets[i, j], [1 / 3, 3])
    np.testing.assert_allclose(batch.targets[j, i], [2 / 3, 3])


def test_split_holds_out_the_fraction_and_nothing_below_five_votes():
    pairs = Pairs.of(range(100), range(1, 101), np.ones(100))
    train, held = pairs.split(0.2, np.random.default_rng(0))
    assert (len(train), len(held)) == (80, 20)
    assert not set(zip(train.a, train.b, strict=True)) & set(zip(held.a, held.b, strict=True))
    small_train, small_held = Pairs.of([0], [1], [1.0]).split(0.2, np.random.default_rng(0))
    assert (len(small_train), len(small_held)) == (1, 0)


def test_steps_are_sized_to_the_faces_the_votes_touch_in_a_few_shapes():
    rng = np.random.default_rng(0)
    few = rng.choice(800, 40, replace=False)  # a person's votes on 40 faces of 800
    a, b = rng.choice(few, 100), rng.choice(few, 100)
    keep = a != b
    pairs = Pairs.of(a[keep], b[keep], np.ones(keep.sum()))
    sizes = {len(batch.items) for batch in plan_batches(pairs, 800, 512, rng)}
    assert sizes == {64}  # not 512: 40 faces, rounded up to a power of two
    a, b = rng.integers(0, 800, 3000), rng.integers(0, 800, 3000)
    keep = a != b
    everyone = Pairs.of(a[keep], b[keep], np.ones(keep.sum()))
    assert {len(batch.items) for batch in plan_batches(everyone, 800, 512, rng)} == {512}
    small = Pairs.of(np.arange(40), np.arange(1, 41), np.ones(40))  # 41 faces of a pool of 50
    assert {len(batch.items) for batch in plan_batches(small, 50, 512, rng)} == {50}
