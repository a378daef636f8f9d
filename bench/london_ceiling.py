"""What a taste linear in konomi's face features can reach on the London faces, with
perfect knowledge instead of votes: for the held-out raters and folds of
`bench/quality_london.py` (the same draw), a ridge on the features fitted to a rater's
own 1-7 ratings of every pool face, and one fitted to everyone else's mean rating of
them (the guild's taste, known perfectly), each scored on the rater's pairs of the
unseen faces; beside them, everyone else's mean rating of the unseen faces themselves
(the consensus oracle, which no model of the faces' features gets). Where a rater's
own ceiling is near what konomi reads at 30 votes, more votes have little left to
find. Numpy only, seconds once the descriptors and HOG blocks are cached.

    python bench/london_ceiling.py [--data ../shared/data] [--out bench/out]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, features, machine, raw_hogs  # noqa: E402
from bench.quality import test_pairs  # noqa: E402
from bench.quality_london import answer, held_out_and_folds, load  # noqa: E402
from bench.taste_ceiling import best_linear, pool_design  # noqa: E402

ROWS = (
    "best linear taste on the features, fitted to the rater's own ratings",
    "best linear taste on the features, fitted to everyone else's mean rating",
    "everyone else's mean rating of the unseen faces (consensus oracle)",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--held-out", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--run-folds", type=int, default=5)
    args = parser.parse_args()

    from model.metrics import pairwise_metrics

    crops, descriptors, raters, table = load(args.data, args.out)
    count = len(crops)
    rng = np.random.default_rng(0)  # the raters and folds of bench/quality_london.py
    held, folds = held_out_and_folds(raters, count, args.held_out, args.folds, rng)
    hogs = raw_hogs(crops, args.out / "london_hogs.npz")[0]
    others = np.setdiff1d(np.arange(len(raters)), held)
    accuracies: dict[str, list[float]] = {row: [] for row in ROWS}
    for unseen in folds[: args.run_folds]:
        seen = np.setdiff1d(np.arange(count), unseen)
        design = pool_design(features(descriptors, hogs, seen, True), seen)  # what the bot reads
        guild_ceiling = best_linear(design, seen)  # the pool decomposed once per fold
        for rater in held:
            rating = table[rater]
            consensus = np.nanmean(table[np.setdiff1d(others, [rater])], axis=0)
            rated = seen[np.isfinite(rating[seen])]
            scores = (
                best_linear(design, rated)(np.nan_to_num(rating)),
                guild_ceiling(consensus),
                consensus,
            )
            truth = answer(rating, *test_pairs(unseen))
            for row, score in zip(ROWS, scores, strict=True):
                accuracies[row].append(pairwise_metrics(score, truth).accuracy)

    print(f"machine: {machine()}")
    print(
        f"London set: {count} faces; {args.run_folds} of {args.folds} folds (~20 unseen "
        f"faces each); {len(held)} held-out raters; features: the descriptor and the "
        "expression features, as the bot reads them\n"
    )
    print("| ceiling (no votes: perfect knowledge of the pool faces) | unseen faces |")
    print("|---|---|")
    for row, values in accuracies.items():
        error = np.std(values, ddof=1) / np.sqrt(len(values))
        print(f"| {row} | {np.mean(values):.3f} ± {error:.3f} |")


if __name__ == "__main__":
    main()
