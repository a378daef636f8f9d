"""RankNet (Burges et al. 2005): P(A beats B) = sigmoid(s_A - s_B), cross-entropy on 1, 0, 0.5."""

from __future__ import annotations

import keras
from keras import ops


def ranknet(logits, targets):
    """Elementwise RankNet loss for logit d = s_A - s_B and target y.

    The stable form max(d, 0) - d*y + log(1 + exp(-|d|)) never overflows.
    """
    return ops.maximum(logits, 0.0) - logits * targets + ops.log1p(ops.exp(-ops.abs(logits)))


@keras.saving.register_keras_serializable(package="konomi")
class RankNetLoss(keras.losses.Loss):
    """RankNet over every vote pair among a batch of unique images, each scored once.

    y_pred: (B, 1) scores. y_true: (B, B, 2); [i, j, 0] is the target that image i
    beats image j and [i, j, 1] its weight (the number of votes; 0 where no pair).
    The loss is the weighted mean over pairs.
    """

    def __init__(self, name: str = "ranknet", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        scores = ops.reshape(y_pred, (-1,))
        logits = ops.expand_dims(scores, 1) - ops.expand_dims(scores, 0)
        targets, weights = y_true[..., 0], y_true[..., 1]
        total = ops.sum(weights * ranknet(logits, targets))
        return total / ops.maximum(ops.sum(weights), 1.0)
