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


def plan_batches(
    pairs: Pairs, item_count: int, batch_items: int, rng: np.random.Generator
) -> list[Batch]:
    """Pack shuffled pairs into batches of exactly `batch_items` unique items.

    Each step then scores every item once and takes the loss over every vote pair
    among them; batches are padded with other items (weight 0) to one fixed shape,
    so the compiled step is traced once.
    """
    batch_items = min(batch_items, item_count)
    batches = []
    order = rng.permutation(len(pairs))
    position = 0
    while position < len(order):
        slots: dict[int, int] = {}
        chosen = []
        while position < len(order):
            pair = order[position]
            a, b = int(pairs.a[pair]), int(pairs.b[pair])
            new = {a, b} - slots.keys()
            if len(slots) + len(new) > batch_items:
                break
            for item in sorted(new):
                slots[item] = len(slots)
            chosen.append(pair)
            position += 1
        filler = rng.permutation(item_count)
        filler = filler[~np.isin(filler, list(slots))][: batch_items - len(slots)]
        items = np.concatenate([np.fromiter(slots, np.int64, len(slots)), filler]).astype(np.int64)
        targets = np.zeros((batch_items, batch_items, 2), np.float32)
        for pair in chosen:
            i, j, y = slots[int(pairs.a[pair])], slots[int(pairs.b[pair])], pairs.y[pair]
            # Each vote enters as (i beats j, y) and (j beats i, 1 - y), averaged by weight.
            for row, col, target in ((i, j, y), (j, i, 1.0 - y)):
                weight = targets[row, col, 1]
                targets[row, col, 0] = (targets[row, col, 0] * weight + target) / (weight + 1)
                targets[row, col, 1] = weight + 1
        batches.append(Batch(items, targets, len(chosen)))
    return batches
