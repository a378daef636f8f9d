"""The head's constraint: the expression block's rows stay zero, every other row as
trained, for one head and for many people's heads side by side."""

import keras
import numpy as np

from model.constraints import ZeroRowsFrom


def test_the_blocks_rows_are_zero_and_the_others_untouched_for_one_head_and_many():
    rng = np.random.default_rng(0)
    for shape in ((10, 4), (3, 10, 4)):  # a head's kernel; three people's, stacked
        kernel = rng.normal(size=shape).astype(np.float32)
        held = keras.ops.convert_to_numpy(ZeroRowsFrom(6)(keras.ops.convert_to_tensor(kernel)))
        assert np.all(held[..., 6:, :] == 0), shape
        assert np.array_equal(held[..., :6, :], kernel[..., :6, :]), shape
