"""Pairwise accuracy on real people's taste (Face Research Lab London Set, 2,513 raters).

A rater answers pairs by their own 1-7 ratings (equal: a tie). Folds split the faces
into seen (the pool, ~82) and unseen (~20, like /rank uploads). The guild model trains
on other raters' votes on seen faces. For held-out raters (numbers divisible by 5) at
10 / 30 / 100 / 300 random votes, accuracy on unseen faces and on seen faces the rater
did not compare, for konomi with and without the face descriptor (its final scorer and
the trained personal head), the guild model alone, the original approach (a CNN per
person from scratch), Bradley-Terry on the rater's votes; the consensus of everyone
else's mean rating and chance as references. Every model trains with the bot's
config.toml.

    python bench/quality_london.py [--data ../shared/data] [--out bench/out]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from collections import defaultdict
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
METHODS = [*QUALITY_METHODS, BASELINE, "consensus oracle", "chance"]
FOLD_COLUMNS = [
    ("konomi final scorer", 30),
    ("konomi final scorer", 100),
    ("guild model", 100),
    (BASELINE, 100),
    ("consensus oracle", 100),
]


def load(data: Path, out: Path):
    """Crops at the bot's stored size (256 px), their descriptors, raters, ratings."""
    london = data / "london"
    paths, crops, descriptors = faces_with_descriptors(
        sorted((london / "images").glob("*_03.jpg")), out / "london_faces.npz"
    )
    face_ids = [f"I{p.name[:3]}" for p in paths]
    column = {face: i for i, face in enumerate(face_ids)}
    ratings: dict[str, np.ndarray] = defaultdict(lambda: np.full(len(face_ids), np.nan))
    with gzip.open(london / "ratings.csv.gz", "rt") as stream:
        for row in csv.DictReader(stream):
            if row["face_id"] in column:
                ratings[row["rater_id"]][column[row["face_id"]]] = float(row["rating"])
    raters = sorted(ratings)
    return crops, descriptors, raters, np.stack([ratings[r] for r in raters])


