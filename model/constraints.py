"""Weight constraints of the scorer's head."""

from __future__ import annotations

import keras
from keras import ops


class ZeroRowsFrom(keras.constraints.Constraint):
    """Holds a kernel's input rows from `start` on at zero (its features x units
    matrix, or one per person): the head's dense layer does not read the expression
    block. On neutral portraits a head that read it fitted the pool's faces and lost
    0.021 on new ones (bench/README.md); the person's linear taste reads the block,
    as far as cross-validation on their votes finds that it pays."""

    def __init__(self, start: int) -> None:
        self.start = start

    def __call__(self, kernel):
        rows = ops.arange(ops.shape(kernel)[-2])
        return kernel * ops.expand_dims(ops.cast(rows < self.start, kernel.dtype), -1)

    def get_config(self) -> dict:
        return {"start": self.start}
