"""Choosing the taste space's size and the personal pull, on tuning people.

The same OMI guild as `bench/active_pairs.py`, and held-out simulated people drawn
with another seed than the benchmarks' (so the choice is not fitted to the people the
quality tables report). For each number of taste directions (0: none) a guild model
is trained, then every person at 30, 100 and 300 random votes for each personal
pull, all people of a setting trained together. Prints the mean accuracy on unseen
faces of the trained head and of the final scorer (the head the person is served).

    python bench/taste_dims.py [--dims 0 2 4 8 16] [--pulls 0.01 0.03 0.1]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, machine  # noqa: E402
from bench.quality import konomi_variants, random_pairs, test_pairs  # noqa: E402
from bench.quality_omi import KINDS, Person, guild_votes, load, tastes, unseen_split  # noqa: E402

TUNING_SEED = 100  # the benchmarks draw their people from seed 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--dims", type=int, nargs="+", default=[0, 2, 4, 8, 16])
    parser.add_argument("--pulls", type=float, nargs="+", default=[0.01, 0.03, 0.1])
    parser.add_argument("--people", type=int, default=8, help="tuning people of each kind")
    parser.add_argument("--votes", type=int, nargs="+", default=[30, 100, 300])
    args = parser.parse_args()

    from model.metrics import pairwise_metrics
    from model.training import train_personal_batch

    began = time.time()
    stored, descriptors, names, attributes = load(args.data, args.out)
    count = len(stored)
    rng = np.random.default_rng(0)
    unseen, seen = unseen_split(count, rng)
    voted = guild_votes(names, attributes, seen, 40, 150, 0.35, rng)
    tuning = np.random.default_rng(TUNING_SEED)
    people = [
        Person(w, attributes, tuning)
        for kind in KINDS
        for w in tastes(names, kind, args.people, 0.35, tuning)
    ]
    own = {n: [p.answer(*random_pairs(seen, n, tuning)) for p in people] for n in args.votes}
    truths = [person.truth(*test_pairs(unseen)) for person in people]
    lines = [
        f"machine: {machine()}",
        f"OMI guild 40 x 150 votes; {len(people)} tuning people (seed {TUNING_SEED})",
        "",
        "| dims | pull | " + " | ".join(f"head @ {n} | final @ {n}" for n in args.votes) + " |",
        "|---|---|" + "---|---|" * len(args.votes),
    ]
    for dims in args.dims:
        konomi = konomi_variants(stored, descriptors, dims)["with"]
        guild = konomi.guild(*voted).result
        for pull in args.pulls:
            settings = dataclasses.replace(konomi.settings, personal_pull=pull)
            cells = []
            for n in args.votes:
                results = train_personal_batch(
                    [
                        dataclasses.replace(
                            konomi.job(
                                "personal",
                                votes,
                                base_weights=guild.weights,
                                base_offsets=guild.offsets,
                            ),
                            settings=settings,
                        )
                        for votes in own[n]
                    ]
                )
                for served in (False, True):  # the trained head, then the head served
                    accuracy = [
                        pairwise_metrics(
                            r.scores - r.offsets if served else r.personal_scores, truth
                        ).accuracy
                        for r, truth in zip(results, truths, strict=True)
                    ]
                    cells.append(f"{np.mean(accuracy):.3f}")
            lines.append(f"| {dims} | {pull} | " + " | ".join(cells) + " |")
            print(lines[-1], f"({time.time() - began:.0f} s)", flush=True)
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "taste_dims.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
