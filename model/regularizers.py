"""Pulls a personal head towards the guild's, so little data moves it only a little."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


class PullTowards(keras.regularizers.Regularizer):
    """strength * sum((w - anchor)^2): an L2 penalty centred on the guild's weights.

    For stacked heads (model/stacked.py) `strength` may give one value per person: the
    weights' first axis."""

    def __init__(self, anchor: np.ndarray, strength: float | np.ndarray) -> None:
        self.anchor = np.asarray(anchor, dtype=np.float32)
        self.strength = np.asarray(strength, dtype=np.float32)

    def __call__(self, x):
        strength = self.strength
        if strength.ndim:  # one per person: broadcast over the rest of each weight
            strength = np.reshape(strength, (-1,) + (1,) * (len(x.shape) - 1))
        return ops.sum(strength * ops.square(x - self.anchor))

    def get_config(self) -> dict:
        return {"anchor": self.anchor.tolist(), "strength": self.strength.tolist()}
