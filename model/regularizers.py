"""Pulls a personal head towards the guild's, so little data moves it only a little."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


class PullTowards(keras.regularizers.Regularizer):
    """strength * sum((w - anchor)^2): an L2 penalty centred on the guild's weights."""

    def __init__(self, anchor: np.ndarray, strength: float) -> None:
        self.anchor = np.asarray(anchor, dtype=np.float32)
        self.strength = float(strength)

    def __call__(self, x):
        return self.strength * ops.sum(ops.square(x - self.anchor))

    def get_config(self) -> dict:
        return {"anchor": self.anchor.tolist(), "strength": self.strength}
