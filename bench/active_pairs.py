"""Informative pairs against random pairs at equal votes, on One Million Impressions'
simulated people (as `bench/quality_omi.py` makes them), with konomi's own training.

Each held-out person starts with no votes and is asked pairs in rounds; after each
round every person of an arm is retrained (all together, as the worker does) and the
next round's pairs are chosen from their new model: uniformly at random (the control
arm) or as the voting service chooses them (`model/pair_choice.py`: of 256 random
pairs the person has not seen, the ones their model expects to learn the most from).
Accuracy on unseen faces and on pool faces not compared, at each vote count, and how
many informative votes reach what 100 random votes reach.

    python bench/active_pairs.py [--data ../shared/data] [--out bench/out]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, machine  # noqa: E402
from bench.quality import konomi_variants, random_pairs, test_pairs  # noqa: E402
from bench.quality_omi import KINDS, Person, guild_votes, load, tastes, unseen_split  # noqa: E402

ARMS = ("random", "informative")
CANDIDATES = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--guild-members", type=int, default=40)
    parser.add_argument("--guild-votes", type=int, default=150)
    parser.add_argument("--people", type=int, default=8, help="held-out people of each kind")
    parser.add_argument("--spread", type=float, default=0.35)
    parser.add_argument("--votes", type=int, nargs="+", default=[10, 20, 30, 50, 70, 100])
    args = parser.parse_args()

    from model.metrics import pairwise_metrics
    from model.pair_choice import most_informative
    from model.pairs import Pairs
    from model.training import train_personal_batch

    began = time.time()
    stored, descriptors, names, attributes = load(args.data, args.out)
    count = len(stored)
    rng = np.random.default_rng(0)
    unseen, seen = unseen_split(count, rng)
    konomi = konomi_variants(stored, descriptors)["with"]
    votes, voters = guild_votes(
        names, attributes, seen, args.guild_members, args.guild_votes, args.spread, rng
    )
    guild = konomi.guild(votes, voters).result
    print(f"guild model on {len(votes)} votes ({time.time() - began:.0f} s)", flush=True)
    people = [
        (kind, Person(w, attributes, rng))
        for kind in KINDS
        for w in tastes(names, kind, args.people, args.spread, rng)
    ]
    tests = [
        (person.truth(*test_pairs(unseen)), person.truth(*test_pairs(seen, rng=rng)))
        for _, person in people
    ]
    settings = konomi.settings
    coordinates = guild.coordinates if guild.coordinates is not None else np.zeros((count, 0))
    accuracy: dict[tuple[str, int, str], list[float]] = {}
    for arm in ARMS:
        arm_rng = np.random.default_rng(1)
        asked = [Pairs.of([], [], []) for _ in people]
        scores = [guild.scores] * len(people)  # what each person's model says now
        for target in args.votes:
            for p, (_, person) in enumerate(people):
                step = target - len(asked[p])
                a, b = random_pairs(seen, CANDIDATES * 2, arm_rng)
                known = {frozenset(x) for x in zip(asked[p].a, asked[p].b, strict=True)}
                pairs = zip(a, b, strict=True)
                fresh = [i for i, x in enumerate(pairs) if frozenset(x) not in known]
                a, b = a[fresh][:CANDIDATES], b[fresh][:CANDIDATES]
                if arm == "random":
                    chosen = np.arange(step)
                else:
                    chosen = most_informative(
                        scores[p],
                        coordinates,
                        asked[p],
                        a,
                        b,
                        step,
                        position_prior=settings.taste_position_prior,
                        offset_prior=settings.personal_offset_prior,
                    )
                asked[p] = Pairs.concat(asked[p], person.answer(a[chosen], b[chosen]))
            results = train_personal_batch(
                [
                    konomi.job(
                        "personal", own, base_weights=guild.weights, base_offsets=guild.offsets
                    )
                    for own in asked
                ]
            )
            scores = [result.scores for result in results]
            for p, ((kind, _), result) in enumerate(zip(people, results, strict=True)):
                on_unseen, on_pool = tests[p]
                content = result.scores - result.offsets
                accuracy.setdefault((arm, target, kind), []).append(
                    pairwise_metrics(content, on_unseen).accuracy
                )
                accuracy.setdefault((arm, target, "pool"), []).append(
                    pairwise_metrics(result.scores, on_pool).accuracy
                )
            print(f"  {arm}: {target} votes each ({time.time() - began:.0f} s)", flush=True)

    def mean(arm: str, n: int, kinds=KINDS) -> float:
        return float(np.mean([x for k in kinds for x in accuracy[(arm, n, k)]]))

    lines = [
        f"machine: {machine()}",
        f"OMI: {count} faces ({len(unseen)} unseen); guild: {args.guild_members} members x "
        f"{args.guild_votes} votes; {args.people} held-out people of each kind; "
        f"{CANDIDATES} candidate pairs a choice; the bot's config.toml; "
        f"{time.time() - began:.0f} s",
        "",
        "| pairs | split | " + " | ".join(f"@ {n}" for n in args.votes) + " |",
        "|---|---|" + "---|" * len(args.votes),
    ]
    for arm in ARMS:
        lines.append(
            f"| {arm} | unseen | " + " | ".join(f"{mean(arm, n):.3f}" for n in args.votes) + " |"
        )
        lines.append(
            f"| {arm} | pool | "
            + " | ".join(f"{mean(arm, n, ['pool']):.3f}" for n in args.votes)
            + " |"
        )
    last = args.votes[-1]
    lines.append(f"\nunseen faces at {last} votes, by kind of taste:")
    for kind in KINDS:
        lines.append(
            f"- {kind}: random {mean('random', last, [kind]):.3f}, "
            f"informative {mean('informative', last, [kind]):.3f}"
        )
    goal = mean("random", last)
    curve = [mean("informative", n) for n in args.votes]
    reached = next((n for n, value in zip(args.votes, curve, strict=True) if value >= goal), None)
    lines.append(
        f"\nrandom pairs reach {goal:.3f} on unseen faces at {last} votes; informative "
        + (f"pairs reach it by {reached} votes" if reached else "pairs do not reach it")
    )
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "active_pairs.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