def held_out_and_folds(
    raters: list[str],
    count: int,
    held_out: int,
    folds: int,
    rng: np.random.Generator,
    tuning: bool = False,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The held-out raters (numbers divisible by 5; with `tuning`, the others) and the
    folds of the faces, drawn in this order, so that every London script that draws
    from the same generator gets the same raters and folds."""
    numbers = np.array([int(r[1:]) for r in raters])
    pool = np.flatnonzero((numbers % 5 != 0) if tuning else (numbers % 5 == 0))
    held = np.sort(rng.choice(pool, held_out, replace=False))
    return held, np.array_split(rng.permutation(count), folds)


def answer(rating: np.ndarray, a: np.ndarray, b: np.ndarray):
    from model.pairs import Pairs

    y = np.where(rating[a] > rating[b], 1.0, np.where(rating[a] < rating[b], 0.0, 0.5))
    return Pairs.of(a, b, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--guild-raters", type=int, default=150)
    parser.add_argument("--guild-votes", type=int, default=200)
    parser.add_argument("--held-out", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--taste-dims", type=int, default=None, help="the taste space's size (default: config)"
    )
    parser.add_argument("--votes", type=int, nargs="+", default=[10, 30, 100, 300])
    parser.add_argument("--run-folds", type=int, default=1, help="run only the first N folds")
    parser.add_argument(
        "--original-raters",
        type=int,
        default=3,
        help="held-out raters who also get a CNN from scratch (minutes each)",
    )
    parser.add_argument(
        "--tuning",
        action="store_true",
        help="use tuning raters (numbers not divisible by 5), never the held-out",
    )
    parser.add_argument(
        "--descriptor-only",
        dest="expression",
        action="store_false",
        help="konomi and the baseline read the descriptor alone, not the expression "
        "features beside it as the bot does",
    )
    args = parser.parse_args()

    began = time.time()
    stored, descriptors, raters, table = load(args.data, args.out)
    count = len(stored)
    rng = np.random.default_rng(0)
    held, folds = held_out_and_folds(raters, count, args.held_out, args.folds, rng, args.tuning)
    numbers = np.array([int(r[1:]) for r in raters])
    crowd_pool = np.setdiff1d(np.flatnonzero(numbers % 5 != 0), held)
    hogs = raw_hogs(stored, args.out / "london_hogs.npz")[0] if args.expression else None
    results = Results(METHODS, args.votes)
    fold_lines = [
        "| fold | " + " | ".join(f"{m} @ {n}" for m, n in FOLD_COLUMNS if n in args.votes) + " |",
        "|---" * (1 + sum(n in args.votes for _, n in FOLD_COLUMNS)) + "|",
    ]

    for fold, unseen in enumerate(folds[: args.run_folds]):
        seen = np.setdiff1d(np.arange(count), unseen)
        frozen = features(descriptors, hogs, seen, args.expression)  # what both models read
        variants = konomi_variants(stored, frozen, args.taste_dims)
        crowd = rng.choice(crowd_pool, args.guild_raters, replace=False)
        guild_votes = merge(
            [answer(table[r], *random_pairs(seen, args.guild_votes, rng)) for r in crowd]
        )
        print(f"fold {fold}:", end=" ")
        guilds = train_guilds(variants, guild_votes, began)
        others = np.setdiff1d(np.arange(len(raters)), held)
        this_fold = Results(METHODS, args.votes)
        for place, rater in enumerate(held):
            rating = table[rater]
            consensus = np.nanmean(table[np.setdiff1d(others, [rater])], axis=0)
            for n in args.votes:
                own = answer(rating, *random_pairs(seen, n, rng))
                tests = {
                    "unseen": answer(rating, *test_pairs(unseen)),
                    "seen": answer(rating, *test_pairs(seen, own)),
                }
                scores = person_scores(variants, guilds, own, place < args.original_raters)
                scores["consensus oracle"] = {"unseen": consensus, "seen": consensus}
                plain = logistic_scores(frozen, seen, own, rng)
                scores[BASELINE] = {"unseen": plain, "seen": plain}
                for method, values in scores.items():
                    results.add(method, n, values, tests, rater)
                    this_fold.add(method, n, values, tests, rater)
            print(f"  rater {raters[rater]} done ({time.time() - began:.0f} s)", flush=True)
        fold_lines.append(
            f"| {fold} | "
            + " | ".join(
                f"{this_fold.mean(method, n, 'unseen')[0]:.3f}"
                for method, n in FOLD_COLUMNS
                if n in args.votes
            )
            + " |"
        )
        print(f"fold {fold} done ({time.time() - began:.0f} s)", flush=True)

    lines = [
        f"machine: {machine()}",
        f"London set: {count} faces, {len(raters)} raters; {args.run_folds} of "
        f"{args.folds} folds; guild: {args.guild_raters} other raters x {args.guild_votes} "
        f"votes on seen faces; {len(held)} "
        f"{'tuning' if args.tuning else 'held-out'} raters ({args.original_raters} with the "
        "per-person CNN); the bot's config.toml; features: the descriptor"
        f"{' and the expression features' if args.expression else ''}; "
        f"{time.time() - began:.0f} s",
        "",
        *results.table(),
        "",
        "konomi beside the plain baseline on the same votes (unseen faces):",
        "",
        *results.paired("konomi final scorer", BASELINE, "unseen"),
        "",
        "Each fold's unseen faces alone (20 faces: a fold moves every method together):",
        "",
        *fold_lines,
    ]
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality_london.md").write_text("\n".join(lines) + "\n")
    results.plot(
        args.out / "quality_london.png",
        "London set: accuracy against votes (DeBruine & Jones 2017, CC BY 4.0)",
    )


if __name__ == "__main__":
    main()
