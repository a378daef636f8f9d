"""Pairwise accuracy for simulated people whose taste is a weighting of human-rated face
attributes (One Million Impressions: 1,004 faces, 34 attributes rated by people).

A person's hidden taste is a weighting of the non-ethnicity attributes (z-scored); they
answer pairs with Bradley-Terry noise scaled so that about 84% of their answers agree
with their own order. The guild is 40 other members who mostly like "attractive". A
quarter of them (`--expression-members`) like smiling, outgoing, alert faces instead.
Held out are four kinds of people: guild-like (near the guild's taste), independent
(a random weighting), opposed (mostly disliking what the guild likes) and
expression-weighted (what the descriptor sees least). Folds split the
faces into the pool (~800) and unseen faces (~200, like /rank uploads). At 10 / 30 /
100 / 300 random votes: konomi with and without the face descriptor (its final scorer
and the trained personal head), the guild model alone, the original approach (a CNN per
person from scratch), Bradley-Terry on the person's votes, a ridge on the true
attributes fitted to the same votes (what the votes allow), the plain logistic baseline
on the descriptor (`bench/baseline.py`: what konomi's served model must match on the
same votes; the paired difference is printed per kind), chance. Every model trains
with the bot's config.toml.

    python bench/quality_omi.py [--data ../shared/data] [--out bench/out]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    DEFAULT_DATA,
    faces_with_descriptors,
    features,
    machine,
    raw_hogs,
)
from bench.quality import METHODS as QUALITY_METHODS  # noqa: E402
from bench.quality import (  # noqa: E402
    Results,
    konomi_variants,
    merge,
    person_scores,
    random_pairs,
    test_pairs,
    train_guilds,
)
from model.linear_taste import logistic_scores  # noqa: E402

BASELINE = "logistic baseline (same features, L2 by CV)"
METHODS = [*QUALITY_METHODS, BASELINE, "attribute ridge (true attributes)", "chance"]
# Ethnicity and skin colour are not tastes we simulate; "looks-like-you" depends on the rater.
LEFT_OUT = {
    "asian",
    "middle-eastern",
    "hispanic",
    "islander",
    "native",
    "black",
    "white",
    "skin-color",
    "looks-like-you",
}
KINDS = ("guild-like", "independent", "opposed", "expression-weighted")
# What an expression-weighted taste likes: smiling, outgoing, alert faces (the
# attributes dlib's identity descriptor sees least: ridge R^2 0.32, 0.34, 0.20).
EXPRESSION = {"happy": 1.0, "outgoing": 0.6, "alert": 0.4}
AGREEMENT = 0.84  # share of a person's answers that agree with their own order


def load(data: Path, out: Path):
    """Crops (256 px), descriptors, the kept attribute names and their z-scores per face."""
    omi = data / "omi"
    with (omi / "attribute_means.csv").open() as stream:
        rows = {row["stimulus"]: row for row in csv.DictReader(stream)}
    paths, crops, descriptors = faces_with_descriptors(
        sorted((omi / "images").glob("*.jpg"), key=lambda p: int(p.stem)), out / "omi_faces.npz"
    )
    names = [n for n in next(iter(rows.values())) if n != "stimulus" and n not in LEFT_OUT]
    values = np.array([[float(rows[p.stem][n]) for n in names] for p in paths])
    return crops, descriptors, names, (values - values.mean(0)) / values.std(0)


class Person:
    """A hidden taste (utility of each face) answering pairs with Bradley-Terry noise."""

    def __init__(self, weights: np.ndarray, attributes: np.ndarray, rng: np.random.Generator):
        utility = attributes @ weights
        self.utility = (utility - utility.mean()) / utility.std()
        self.rng = rng
        # The noise's scale: bisect until the expected agreement on random pairs is 84%.
        gaps = np.abs(np.subtract(*rng.choice(self.utility, (2, 5000))))
        low, high = 0.0, 100.0
        for _ in range(50):
            self.scale = (low + high) / 2
            agreement = np.mean(1 / (1 + np.exp(-self.scale * gaps)))
            low, high = (self.scale, high) if agreement < AGREEMENT else (low, self.scale)

    def answer(self, a: np.ndarray, b: np.ndarray):
        from model.pairs import Pairs

        gap = self.utility[a] - self.utility[b]
        wins = self.rng.random(len(a)) < 1 / (1 + np.exp(-self.scale * gap))
        return Pairs.of(a, b, wins.astype(float))

    def truth(self, a: np.ndarray, b: np.ndarray):
        """The person's own order, without noise: what accuracy is measured against."""
        from model.pairs import Pairs

        return Pairs.of(a, b, (self.utility[a] > self.utility[b]).astype(float))


def tastes(
    names: list[str], kind: str, count: int, spread: float, rng: np.random.Generator
) -> np.ndarray:
    """`count` weightings of one kind: "attractive" (or its opposite) plus `spread` on
    every attribute, or random. At spread 0.35 on 25 attributes a guild member's taste
    correlates about 0.5 with "attractive": they share it but differ a lot."""
    liked = np.zeros(len(names))
    liked[names.index("attractive")] = 1.0
    noise = rng.normal(0, spread, (count, len(names)))
    if kind == "independent":
        return rng.normal(0, 1, (count, len(names)))
    if kind == "expression-weighted":
        smiling = np.zeros(len(names))
        for name, weight in EXPRESSION.items():
            smiling[names.index(name)] = weight
        return smiling + noise
    return (liked if kind == "guild-like" else -liked) + noise


