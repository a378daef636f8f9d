"""Pairwise accuracy on real people's taste (Face Research Lab London Set, 2,513 raters).

A rater answers pairs by their own 1-7 ratings (equal: a tie). Five folds split the
faces into seen (the pool, ~82) and unseen (~20, like /rank uploads). The guild model
trains on other raters' votes on seen faces. For 20 held-out raters (numbers divisible
by 5) at 30 and 100 random votes, accuracy on unseen faces and on seen faces the rater
did not compare, for: the original approach (a CNN per person from scratch),
Bradley-Terry on the rater's votes, the guild model, the personal model, konomi's final
scorer; the consensus of everyone else's mean rating and chance as references.

    python bench/quality_london.py [--data ../shared/data] [--out bench/out]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gzip
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, crops_from_files, descriptors_of, machine  # noqa: E402

METHODS = [
    "per-person CNN (original)",
    "Bradley-Terry, own votes",
    "guild model",
    "personal model",
    "konomi final scorer",
    "consensus oracle",
    "chance",
]


def load(data: Path):
    """Crops at the bot's stored size (256 px), their descriptors, raters, ratings."""
    london = data / "london"
    paths, crops = crops_from_files(sorted((london / "images").glob("*_03.jpg")), size=256)
    face_ids = [f"I{p.name[:3]}" for p in paths]
    column = {face: i for i, face in enumerate(face_ids)}
    ratings: dict[str, np.ndarray] = defaultdict(lambda: np.full(len(face_ids), np.nan))
    with gzip.open(london / "ratings.csv.gz", "rt") as stream:
        for row in csv.DictReader(stream):
            if row["face_id"] in column:
                ratings[row["rater_id"]][column[row["face_id"]]] = float(row["rating"])
    raters = sorted(ratings)
    return crops, descriptors_of(crops), raters, np.stack([ratings[r] for r in raters])


def answer(rating: np.ndarray, a: np.ndarray, b: np.ndarray):
    from model.pairs import Pairs

    y = np.where(rating[a] > rating[b], 1.0, np.where(rating[a] < rating[b], 0.0, 0.5))
    return Pairs.of(a, b, y)


def random_pairs(items: np.ndarray, count: int, rng: np.random.Generator):
    a, b = rng.choice(items, count * 2), rng.choice(items, count * 2)
    keep = np.flatnonzero(a != b)[:count]
    return a[keep], b[keep]


