"""Training pairs/s of konomi's trainer vs a naive Siamese network of the same CNN, and
inference faces/s. Both run here, in one process, on the same crops and pairs.

    python bench/speed.py [--data ../shared/data] [--images 300] [--pairs 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, crops_from_files, machine  # noqa: E402


def load_crops(data: Path, count: int) -> np.ndarray:
    folder = data / "omi" / "images"
    if folder.is_dir():
        paths = sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem))[: count + 10]
        return crops_from_files(paths)[1][:count]
    from tests.images import lfw_crops  # without the shared data: the LFW faces, repeated

    faces = np.stack(lfw_crops())
    return faces[np.arange(count) % len(faces)]


def siamese_pairs_per_s(crops, pairs, config, settings, epochs: int) -> float:
    """The naive reference: the CNN runs twice per pair, once on each side."""
    import keras

    from model.losses import ranknet
    from model.scorer import build_scorer

    scorer = build_scorer(config)
    left = keras.Input(crops.shape[1:])
    right = keras.Input(crops.shape[1:])
    difference = keras.layers.Subtract()([scorer(left), scorer(right)])
    siamese = keras.Model([left, right], difference)
    siamese.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss=lambda y, d: keras.ops.mean(ranknet(d[:, 0], y[:, 0])),
    )
    x = crops.astype(np.float32)
    batch = 32
    seen, seconds = 0, 0.0
    for epoch in range(epochs):
        order = np.random.default_rng(epoch).permutation(len(pairs))
        for start in range(0, len(order) - batch + 1, batch):
            index = order[start : start + batch]
            a, b = pairs.a[index], pairs.b[index]
            began = time.perf_counter()
            siamese.train_on_batch([x[a], x[b]], pairs.y[index, None])
            seconds += time.perf_counter() - began
            seen += batch
    return seen / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    from model.pairs import Pairs
    from model.scorer import ScorerConfig, build_scorer
    from model.training import TrainingJob, TrainSettings, predict, train

    crops = load_crops(args.data, args.images)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(crops), args.pairs * 2), rng.integers(0, len(crops), args.pairs * 2)
    keep = np.flatnonzero(a != b)[: args.pairs]
    pairs = Pairs.of(a[keep], b[keep], rng.integers(0, 2, len(keep)).astype(float))
    # the CNN alone: this measures its throughput
    config = ScorerConfig(descriptor_size=0, expression_size=0)
    settings = TrainSettings(max_epochs=args.epochs, patience=args.epochs, validation_fraction=0.0)

    siamese_pairs_per_s(crops, pairs, config, settings, 1)  # warm-up: tracing
    train(TrainingJob("guild", crops, pairs, config, TrainSettings(max_epochs=1)))
    ours = train(TrainingJob("guild", crops, pairs, config, settings)).metrics.timings
    reference = siamese_pairs_per_s(crops, pairs, config, settings, args.epochs)

    model = build_scorer(config)
    predict(model, crops[:256].astype(np.float32))
    began = time.perf_counter()
    repeats = 5
    for _ in range(repeats):
        predict(model, crops.astype(np.float32))
    faces_per_s = repeats * len(crops) / (time.perf_counter() - began)

    print(f"machine: {machine()}")
    print(f"data: {len(crops)} face crops {crops.shape[1]}x{crops.shape[2]}, {len(pairs)} pairs")
    ours_rate = ours["train_pairs_per_s"]
    print(f"konomi trainer (unique images, in-batch pairs): {ours_rate:8.0f} pairs/s")
    print(f"naive Siamese reference (CNN twice per pair):   {reference:8.0f} pairs/s")
    print(f"ratio: {ours_rate / reference:.1f}x")
    print(f"inference: {faces_per_s:.0f} faces/s")


if __name__ == "__main__":
    main()
