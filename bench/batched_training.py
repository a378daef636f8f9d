"""Personal models per hour: trained one by one (as a worker did, one job at a time)
against trained together in one pass (`train_personal_batch`), for the same people on
the same pool and guild model, in one run; and each way's mean held-out accuracy.

People's tastes are random directions in the faces' descriptor and colour space, so
some agree with the crowd (whose guild model they start from) and some oppose it;
each casts `--votes` votes on random pairs of the pool.

    python bench/batched_training.py [--people 20 200] [--votes 100] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, descriptors_of, machine  # noqa: E402
from bench.speed import load_crops  # noqa: E402


def votes_for(taste: np.ndarray, count: int, rng: np.random.Generator):
    from model.pairs import Pairs

    a, b = rng.integers(0, len(taste), count), rng.integers(0, len(taste), count)
    keep = a != b
    return Pairs.of(a[keep], b[keep], (taste[a[keep]] > taste[b[keep]]).astype(float))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--votes", type=int, default=100)
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    from model.settings import ScorerConfig, TrainSettings
    from model.training import TrainingJob, train, train_personal, train_personal_batch

    crops = load_crops(args.data, args.faces)
    descriptors = descriptors_of(crops)
    traits = np.concatenate(
        [
            descriptors,
            crops.reshape(len(crops), 8, 10, 8, 10, 3).mean(axis=(2, 4)).reshape(len(crops), -1),
        ],
        axis=1,
    )
    traits = (traits - traits.mean(0)) / (traits.std(0) + 1e-6)
    rng = np.random.default_rng(0)
    crowd = traits @ rng.normal(size=traits.shape[1])
    config, settings = ScorerConfig(), TrainSettings()
    guild = train(
        TrainingJob(
            "guild", crops, votes_for(crowd, 3000, rng), config, settings, descriptors=descriptors
        )
    )
    print(f"machine: {machine()}")
    print(f"pool: {len(crops)} faces; {args.votes} votes a person; guild model trained on 3,000")
    for people in args.people:
        jobs = []
        for _ in range(people):
            taste = 0.5 * crowd / crowd.std() * rng.choice([-1, 1]) + traits @ rng.normal(
                size=traits.shape[1]
            ) / np.sqrt(traits.shape[1])
            jobs.append(
                TrainingJob(
                    "personal",
                    crops,
                    votes_for(taste, args.votes, rng),
                    config,
                    settings,
                    base_weights=guild.weights,
                    base_offsets=guild.offsets,
                    descriptors=descriptors,
                )
            )
        started = time.perf_counter()
        alone = [train_personal(job) for job in jobs]
        one_by_one = time.perf_counter() - started
        started = time.perf_counter()
        together = train_personal_batch(jobs)
        batched = time.perf_counter() - started

        def mean(results) -> float:
            return float(np.mean([r.metrics.final.accuracy for r in results]))

        gap = mean(together) - mean(alone)

        print(
            f"{people} people: one by one {one_by_one:.1f} s ({3600 * people / one_by_one:,.0f} "
            f"models/h), together {batched:.1f} s ({3600 * people / batched:,.0f} models/h); "
            f"ratio {one_by_one / batched:.1f}x; mean held-out accuracy {mean(alone):.3f} one "
            f"by one, {mean(together):.3f} together (difference {gap:+.3f})"
        )


if __name__ == "__main__":
    main()