def all_pairs(items: np.ndarray, exclude: set[tuple[int, int]] = frozenset()):
    a, b = np.triu_indices(len(items), 1)
    a, b = items[a], items[b]
    keep = np.array(
        [(x, y) not in exclude and (y, x) not in exclude for x, y in zip(a, b, strict=True)]
    )
    return a[keep], b[keep]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--guild-raters", type=int, default=150)
    parser.add_argument("--guild-votes", type=int, default=200)
    parser.add_argument("--held-out", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--votes", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--run-folds", type=int, default=None, help="run only the first N folds")
    parser.add_argument(
        "--tuning",
        action="store_true",
        help="use tuning raters (numbers not divisible by 5), never the held-out",
    )
    parser.add_argument("--personal-offset-prior", type=float, default=None)
    parser.add_argument(
        "--no-descriptor", action="store_true", help="the CNN alone, as before the descriptor"
    )
    args = parser.parse_args()

    from model.bradley_terry import fit_offsets
    from model.faces import resize_square
    from model.metrics import pairwise_metrics
    from model.pairs import Pairs
    from model.scorer import ScorerConfig, build_scorer, scorer_inputs, set_weights
    from model.training import TrainingJob, TrainSettings, predict, train, train_personal

    began = time.time()
    stored, descriptors, raters, table = load(args.data)
    count = len(stored)
    rng = np.random.default_rng(0)
    numbers = np.array([int(r[1:]) for r in raters])
    held_pool = np.flatnonzero((numbers % 5 != 0) if args.tuning else (numbers % 5 == 0))
    held = np.sort(rng.choice(held_pool, args.held_out, replace=False))
    crowd_pool = np.setdiff1d(np.flatnonzero(numbers % 5 != 0), held)
    settings = TrainSettings(max_epochs=30, patience=4)
    person_settings = TrainSettings(max_epochs=15, patience=3)
    if args.personal_offset_prior is not None:
        person_settings = dataclasses.replace(
            person_settings, personal_offset_prior=args.personal_offset_prior
        )
    config = ScorerConfig(descriptor_size=0 if args.no_descriptor else 128)
    # The CNN's input, downscaled from the stored crops as the bot's training does.
    crops = np.stack([resize_square(crop, config.input_size) for crop in stored])
    inputs = scorer_inputs(config, crops, descriptors)

    def job(kind: str, votes, job_settings, **base):
        return TrainingJob(
            kind, crops, votes, config, job_settings, descriptors=descriptors, **base
        )

    folds = np.array_split(rng.permutation(count), args.folds)
    # results[method][votes][split] -> per-rater lists (averaged over folds later)
    results = {
        m: {n: {"unseen": defaultdict(list), "seen": defaultdict(list)} for n in args.votes}
        for m in METHODS
    }

    for fold, unseen in enumerate(folds[: args.run_folds]):
        seen = np.setdiff1d(np.arange(count), unseen)
        crowd = rng.choice(crowd_pool, args.guild_raters, replace=False)
        guild_pairs = [answer(table[r], *random_pairs(seen, args.guild_votes, rng)) for r in crowd]
        guild_votes = Pairs.of(
            np.concatenate([p.a for p in guild_pairs]),
            np.concatenate([p.b for p in guild_pairs]),
            np.concatenate([p.y for p in guild_pairs]),
        )
        guild = train(job("guild", guild_votes, settings))
        guild_model = build_scorer(config)
        set_weights(guild_model, guild.weights)
        guild_cnn = predict(guild_model, inputs)
        print(
            f"fold {fold}: guild model on {len(guild_votes)} votes, held-out accuracy "
            f"{guild.metrics.final.accuracy:.3f} ({time.time() - began:.0f} s)",
            flush=True,
        )
        others = np.setdiff1d(np.arange(len(raters)), held)
        for rater in held:
            rating = table[rater]
            consensus = np.nanmean(table[np.setdiff1d(others, [rater])], axis=0)
            for n in args.votes:
                own = answer(rating, *random_pairs(seen, n, rng))
                voted = set(zip(own.a.tolist(), own.b.tolist(), strict=True))
                tests = {
                    "unseen": answer(rating, *all_pairs(unseen)),
                    "seen": answer(rating, *all_pairs(seen, voted)),
                }
                scratch = train(job("guild", own, person_settings))
                scratch_model = build_scorer(config)
                set_weights(scratch_model, scratch.weights)
                scratch_cnn = predict(scratch_model, inputs)
                personal = train_personal(
                    job(
                        "personal",
                        own,
                        person_settings,
                        base_weights=guild.weights,
                        base_offsets=guild.offsets,
                    )
                )
                final = personal.scores  # chosen head + the person's offsets
                head_scores = personal.scores - personal.offsets
                bt = fit_offsets(own, count)
                scores = {
                    "per-person CNN (original)": scratch_cnn,
                    "Bradley-Terry, own votes": np.where(
                        np.isin(np.arange(count), own.items()), bt, 0.0
                    ),
                    "guild model": guild_cnn + guild.offsets,
                    "personal model": head_scores,
                    "konomi final scorer": final,
                    "consensus oracle": consensus,
                    "chance": np.zeros(count),
                }
                # New faces have no votes: on them only content scores apply.
                on_unseen = {
                    "guild model": guild_cnn,
                    "konomi final scorer": head_scores,
                    "Bradley-Terry, own votes": np.zeros(count),
                }
                for method, values in scores.items():
                    for split, pairs in tests.items():
                        used = on_unseen.get(method, values) if split == "unseen" else values
                        accuracy = pairwise_metrics(used, pairs).accuracy
                        results[method][n][split][rater].append(accuracy)
            print(f"  rater {raters[rater]} done ({time.time() - began:.0f} s)", flush=True)
        print(f"fold {fold} done ({time.time() - began:.0f} s)", flush=True)

    lines = [
        f"machine: {machine()}",
        f"London set: {count} faces, {len(raters)} raters; "
        f"{'CNN alone' if args.no_descriptor else 'CNN + face descriptor'}; "
        f"{args.folds} folds; guild: "
        f"{args.guild_raters} other raters x {args.guild_votes} votes on seen faces; "
        f"{len(held)} held-out raters; {time.time() - began:.0f} s",
        "",
        "| method | "
        + " | ".join(f"{s} @ {n}" for n in args.votes for s in ("unseen", "seen not compared"))
        + " |",
        "|---|" + "---|" * (2 * len(args.votes)),
    ]
    summary = {}
    for method in METHODS:
        cells = []
        for n in args.votes:
            for split in ("unseen", "seen"):
                per_rater = np.array([np.mean(v) for v in results[method][n][split].values()])
                mean = per_rater.mean()
                error = per_rater.std(ddof=1) / np.sqrt(len(per_rater))
                summary[(method, n, split)] = mean
                cells.append(f"{mean:.3f} ± {error:.3f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    name = "quality_london" + ("_cnn_only" if args.no_descriptor else "")
    (args.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    plot(summary, args.votes, args.out / f"{name}.png")


def plot(summary, votes, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for axis, split, title in zip(
        axes,
        ("unseen", "seen"),
        ("unseen faces (/rank uploads)", "pool faces not compared"),
        strict=True,
    ):
        for method in METHODS:
            axis.plot(votes, [summary[(method, n, split)] for n in votes], marker="o", label=method)
        axis.set_title(title)
        axis.set_xlabel("votes by the rater")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("pairwise accuracy")
    axes[1].legend(fontsize=8)
    figure.suptitle("London set: accuracy against votes (DeBruine & Jones 2017, CC BY 4.0)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
