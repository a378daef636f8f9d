"""What a taste that is linear in konomi's face features can reach, against what the
votes allow: on One Million Impressions' simulated people (as `bench/quality_omi.py`
makes them), a logistic taste fitted on the face descriptor alone, with a plain L2
prior, with a prior learned from the guild's members (the second moment of their own
fitted tastes), and with konomi's taste space (model/taste_space.py) fitted on the
members' votes, against a ridge on the true attributes; from 30 to 5,000 votes, on
faces none of them saw; and the best taste linear in the features at all (fitted to
every pool face's true appeal, no votes, no noise), which no amount of votes passes.
Also how much of each attribute the features carry linearly. `--features bot` reads
what the bot reads (the descriptor and the HOG blocks of model/expression.py, their
PCA fitted on the pool faces). Numpy (and a small Keras fit for the taste space): 2
minutes once the descriptors are cached (5 with the HOG blocks).

    python bench/taste_ceiling.py [--features descriptor|bot] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, machine, raw_hogs  # noqa: E402
from bench.common import features as bot_features  # noqa: E402
from bench.quality import merge, random_pairs, test_pairs  # noqa: E402
from bench.quality_omi import KINDS, Person, load, ridge, tastes, unseen_split  # noqa: E402


def logistic(x: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """MAP weights of P(first wins) = sigmoid(x @ w) with the prior w ~ N(0, penalty^-1),
    by Newton's method."""
    weights = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ weights)))
        gradient = x.T @ (p - y) + penalty @ weights
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-7:
            break
    return weights


