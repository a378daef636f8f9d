"""RankNet for many people at once: each person's weighted mean over their own pairs, summed."""

from __future__ import annotations

import keras
from keras import ops

from model.losses.ranknet import ranknet


@keras.saving.register_keras_serializable(package="konomi")
class StackedRankNetLoss(keras.losses.Loss):
    """The loss of P people's models trained side by side (model/stacked.py).

    y_pred: (P, B, 1) scores, person p's B images in row p. y_true: (P, K, 4), person
    p's pairs as [row, column, target, weight] (weight 0 pads a person's list). Each
    person's loss is their weighted mean over pairs, as RankNetLoss gives for one
    person; the people's losses are summed, so each person's gradient is the one
    they would get trained alone.
    """

    def __init__(self, name: str = "stacked_ranknet", **kwargs) -> None:
        kwargs.setdefault("reduction", "sum")
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        scores = ops.reshape(y_pred, ops.shape(y_pred)[:2])
        rows = ops.cast(y_true[..., 0], "int32")
        columns = ops.cast(y_true[..., 1], "int32")
        targets, weights = y_true[..., 2], y_true[..., 3]
        logits = ops.take_along_axis(scores, rows, axis=1) - ops.take_along_axis(
            scores, columns, axis=1
        )
        total = ops.sum(weights * ranknet(logits, targets), axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)
