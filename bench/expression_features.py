"""What the expression features add to the descriptor, measured without konomi's model:
on the 1,004 OMI faces, (1) how well a ridge reads each rated attribute from the
features (cross-validated R^2), and (2) the plain logistic baseline's accuracy on
unseen faces for simulated tastes of every kind (bench/quality_omi.py's people), with
the descriptor alone and with the HOG blocks beside it (model/expression.py; its PCA
fitted on each split's pool faces only), and other weight-free options beside the
bot's: fewer or more PCA directions per region, the chip's colour (CIELAB mean and
spread in each region), and the whole head (HOG and colour of a wider chip that takes
in the hair, the jaw and the neck). For each feature set, also the best taste linear
in it (fitted to every pool face's true appeal: what no number of votes passes). Also
the cost of the HOG per face.

    python bench/expression_features.py [--data ../shared/data] [--out bench/out]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, features, machine, raw_hogs  # noqa: E402
from bench.quality import random_pairs, test_pairs  # noqa: E402
from bench.quality_omi import KINDS, Person, load, tastes, unseen_split  # noqa: E402
from bench.taste_ceiling import best_linear, pool_design  # noqa: E402
from model.expression import principal_directions  # noqa: E402
from model.linear_taste import logistic_scores  # noqa: E402

ATTRIBUTES = ("happy", "outgoing", "alert", "gender", "age")
FEWER = {"whole": 32, "eyes": 16, "mouth": 16}
MORE = {"whole": 128, "eyes": 64, "mouth": 64}
CEILING = 0  # the column of the best linear taste (no votes: every pool face's appeal)


def region_colours(crops: np.ndarray, cache: Path) -> np.ndarray:
    """Each face's colour on its aligned chip: CIELAB mean and spread in each of the
    HOG's regions (faces x 18; cached). Colour is what gradients ignore: skin tone,
    make-up, lighting."""
    import cv2

    from model.descriptor import aligned_chip
    from model.expression import REGIONS
    from model.settings import DetectorSettings

    if cache.exists():
        return np.load(cache)["colours"]
    rows = []
    for crop in crops:
        lab = cv2.cvtColor(aligned_chip(crop, DetectorSettings().margin), cv2.COLOR_RGB2LAB)
        row = []
        for _, ys, xs, _ in REGIONS:
            patch = lab[ys, xs].reshape(-1, 3).astype(np.float32)
            row += [*patch.mean(0), *patch.std(0)]
        rows.append(row)
    colours = np.array(rows, np.float32)
    np.savez(cache, colours=colours)
    return colours


def whole_heads(crops: np.ndarray, cache: Path) -> np.ndarray:
    """Each face's whole head: the aligned chip with 0.6 of the face's size around it
    (hair, jaw, neck), its HOG at 64 px beside its CIELAB mean on a 4 x 4 grid (faces
    x 1,812; cached)."""
    import cv2

    from model.descriptor import aligned_chip
    from model.settings import DetectorSettings

    if cache.exists():
        return np.load(cache)["heads"]
    hog = cv2.HOGDescriptor((64, 64), (16, 16), (8, 8), (8, 8), 9)
    rows = []
    for crop in crops:
        chip = aligned_chip(crop, DetectorSettings().margin, padding=0.6)
        gray = cv2.resize(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), (64, 64), cv2.INTER_AREA)
        lab = cv2.resize(cv2.cvtColor(chip, cv2.COLOR_RGB2LAB), (4, 4), cv2.INTER_AREA)
        rows.append(np.concatenate([hog.compute(gray).ravel(), lab.ravel() / 255.0]))
    heads = np.array(rows, np.float32)
    np.savez(cache, heads=heads)
    return heads


def principal(block: np.ndarray, pool: np.ndarray, kept: int, variance: float) -> np.ndarray:
    """`block` on its `kept` leading directions over the pool, scaled to `variance` (as
    the bot reduces each HOG region)."""
    mean, directions, scale = principal_directions(block[pool], kept, variance)
    return (block - mean) @ directions.T * scale


def feature_options(descriptors, hogs, colours, heads, pool) -> dict[str, np.ndarray]:
    """The feature sets compared, the bot's among them; every PCA fitted on `pool`."""
    bot = features(descriptors, hogs, pool, True)
    variance = float(descriptors[pool].var(0).sum())
    head = np.concatenate(
        [
            principal(heads[:, :-48], pool, 64, variance),
            principal(heads[:, -48:], pool, 24, variance),
        ],
        axis=1,
    )
    return {
        "descriptor": descriptors,
        "descriptor + HOG (the bot: 64 / 32 / 32 directions)": bot,
        "descriptor + HOG, 32 / 16 / 16 directions": features(descriptors, hogs, pool, True, FEWER),
        "descriptor + HOG, 128 / 64 / 64 directions": features(descriptors, hogs, pool, True, MORE),
        "descriptor + HOG + colour": np.concatenate([bot, colours], axis=1),
        "descriptor + HOG + the whole head (64 + 24 directions)": np.concatenate(
            [bot, head], axis=1
        ),
    }


