import numpy as np

from model.pair_choice import most_informative, pair_information, what_is_unknown
from model.pairs import Pairs
from model.taste_space import locate

NO_VOTES = Pairs.of([], [], [])


def test_an_uncertain_pair_of_new_faces_teaches_more_than_a_sure_or_well_known_one():
    scores = np.array([0.0, 0.1, 5.0, 0.0, 0.1])
    coordinates = np.zeros((5, 0))
    known = Pairs.of([3] * 40, [4] * 40, [1.0] * 40)  # faces 3 and 4 met 40 times
    covariance, variances = what_is_unknown(scores, coordinates, known, 1.0, 0.5)
    value = pair_information(
        scores, coordinates, covariance, variances, np.array([0, 0, 3]), np.array([1, 2, 4])
    )
    close_new, sure, close_known = value
    assert close_new > sure * 10 and close_new > close_known * 5


def test_after_votes_along_one_taste_direction_the_other_is_asked():
    coordinates = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    scores = np.zeros(3)
    along_first = Pairs.of([0] * 30, [1] * 30, [1.0, 0.0] * 15)
    chosen = most_informative(
        scores, coordinates, along_first, np.array([0, 0]), np.array([1, 2]), 1
    )
    assert chosen.tolist() == [1]  # faces 0 and 2 differ along the direction not yet asked


def test_a_batch_of_choices_does_not_ask_the_same_pair_twice():
    rng = np.random.default_rng(0)
    coordinates = rng.normal(size=(30, 3))
    a, b = rng.choice(30, (2, 100))
    chosen = most_informative(np.zeros(30), coordinates, NO_VOTES, a, b, 10)
    assert len(set(chosen.tolist())) == 10


def test_informative_pairs_locate_a_taste_faster_than_random_ones():
    """Simulated people in a 4-direction taste space answering with noise: after 20
    votes, the informative rule's estimate is closer to their true place than 20
    random pairs' (mean over 60 people; fixed seeds)."""
    rng = np.random.default_rng(1)
    coordinates = rng.normal(size=(200, 4))
    errors = {"informative": [], "random": []}
    for _ in range(60):
        truth = rng.normal(size=4) * 1.5
        utility = coordinates @ truth
        for rule in errors:
            votes = NO_VOTES
            for _ in range(4):  # rounds of 5 votes, the model refitted after each
                estimate = locate(coordinates, np.zeros(200), votes)
                a, b = rng.choice(200, (2, 200))
                a, b = a[a != b], b[a != b]
                if rule == "informative":
                    scores = coordinates @ estimate
                    pick = most_informative(scores, coordinates, votes, a, b, 5)
                else:
                    pick = np.arange(5)
                wins = rng.random(5) < 1 / (1 + np.exp(-(utility[a[pick]] - utility[b[pick]])))
                votes = Pairs.concat(votes, Pairs.of(a[pick], b[pick], wins))
            estimate = locate(coordinates, np.zeros(200), votes)
            errors[rule].append(np.linalg.norm(estimate - truth))
    means = {rule: float(np.mean(e)) for rule, e in errors.items()}
    print(f"distance to the true taste after 20 votes: {means}")
    assert means["informative"] < 0.93 * means["random"]
