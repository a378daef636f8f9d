"""The scorer: a face crop (and its descriptor) to one appeal score, in the Keras 3 API only.

Split into a trunk (convolutions -> embedding) shared by everyone in a guild and a
head (dense -> score) that a person's model may replace. With `descriptor_size` > 0
the head reads the CNN's embedding and the general face descriptor side by side
(model/descriptor.py), then the expression features (`expression_size`,
model/expression.py); a face without them gets zeros there. The head's dense layer
does not read the expression features (its rows for them stay zero): the taste space
and a person's linear term do.
"""

from __future__ import annotations

import keras
import numpy as np

from model.constraints import ZeroRowsFrom
from model.settings import ScorerConfig

ARCHITECTURE = "konomi-cnn-v1"
HEAD_LAYERS = ("head_dense", "score", "taste_space", "taste", "personal_linear")


def build_trunk(config: ScorerConfig) -> keras.Model:
    """Crop (uint8 values as float, 0-255) -> embedding."""
    size = config.input_size
    inputs = keras.Input((size, size, 3), name="crop")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)
    for index, width in enumerate(config.widths):
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv_{index}")(
            x
        )
        if index < len(config.widths) - 1:
            x = keras.layers.MaxPooling2D(2, name=f"pool_{index}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="embedding")(x)
    return keras.Model(inputs, x, name="trunk")


def head_width(config: ScorerConfig) -> int:
    """What the head reads: the CNN's embedding, then the descriptor and expression
    features."""
    return config.widths[-1] + config.features_size


def dense_rows_read(config: ScorerConfig) -> ZeroRowsFrom | None:
    """The head's dense layer reads the embedding and the descriptor, not the
    expression block (model/constraints.py): None when there is no block."""
    if not config.expression_size:
        return None
    return ZeroRowsFrom(config.widths[-1] + config.descriptor_size)


def build_head(config: ScorerConfig, regularizers: dict | None = None) -> keras.Model:
    """Features -> score; `regularizers` maps "head_dense/kernel"-style names to regularizers."""
    regularizers = regularizers or {}
    inputs = keras.Input((head_width(config),), name="embedding_in")
    dense = keras.layers.Dense(
        config.dense_units,
        activation="relu",
        name="head_dense",
        kernel_regularizer=regularizers.get("head_dense/kernel"),
        bias_regularizer=regularizers.get("head_dense/bias"),
        kernel_constraint=dense_rows_read(config),
    )
    x = dense(inputs)
    x = keras.layers.Dropout(config.dropout, name="dropout")(x)
    score = keras.layers.Dense(
        1,
        name="score",
        kernel_regularizer=regularizers.get("score/kernel"),
        bias_regularizer=regularizers.get("score/bias"),
    )(x)
    terms = [score, linear_term(inputs)]
    if config.taste_dims:
        terms.append(taste_term(config, inputs))
    head = keras.Model(inputs, keras.layers.Add(name="score_terms")(terms), name="head")
    if dense.kernel_constraint is not None:  # from the first step on, not after it
        dense.kernel.assign(dense.kernel_constraint(dense.kernel))
    return head


def linear_term(features):
    """The linear term of a person's linear taste on the head's features
    (model/linear_taste.py), set from outside after their head is trained, never by
    gradient steps; zero in the guild model and in a trained head."""
    layer = keras.layers.Dense(
        1, use_bias=False, kernel_initializer="zeros", trainable=False, name="personal_linear"
    )
    return layer(features)


def taste_term(config: ScorerConfig, features):
    """A person's position along the guild's taste directions (model/taste_space.py),
    both set from outside, never moved by gradient steps (a zero position: the guild's
    own taste, as in the guild model itself)."""
    coordinates = keras.layers.Dense(
        config.taste_dims,
        use_bias=False,
        kernel_initializer="zeros",  # no space until the guild's is fitted
        trainable=False,
        name="taste_space",
    )
    position = keras.layers.Dense(
        1, use_bias=False, kernel_initializer="zeros", trainable=False, name="taste"
    )
    return position(coordinates(features))


def build_scorer(config: ScorerConfig) -> keras.Model:
    """The whole scorer: crop (and descriptor) -> score, with the trunk and head as
    its layers. Called with [crops, descriptors] when it has a descriptor input."""
    trunk, head = build_trunk(config), build_head(config)
    crop = keras.Input((config.input_size, config.input_size, 3), name="crop")
    if not config.features_size:
        return keras.Model(crop, head(trunk(crop)), name="scorer")
    descriptor = keras.Input((config.features_size,), name="descriptor")
    features = keras.layers.Concatenate(name="features")([trunk(crop), descriptor])
    return keras.Model([crop, descriptor], head(features), name="scorer")


def scorer_inputs(
    config: ScorerConfig, crops: np.ndarray, descriptors: np.ndarray | None
) -> list[np.ndarray]:
    """The scorer's inputs for these crops: [crops] or [crops, descriptors], float32,
    zeros for a descriptor that is missing."""
    crops = np.asarray(crops, np.float32)
    if not config.features_size:
        return [crops]
    if descriptors is None:
        descriptors = np.zeros((len(crops), config.features_size), np.float32)
    return [crops, np.asarray(descriptors, np.float32)]


def _layer_weights(model: keras.Model) -> dict[str, keras.Variable]:
    found = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.update(_layer_weights(layer))
        for variable in layer.weights:
            found.setdefault(f"{layer.name}/{variable.name}", variable)
    return found


def named_weights(model: keras.Model) -> dict[str, keras.Variable]:
    """Variables keyed by "layer/weight" (e.g. "conv_0/kernel"), nested models flattened."""
    return _layer_weights(model)


def get_weights(model: keras.Model, only_head: bool = False) -> dict[str, np.ndarray]:
    arrays = {}
    for name, variable in named_weights(model).items():
        if only_head and name.split("/")[0] not in HEAD_LAYERS:
            continue
        arrays[name] = np.array(keras.ops.convert_to_numpy(variable), dtype=np.float32)
    return arrays


def set_weights(model: keras.Model, arrays: dict[str, np.ndarray]) -> None:
    """Assign named arrays; every name must exist with the same shape."""
    variables = named_weights(model)
    for name, value in arrays.items():
        if name not in variables:
            raise ValueError(f"weights name an unknown variable: {name}")
        variable = variables[name]
        if tuple(variable.shape) != tuple(value.shape):
            raise ValueError(f"{name}: expected shape {tuple(variable.shape)}, got {value.shape}")
        variable.assign(value)
