"""A stored model built into a Keras scorer, and the cache /rank keeps them in.

Loading builds the architecture from code and assigns arrays; nothing stored is
ever executed (np.load with allow_pickle=False, no Lambda layers, no Keras files).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import keras
import numpy as np

from model.expression import ExpressionPCA, with_expression
from model.faces import resize_square
from model.scorer import ARCHITECTURE, ScorerConfig, build_scorer, scorer_inputs, set_weights
from model.store import expression_basis, unpack
from model.training import predict


class UnknownArchitecture(ValueError):
    pass


@dataclass
class LoadedScorer:
    """A ready scorer: the model, the per-face offsets of the faces with votes, and the
    expression basis of its guild model (None: the model reads no expression)."""

    model: keras.Model
    offsets: dict[int, float]
    config: ScorerConfig
    basis: ExpressionPCA | None = None

    def score_crops(
        self,
        crops: np.ndarray,
        descriptors: np.ndarray | None = None,
        expressions: np.ndarray | None = None,
    ) -> np.ndarray:
        """Content scores of faces (uint8 crops, any size, their descriptors and raw
        expression HOGs: zeros for a face without them), without what votes taught
        about pool faces."""
        size = self.config.input_size
        crops = np.stack([resize_square(crop, size) for crop in crops])
        if descriptors is not None and self.config.expression_size:
            descriptors = with_expression(descriptors, expressions, self.basis)
        return predict(self.model, scorer_inputs(self.config, crops, descriptors))

    def score_pool(
        self,
        face_ids: list[int],
        crops: np.ndarray,
        descriptors: np.ndarray | None = None,
        expressions: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores of pool faces: content score plus what votes taught about each face."""
        offsets = np.array([self.offsets.get(face_id, 0.0) for face_id in face_ids])
        return self.score_crops(crops, descriptors, expressions) + offsets


def load_scorer(
    architecture: str,
    config: dict,
    weights_npz: bytes,
    base_weights_npz: bytes | None = None,
) -> LoadedScorer:
    """Build a stored model. A personal model stores only its head: its guild
    model's weights (and expression basis) come as `base_weights_npz`."""
    if architecture != ARCHITECTURE:
        raise UnknownArchitecture(f"unknown model architecture {architecture!r}")
    scorer_config = ScorerConfig.from_json(config)
    model = build_scorer(scorer_config)
    weights, offsets = unpack(weights_npz)
    if base_weights_npz is not None:
        base, _ = unpack(base_weights_npz)
        set_weights(model, base)
    set_weights(model, weights)
    basis = expression_basis(base_weights_npz or weights_npz)
    return LoadedScorer(
        model, offsets, scorer_config, ExpressionPCA.from_arrays(basis) if basis else None
    )


class ScorerCache:
    """Least-recently-used loaded scorers, so /rank does not rebuild one per request."""

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, LoadedScorer] = OrderedDict()
        self.loads = 0

    def get(self, key: Hashable, load: Callable[[], LoadedScorer]) -> LoadedScorer:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        scorer = load()
        self.loads += 1
        self._items[key] = scorer
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return scorer
