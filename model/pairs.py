"""Vote pairs and batches of unique items with the vote pairs among them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pairs:
    """Votes as indices into an array of items: a[i] vs b[i] with target y[i] (1: a wins)."""

    a: np.ndarray
    b: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, a, b, y) -> Pairs:
        return cls(np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(y, np.float32))

    @classmethod
    def concat(cls, *many: Pairs) -> Pairs:
        """The votes of `many`, one after another."""
        return cls.of(*(np.concatenate([getattr(p, k) for p in many]) for k in "aby"))

    def __len__(self) -> int:
        return len(self.y)

    def take(self, index: np.ndarray) -> Pairs:
        return Pairs(self.a[index], self.b[index], self.y[index])

    def split(self, fraction: float, rng: np.random.Generator) -> tuple[Pairs, Pairs]:
        """(train, held out): a random `fraction` held out, none when fewer than 5 votes."""
        count = len(self)
        held = int(round(count * fraction)) if count >= 5 else 0
        order = rng.permutation(count)
        return self.take(np.sort(order[held:])), self.take(np.sort(order[:held]))

    def items(self) -> np.ndarray:
        return np.unique(np.concatenate([self.a, self.b]))


@dataclass(frozen=True)
class Batch:
    items: np.ndarray  # (B,) indices of the unique items scored this step
    targets: np.ndarray  # (B, B, 2): target that row beats column, and the vote weight
    pair_count: int


def _pack(
    pairs: Pairs,
    order: np.ndarray,
    item_count: int,
    batch_items: int,
    batch_pairs: int,
    rng: np.random.Generator,
) -> tuple[Batch, np.ndarray]:
    """One batch from the pairs in `order`; returns it and the pairs left over.

    Pairs are taken in order while their items fit; then every other pair whose two
    items are already in the batch joins it (up to `batch_pairs`): those cost nothing,
    since each item is scored once however many pairs it is in.
    """
    slots: dict[int, int] = {}
    taken = np.zeros(len(order), bool)
    count = 0
    for position, pair in enumerate(order):
        if count >= batch_pairs:
            break
        a, b = int(pairs.a[pair]), int(pairs.b[pair])
        new = {a, b} - slots.keys()
        if len(slots) + len(new) > batch_items:
            break
        for item in sorted(new):
            slots[item] = len(slots)
        taken[position] = True
        count += 1
    inside = np.zeros(item_count, bool)
    inside[list(slots)] = True
    free = np.flatnonzero(~taken & inside[pairs.a[order]] & inside[pairs.b[order]])
    taken[free[: max(0, batch_pairs - count)]] = True
    chosen = order[taken]

    filler = rng.permutation(item_count)
    filler = filler[~inside[filler]][: batch_items - len(slots)]
    items = np.concatenate([np.fromiter(slots, np.int64, len(slots)), filler]).astype(np.int64)
    position_of = np.full(item_count, -1)
    position_of[items] = np.arange(len(items))
    rows, cols = position_of[pairs.a[chosen]], position_of[pairs.b[chosen]]
    y = pairs.y[chosen]
    # Each vote enters as (a beats b, y) and (b beats a, 1 - y); repeated pairs average.
    weight = np.zeros((batch_items, batch_items), np.float32)
    total = np.zeros((batch_items, batch_items), np.float32)
    np.add.at(weight, (rows, cols), 1.0)
    np.add.at(weight, (cols, rows), 1.0)
    np.add.at(total, (rows, cols), y)
    np.add.at(total, (cols, rows), 1.0 - y)
    targets = np.stack(
        [np.divide(total, weight, out=np.zeros_like(total), where=weight > 0), weight], axis=-1
    )
    return Batch(items, targets, len(chosen)), order[~taken]


SMALLEST_STEP = 32  # step sizes are powers of two from here up to `batch_items`


def traced_size(count: int) -> int:
    """`count` rounded up to a power of two, at least SMALLEST_STEP: the few shapes a
    compiled step or prediction is traced for."""
    return max(SMALLEST_STEP, 1 << (count - 1).bit_length())


def step_size(pairs: Pairs, item_count: int, batch_items: int) -> int:
    """Items per step: enough for the faces the votes touch, rounded up to a power of
    two (a few fixed shapes keep tracing bounded), at most `batch_items` and the pool.
    A person's 100 votes touch ~150 faces: their steps score 256, not 512."""
    touched = len(pairs.items())
    return min(traced_size(min(touched, batch_items)), batch_items, item_count)


def plan_batches(
    pairs: Pairs,
    item_count: int,
    batch_items: int,
    rng: np.random.Generator,
    *,
    batch_pairs: int = 1024,
    min_batches: int = 1,
) -> list[Batch]:
    """One epoch: every vote once, in batches of one fixed number of unique items
    (`step_size`: the faces the votes touch, rounded up, at most `batch_items`).

    Each step scores every item of its batch once and takes the loss over every
    vote pair among them; batches are padded with other items (weight 0) to one
    fixed shape, so the compiled step is traced once. Small vote sets are
    repeated (reshuffled) until the epoch has `min_batches` steps.
    """
    batch_items = step_size(pairs, item_count, batch_items)
    batches: list[Batch] = []
    while len(pairs) and (not batches or len(batches) < min_batches):
        order = rng.permutation(len(pairs))
        while len(order):
            batch, order = _pack(pairs, order, item_count, batch_items, batch_pairs, rng)
            batches.append(batch)
    return batches
