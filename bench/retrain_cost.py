"""What a retrain costs on a pool of ~800 faces: a person's model at 100 votes and the
guild model at 6,000 votes, with steps sized to the faces the votes touch (now) and
with every step padded to 512 faces (before), in one run on the same machine; and what
the face descriptor costs per face (at ingest, every face; at /rank, each upload's
largest face), timed on real 256 px face crops.

Timing does not depend on what the faces look like, so the crops and descriptors are
random (seeded); the model, its settings and the trainer are the bot's own.

    python bench/retrain_cost.py [--faces 800]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=800)
    parser.add_argument("--personal-votes", type=int, default=100)
    parser.add_argument("--guild-votes", type=int, default=6000)
    args = parser.parse_args()

    import model.pairs as pairs_module
    from bot.config import load_settings
    from model.pairs import Pairs
    from model.training import TrainingJob, train

    settings = load_settings(Path(__file__).resolve().parents[1] / "config.toml", environ={})
    config, training = settings.model, settings.training
    rng = np.random.default_rng(0)
    size = config.input_size
    crops = rng.integers(0, 256, (args.faces, size, size, 3), dtype=np.uint8)
    descriptors = rng.normal(0, 0.1, (args.faces, config.features_size)).astype(np.float32)
    taste = rng.normal(size=args.faces)

    def votes(count: int, faces: np.ndarray) -> Pairs:
        a, b = rng.choice(faces, count * 2), rng.choice(faces, count * 2)
        keep = np.flatnonzero(a != b)[:count]
        return Pairs.of(a[keep], b[keep], (taste[a[keep]] > taste[b[keep]]).astype(float))

    guild_votes = votes(args.guild_votes, np.arange(args.faces))
    # A person votes on pairs drawn from ~150 faces, as random /vote pairs at 100 votes do.
    personal_votes = votes(args.personal_votes, rng.choice(args.faces, 150, replace=False))
    sized = pairs_module.step_size

    def padded(pairs, item_count, batch_items):
        return min(batch_items, item_count)

    began = time.perf_counter()
    guild = train(
        TrainingJob("guild", crops, guild_votes, config, training, descriptors=descriptors)
    )
    guild_s = time.perf_counter() - began
    personal_s = {}
    for name, step in (("padded to 512 (before)", padded), ("sized to the votes (now)", sized)):
        pairs_module.step_size = step
        began = time.perf_counter()
        train(
            TrainingJob(
                "personal",
                crops,
                personal_votes,
                config,
                training,
                base_weights=guild.weights,
                base_offsets=guild.offsets,
                descriptors=descriptors,
            )
        )
        personal_s[name] = time.perf_counter() - began
    pairs_module.step_size = sized

    print(f"machine: {machine()}")
    print(
        f"pool: {args.faces} faces; [training] max_epochs {training.max_epochs}, "
        f"patience {training.patience}"
    )
    print(
        f"guild retrain, {len(guild_votes)} votes on every face (steps of 512 either way): "
        f"{guild_s:.1f} s, {guild.metrics.timings['epochs']} epochs"
    )
    for name, seconds in personal_s.items():
        print(
            f"personal retrain, {len(personal_votes)} votes on "
            f"{len(personal_votes.items())} faces, {name}: {seconds:.1f} s"
        )
    before, now = personal_s.values()
    print(f"ratio (before / now), personal retrain: {before / now:.2f}x")
    per_face = descriptor_seconds()
    print(
        f"face descriptor: {per_face * 1000:.0f} ms per face (one core): ingest adds that "
        "per face found; /rank per upload, spread over the image helpers"
    )


def descriptor_seconds(rounds: int = 3) -> float:
    """Seconds per face for dlib's descriptor on 256 px crops of real faces (LFW)."""
    from model.descriptor import describe
    from model.settings import DetectorSettings
    from tests.images import lfw_faces

    crops = lfw_faces(256)[:20]
    margin = DetectorSettings().margin
    describe(crops[0], margin)  # loads the models
    began = time.perf_counter()
    for _ in range(rounds):
        for crop in crops:
            describe(crop, margin)
    return (time.perf_counter() - began) / (rounds * len(crops))


if __name__ == "__main__":
    main()
