"""Many people's heads as one model: every weight gets a leading axis of people.

A personal head reads the guild trunk's frozen features, so the people of a guild can
be trained side by side: one model, one compiled step per shape, one optimizer step
for everyone. Person p's weights are row p of each array, in the same names and
shapes (after that axis) as the head in model/scorer.py, so a person's slice is
stored and loaded as an ordinary head.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from model.regularizers import PullTowards
from model.scorer import dense_rows_read, head_width
from model.settings import ScorerConfig


class StackedDense(keras.layers.Layer):
    """A Dense layer per person: (P, B, F) -> (P, B, units), person p with kernel[p]."""

    def __init__(
        self,
        people: int,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        regularizer: keras.regularizers.Regularizer | None = None,
        bias_regularizer: keras.regularizers.Regularizer | None = None,
        constraint: keras.constraints.Constraint | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.people, self.units, self.use_bias = people, units, use_bias
        self.activation = keras.activations.get(activation)
        self.regularizer, self.bias_regularizer = regularizer, bias_regularizer
        self.constraint = constraint

    def build(self, input_shape) -> None:
        width = input_shape[-1]
        self.kernel = self.add_weight(
            (self.people, width, self.units),
            name="kernel",
            regularizer=self.regularizer,
            constraint=self.constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                (self.people, self.units),
                name="bias",
                initializer="zeros",
                regularizer=self.bias_regularizer,
            )

    def call(self, inputs):
        out = ops.einsum("pbf,pfu->pbu", inputs, self.kernel)
        if self.use_bias:
            out = out + ops.expand_dims(self.bias, 1)
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)


def build_stacked_head(
    config: ScorerConfig, people: int, anchor: dict[str, np.ndarray], pull: np.ndarray
) -> keras.Model:
    """P heads side by side, person p pulled towards `anchor` (the guild's head) with
    strength `pull[p]`, plus their fixed position in the guild's taste space (set, not
    trained). Input (P, B, features) with P as the batch axis; output (P, B, 1)."""

    def pulled(name: str) -> PullTowards:
        return PullTowards(anchor[name], pull)  # the anchor broadcasts over people

    inputs = keras.Input((None, head_width(config)), name="features")
    x = StackedDense(
        people,
        config.dense_units,
        "relu",
        regularizer=pulled("head_dense/kernel"),
        bias_regularizer=pulled("head_dense/bias"),
        constraint=dense_rows_read(config),
        name="head_dense",
    )(inputs)
    x = keras.layers.Dropout(config.dropout, name="dropout")(x)
    score = StackedDense(
        people,
        1,
        regularizer=pulled("score/kernel"),
        bias_regularizer=pulled("score/bias"),
        name="score",
    )(x)
    linear = StackedDense(people, 1, use_bias=False, name="personal_linear")
    linear.trainable = False  # zeros while heads train: a linear taste is fitted after
    terms = [score, linear(inputs)]
    if config.taste_dims:
        coordinates = StackedDense(people, config.taste_dims, use_bias=False, name="taste_space")
        position = StackedDense(people, 1, use_bias=False, name="taste")
        coordinates.trainable = position.trainable = False
        terms.append(position(coordinates(inputs)))
    return keras.Model(inputs, keras.layers.Add(name="score_terms")(terms), name="stacked_head")


def stack(heads: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """People's head weights -> the stacked model's arrays."""
    return {name: np.stack([head[name] for head in heads]) for name in heads[0]}


def person(stacked: dict[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
    """One person's head out of the stacked model's arrays."""
    return {name: np.array(value[index]) for name, value in stacked.items()}
