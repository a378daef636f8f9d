import numpy as np

from model.metrics import pairwise_metrics
from model.pairs import Pairs
from model.taste_space import fit_directions, locate


def planted_guild(seed: int = 0, members: int = 30, votes: int = 80):
    """Faces with 20 features; every member's taste lies in one plane of them (two
    hidden directions), each at their own place in it."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(400, 20))
    plane = np.linalg.qr(rng.normal(size=(20, 2)))[0]
    places = rng.normal(size=(members, 2)) * 2
    a, b, y, voters = [], [], [], []
    for member, place in enumerate(places):
        utility = features @ plane @ place
        first, second = rng.choice(300, (2, votes))  # faces 300-399 stay unseen
        wins = rng.random(votes) < 1 / (1 + np.exp(-(utility[first] - utility[second])))
        a.extend(first)
        b.extend(second)
        y.extend(wins)
        voters.extend([member] * votes)
    return features, plane, Pairs.of(a, b, np.asarray(y, float)), np.asarray(voters)


def test_the_guilds_taste_plane_is_found_from_its_members_votes():
    features, plane, pairs, voters = planted_guild()
    directions = fit_directions(features, np.zeros(len(features)), pairs, voters, dims=2)
    # The principal angles between the found and the planted plane are small.
    found = np.linalg.qr(directions)[0]
    cosines = np.linalg.svd(found.T @ plane, compute_uv=False)
    print(f"cosines of the principal angles: {np.round(cosines, 3)}")
    assert cosines.min() > 0.9


def test_a_new_member_located_from_30_votes_beats_a_free_fit_on_unseen_faces():
    """Two numbers to fit instead of twenty: the taste space is what lets few votes
    go far. Judged on 100 faces no one voted on."""
    features, plane, pairs, voters = planted_guild()
    directions = fit_directions(features, np.zeros(len(features)), pairs, voters, dims=2)
    coordinates = features @ directions
    rng = np.random.default_rng(7)
    unseen = np.arange(300, 400)
    first, second = rng.choice(unseen, (2, 3000))
    wins_located, wins_free = [], []
    for _ in range(10):
        utility = features @ plane @ rng.normal(size=2)
        a, b = rng.choice(300, (2, 30))
        votes = Pairs.of(a, b, (utility[a] > utility[b]).astype(float))
        truth = Pairs.of(first, second, (utility[first] > utility[second]).astype(float))
        position = locate(coordinates, np.zeros(len(features)), votes)
        free = locate(features, np.zeros(len(features)), votes)  # every feature a direction
        wins_located.append(pairwise_metrics(coordinates @ position, truth).accuracy)
        wins_free.append(pairwise_metrics(features @ free, truth).accuracy)
    print(f"unseen faces: located {np.mean(wins_located):.3f}, free {np.mean(wins_free):.3f}")
    assert np.mean(wins_located) > np.mean(wins_free) + 0.05
    assert np.mean(wins_located) > 0.85


def test_without_votes_a_person_stands_at_the_guilds_centre():
    features, _, pairs, voters = planted_guild(members=3)
    directions = fit_directions(features, np.zeros(len(features)), pairs, voters, dims=2)
    empty = Pairs.of([], [], [])
    assert np.array_equal(locate(features @ directions, np.zeros(400), empty), np.zeros(2))


def test_a_guild_of_one_member_has_no_taste_space():
    features, _, pairs, voters = planted_guild(members=2)
    alone = voters == 0
    directions = fit_directions(
        features, np.zeros(len(features)), pairs.take(np.flatnonzero(alone)), voters[alone], 2
    )
    assert directions.shape == (20, 2) and not directions.any()


def test_fewer_members_than_directions_leave_the_spare_ones_empty():
    features, _, pairs, voters = planted_guild(members=3)
    directions = fit_directions(features, np.zeros(len(features)), pairs, voters, dims=5)
    assert directions.shape == (20, 5)
    assert np.abs(directions[:, :3]).max() > 0 and not directions[:, 3:].any()