def pool_design(features: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """The features standardized over the pool faces, with an intercept column: what
    `best_linear` fits."""
    standard = (features - features[pool].mean(0)) / (features[pool].std(0) + 1e-6)
    return np.c_[standard, np.ones(len(features))]


def best_linear(design: np.ndarray, seen: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """For a person's true appeal of every face, every face's score from the ridge of it
    on the features, fitted on all the pool faces, its strength chosen by leave-one-out:
    the most any linear taste on these features can reach, however many votes. The
    pool's decomposition is computed once, for everyone."""
    u, s, vt = np.linalg.svd(design[seen], full_matrices=False)

    def scores(utility: np.ndarray) -> np.ndarray:
        target = utility[seen]
        best = None
        for strength in (0.1, 1, 10, 100, 1000):
            shrink = s**2 / (s**2 + strength)
            fitted = u @ (shrink * (u.T @ target))
            leverage = (u**2 * shrink).sum(1)
            error = np.mean(((target - fitted) / (1 - leverage)) ** 2)
            if best is None or error < best[0]:
                best = (error, strength)
        return design @ (vt.T @ (s / (s**2 + best[1]) * (u.T @ target)))

    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--people", type=int, default=10, help="held-out people of each kind")
    parser.add_argument("--votes", type=int, nargs="+", default=[30, 100, 300, 1000, 5000])
    parser.add_argument("--taste-dims", type=int, default=4)
    parser.add_argument("--features", choices=("descriptor", "bot"), default="descriptor")
    args = parser.parse_args()

    from model.metrics import pairwise_metrics
    from model.taste_space import fit_directions, locate

    crops, descriptors, names, attributes = load(args.data, args.out)
    count = len(descriptors)
    rng = np.random.default_rng(0)
    unseen, seen = unseen_split(count, rng)
    read = descriptors
    if args.features == "bot":
        read = bot_features(descriptors, raw_hogs(crops, args.out / "omi_hogs.npz")[0], seen, True)
    design = pool_design(read, seen)
    features = design[:, :-1]
    width = features.shape[1]
    plain = {strength: strength * np.eye(width) for strength in (1.0, 10.0)}

    def fit(votes, penalty: np.ndarray) -> np.ndarray:
        return features @ logistic(features[votes.a] - features[votes.b], votes.y, penalty)

    # How much of each attribute is a linear function of the features (unseen faces).
    explained = {}
    for index, name in enumerate(names):
        target = attributes[:, index]
        gram = design[seen].T @ design[seen] + 10 * np.eye(width + 1)
        predicted = design[unseen] @ np.linalg.solve(gram, design[seen].T @ target[seen])
        explained[name] = 1 - np.mean((predicted - target[unseen]) ** 2) / target[unseen].var()

    members = [Person(w, attributes, rng) for w in tastes(names, "guild-like", 40, 0.35, rng)]
    member_votes = [m.answer(*random_pairs(seen, 150, rng)) for m in members]
    own_tastes = np.stack(
        [logistic(features[v.a] - features[v.b], v.y, plain[1.0]) for v in member_votes]
    )
    second_moment = own_tastes.T @ own_tastes / len(own_tastes)
    spectrum = np.linalg.eigvalsh(second_moment)[::-1]
    learned = np.linalg.inv(second_moment + 0.1 * np.trace(second_moment) / width * np.eye(width))
    guild = fit(merge(member_votes)[0], plain[1.0])
    # konomi's taste space on the same features: directions fitted jointly on every
    # member's votes; a person either only placed in it, or free beside it (a prior
    # wide along the directions, narrow elsewhere).
    directions = fit_directions(
        features, np.zeros(count), *merge(member_votes), dims=args.taste_dims
    ).astype(np.float64)
    coordinates = features @ directions
    beside = np.linalg.inv(directions @ directions.T + 0.01 * np.eye(width))
    people = [
        (kind, Person(w, attributes, rng))
        for kind in KINDS
        for w in tastes(names, kind, args.people, 0.35, rng)
    ]
    methods = {
        f"{args.features}, L2 1": lambda v: fit(v, plain[1.0]),
        f"{args.features}, L2 10": lambda v: fit(v, plain[10.0]),
        f"{args.features}, guild's taste prior": lambda v: fit(v, learned),
        f"{args.features}, place in the taste space ({args.taste_dims} dims)": lambda v: (
            coordinates @ locate(coordinates, np.zeros(count), v)
        ),
        f"{args.features}, taste space + narrow prior beside it": lambda v: fit(v, beside),
        "guild's taste (40 members x 150)": lambda v: guild,
        "ridge on the true attributes": lambda v: ridge(attributes, v),
    }
    best = "best linear taste on these features (every pool face's true appeal)"
    ceiling_of = best_linear(design, seen)
    table = {}
    for kind, person in people:
        truth = person.truth(*test_pairs(unseen))
        ceiling = pairwise_metrics(ceiling_of(person.utility), truth).accuracy
        for votes in args.votes:
            own = person.answer(*random_pairs(seen, votes, rng))
            for method, scores in methods.items():
                accuracy = pairwise_metrics(scores(own), truth).accuracy
                table.setdefault((method, votes, kind), []).append(accuracy)
            table.setdefault((best, votes, kind), []).append(ceiling)
    rows = [*methods, best]

    print(f"machine: {machine()}")
    print(
        f"OMI: {count} faces ({len(unseen)} unseen), {len(names)} attributes; "
        f"{args.people} held-out people of each kind ({', '.join(KINDS)}); features: "
        f"{args.features} ({width} numbers)"
    )
    shown = sorted(explained, key=explained.get, reverse=True)
    print(
        "attributes' R^2 from the features (linear, unseen faces): "
        + ", ".join(f"{name} {explained[name]:.2f}" for name in shown[:6])
        + f"; median {np.median(list(explained.values())):.2f}; attractive "
        f"{explained['attractive']:.2f}"
    )
    print(
        "guild members' fitted tastes: the top 5 directions hold "
        + ", ".join(f"{share:.1%}" for share in spectrum[:5] / spectrum.sum())
        + " of their second moment"
    )

    def mean(method: str, votes: int, kinds=KINDS) -> float:
        return float(np.mean([a for k in kinds for a in table[(method, votes, k)]]))

    print("\nunseen-face accuracy, mean over all held-out people:\n")
    print("| method | " + " | ".join(f"@ {v}" for v in args.votes) + " |")
    print("|---|" + "---|" * len(args.votes))
    for method in rows:
        cells = [f"{mean(method, v):.3f}" for v in args.votes]
        print(f"| {method} | " + " | ".join(cells) + " |")
    if 100 in args.votes:
        print("\nat 100 votes, by kind of taste:\n")
        print("| method | " + " | ".join(KINDS) + " |")
        print("|---|" + "---|" * len(KINDS))
        for method in rows:
            cells = [f"{mean(method, 100, [kind]):.3f}" for kind in KINDS]
            print(f"| {method} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