def unseen_split(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(unseen, pool): a fifth of the faces kept from every vote, like /rank uploads."""
    unseen = rng.permutation(count)[: count // 5]
    return unseen, np.setdiff1d(np.arange(count), unseen)


def guild_votes(names, attributes, seen, members: int, votes: int, spread: float, rng):
    """The guild's votes on pool faces (`seen`) and who cast each (as `merge` gives
    them): `members` guild-like people with `votes` random pairs each."""
    people = [Person(w, attributes, rng) for w in tastes(names, "guild-like", members, spread, rng)]
    return merge([person.answer(*random_pairs(seen, votes, rng)) for person in people])


def ridge(attributes: np.ndarray, votes, strength: float = 1.0) -> np.ndarray:
    """A linear taste on the true attributes from the votes: ridge regression of the
    answer (+1 / -1) on the attribute difference; returns every face's score."""
    x = attributes[votes.a] - attributes[votes.b]
    y = 2 * votes.y - 1
    weights = np.linalg.solve(x.T @ x + strength * np.eye(x.shape[1]), x.T @ y)
    return attributes @ weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--guild-members", type=int, default=40)
    parser.add_argument("--guild-votes", type=int, default=150, help="votes per guild member")
    parser.add_argument(
        "--expression-members",
        type=int,
        default=10,
        help="guild members whose taste weighs expression (the others: guild-like)",
    )
    parser.add_argument("--people", type=int, default=3, help="held-out people of each kind")
    parser.add_argument(
        "--spread", type=float, default=0.35, help="how far tastes of a kind differ, per attribute"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--taste-dims", type=int, default=None, help="the taste space's size (default: config)"
    )
    parser.add_argument("--run-folds", type=int, default=1, help="run only the first N folds")
    parser.add_argument("--votes", type=int, nargs="+", default=[10, 30, 100, 300])
    parser.add_argument(
        "--descriptor-only",
        dest="expression",
        action="store_false",
        help="konomi and the baseline read the descriptor alone, not the expression "
        "features beside it as the bot does (model/expression.py; the basis fitted on "
        "each fold's pool)",
    )
    parser.add_argument(
        "--original-people",
        type=int,
        default=1,
        help="people of each kind who also get a CNN from scratch (minutes each)",
    )
    args = parser.parse_args()

    began = time.time()
    stored, descriptors, names, attributes = load(args.data, args.out)
    count = len(stored)
    rng = np.random.default_rng(0)
    expression = args.expression_members
    members = np.concatenate(
        [
            tastes(names, "guild-like", args.guild_members - expression, args.spread, rng),
            tastes(names, "expression-weighted", expression, args.spread, rng),
        ]
    )
    guild_members = [Person(w, attributes, rng) for w in members]
    people = {
        (kind, i): Person(w, attributes, rng)
        for kind in KINDS
        for i, w in enumerate(tastes(names, kind, args.people, args.spread, rng))
    }
    hogs = raw_hogs(stored, args.out / "omi_hogs.npz")[0] if args.expression else None
    folds = np.array_split(rng.permutation(count), args.folds)
    results = Results(METHODS, args.votes)

    for fold, unseen in enumerate(folds[: args.run_folds]):
        seen = np.setdiff1d(np.arange(count), unseen)
        frozen = features(descriptors, hogs, seen, args.expression)  # what both models read
        variants = konomi_variants(stored, frozen, args.taste_dims)
        guild_votes = merge(
            [m.answer(*random_pairs(seen, args.guild_votes, rng)) for m in guild_members]
        )
        print(f"fold {fold}:", end=" ")
        guilds = train_guilds(variants, guild_votes, began)
        for key, person in people.items():
            for n in args.votes:
                own = person.answer(*random_pairs(seen, n, rng))
                tests = {
                    "unseen": person.truth(*test_pairs(unseen)),
                    "seen": person.truth(*test_pairs(seen, own, rng=rng)),
                }
                scores = person_scores(variants, guilds, own, key[1] < args.original_people)
                fitted = ridge(attributes, own)
                scores["attribute ridge (true attributes)"] = {"unseen": fitted, "seen": fitted}
                plain = logistic_scores(frozen, seen, own, rng)
                scores[BASELINE] = {"unseen": plain, "seen": plain}
                for method, values in scores.items():
                    results.add(method, n, values, tests, key)
            print(f"  {key[0]} person {key[1]} done ({time.time() - began:.0f} s)", flush=True)

    lines = [
        f"machine: {machine()}",
        f"OMI: {count} faces, {len(names)} attributes; {args.run_folds} of {args.folds} "
        f"folds (~{count // args.folds} unseen faces each); guild: {args.guild_members} "
        f"members ({args.expression_members} expression-weighted) x {args.guild_votes} "
        f"votes; {args.people} held-out people of each kind "
        f"({args.original_people} of each with the per-person CNN); "
        f"spread {args.spread}; answers {AGREEMENT:.0%} consistent; the bot's config.toml; "
        f"features: the descriptor{' and the HOG blocks' if args.expression else ''}; "
        f"{time.time() - began:.0f} s",
        "",
        "All held-out people:",
        "",
        *results.table(),
    ]
    for kind in KINDS:
        group = [key for key in people if key[0] == kind]
        lines += ["", f"{kind} tastes (unseen faces):", ""]
        lines += results.table(group, splits=("unseen",))
        lines += ["", f"{kind}: konomi beside the plain baseline on the same votes (unseen):", ""]
        lines += results.paired("konomi final scorer", BASELINE, "unseen", group)
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality_omi.md").write_text("\n".join(lines) + "\n")
    results.plot(
        args.out / "quality_omi.png",
        "OMI, simulated tastes: accuracy against votes (Peterson et al. 2022, CC BY-NC-SA 4.0)",
    )


if __name__ == "__main__":
    main()