def ridge_r2(x: np.ndarray, y: np.ndarray, folds: list[np.ndarray], raw=None, desc=None) -> float:
    """Cross-validated R^2 of a ridge (strength 10 on standardized features)."""
    predicted = np.zeros_like(y)
    for held in folds:
        kept = np.setdiff1d(np.arange(len(y)), held)
        data = x if raw is None else features(desc, raw, kept, True)
        mean, scale = data[kept].mean(0), data[kept].std(0) + 1e-6
        z = (data - mean) / scale
        a = z[kept]
        weights = np.linalg.solve(
            a.T @ a + 10 * np.eye(a.shape[1]), a.T @ (y[kept] - y[kept].mean())
        )
        predicted[held] = z[held] @ weights + y[kept].mean()
    return float(1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--people", type=int, default=3, help="people of each kind")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--votes", type=int, nargs="+", default=[30, 100, 300])
    args = parser.parse_args()

    began = time.time()
    crops, descriptors, names, attributes = load(args.data, args.out)
    hogs, hog_ms, descriptor_ms = raw_hogs(crops, args.out / "omi_hogs.npz")
    colours = region_colours(crops, args.out / "omi_colours.npz")
    heads = whole_heads(crops, args.out / "omi_heads.npz")
    rng = np.random.default_rng(0)
    folds = np.array_split(rng.permutation(len(crops)), 5)
    lines = [
        f"machine: {machine()}",
        f"OMI: {len(crops)} faces; HOG of the aligned chip {hog_ms:.1f} ms a face "
        f"(the descriptor: {descriptor_ms:.1f} ms)",
        "",
        "| attribute | R^2, descriptor | R^2, descriptor + HOG |",
        "|---|---|---|",
    ]
    for attribute in ATTRIBUTES:
        y = attributes[:, names.index(attribute)]
        alone = ridge_r2(descriptors, y, folds)
        both = ridge_r2(None, y, folds, raw=hogs, desc=descriptors)
        lines.append(f"| {attribute} | {alone:.2f} | {both:.2f} |")

    accuracy: dict[tuple[str, str, int], list[float]] = {}
    from model.metrics import pairwise_metrics

    for split in range(args.splits):
        unseen, pool = unseen_split(len(crops), rng)
        variants = feature_options(descriptors, hogs, colours, heads, pool)
        ceilings = {name: best_linear(pool_design(x, pool), pool) for name, x in variants.items()}
        for kind in KINDS:
            for weights in tastes(names, kind, args.people, 0.35, rng):
                person = Person(weights, attributes, rng)
                truth = person.truth(*test_pairs(unseen))
                for name, ceiling in ceilings.items():
                    best = pairwise_metrics(ceiling(person.utility), truth).accuracy
                    accuracy.setdefault((name, kind, CEILING), []).append(best)
                for n in args.votes:
                    votes = person.answer(*random_pairs(pool, n, rng))
                    for name, x in variants.items():
                        scores = logistic_scores(x, pool, votes, rng)
                        value = pairwise_metrics(scores, truth).accuracy
                        accuracy.setdefault((name, kind, n), []).append(value)
        print(f"split {split} done ({time.time() - began:.0f} s)", flush=True)

    lines += [
        "",
        f"Plain logistic baseline, unseen faces ({args.people} people of each kind x "
        f"{args.splits} splits):",
        "",
        "| features | kind | "
        + " | ".join(f"@ {n}" for n in args.votes)
        + " | best linear taste (every pool face's appeal) |",
        "|---|---|" + "---|" * (len(args.votes) + 1),
    ]
    for name in variants:
        for kind in (*KINDS, "all"):
            cells = []
            for n in (*args.votes, CEILING):
                values = [
                    v
                    for (m, k, count), vs in accuracy.items()
                    for v in vs
                    if m == name and count == n and kind in (k, "all")
                ]
                cells.append(f"{np.mean(values):.3f}")
            lines.append(f"| {name} | {kind} | " + " | ".join(cells) + " |")
    lines.append(f"\n{time.time() - began:.0f} s")
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "expression_features.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
