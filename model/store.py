"""Models as plain data: an architecture name, a JSON config (ModelRecord), and named
arrays in an .npz, read with np.load(allow_pickle=False).

Light: no Keras here, so what only reads a stored model's arrays (the pair choice's
view of the pool, packing a result) does not load it; model/loading.py builds a
stored model into a Keras scorer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from model.metrics import ModelKind
from model.settings import ScorerConfig

_OFFSET_IDS = "__offset_face_ids"
_OFFSET_VALUES = "__offset_values"
_SCORES = "__scores"  # the pool's scores when the model was trained, by _OFFSET_IDS
_COORDINATES = "__taste_coordinates"  # the pool's places in the guild's taste space
_EXPRESSION = "__expression/"  # a guild model's expression basis (model/expression.py)
# How a head reads its features, beyond its settings: 1, every feature; 2, the rows of
# the expression block held at zero (model/constraints.py), so the block shapes a
# person's taste only. Personal heads sit only on a guild model of today's version.
HEAD_VERSION = 2


@dataclass(frozen=True)
class ModelRecord:
    """What a stored model is besides its weights, kept as JSON beside them: the
    scorer's settings it was built with, whose taste it learned, the guild model a
    personal head sits on, and the median of its pool's scores (what `/rank`'s chances
    are measured against)."""

    scorer: ScorerConfig
    kind: ModelKind
    base_model_id: int | None = None
    pool_median: float = 0.0
    head_version: int = HEAD_VERSION

    def to_json(self) -> dict:
        return {
            "scorer": self.scorer.to_json(),
            "kind": str(self.kind),
            "base_model_id": self.base_model_id,
            "pool_median": self.pool_median,
            "head_version": self.head_version,
        }

    @classmethod
    def from_json(cls, data: dict) -> ModelRecord:
        return cls(
            ScorerConfig.from_json(data["scorer"]),
            ModelKind(data["kind"]),
            data.get("base_model_id"),
            float(data.get("pool_median", 0.0)),
            int(data.get("head_version", 1)),  # stored before versions: every feature
        )


def pack(
    weights: dict[str, np.ndarray],
    face_ids: np.ndarray,
    offsets: np.ndarray,
    *,
    scores: np.ndarray | None = None,
    coordinates: np.ndarray | None = None,
    expression_basis: dict[str, np.ndarray] | None = None,
) -> bytes:
    """Weights and per-face offsets (by face id) as compressed .npz bytes; with the
    pool's scores and taste-space coordinates as trained, and the expression basis the
    model's features were projected on, when given."""
    buffer = io.BytesIO()
    arrays = {name: np.asarray(value, np.float32) for name, value in weights.items()}
    arrays[_OFFSET_IDS] = np.asarray(face_ids, np.int64)
    arrays[_OFFSET_VALUES] = np.asarray(offsets, np.float32)
    for name, value in ((_SCORES, scores), (_COORDINATES, coordinates)):
        if value is not None:
            arrays[name] = np.asarray(value, np.float32)
    for name, value in (expression_basis or {}).items():
        arrays[_EXPRESSION + name] = np.asarray(value, np.float32)
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def unpack(data: bytes) -> tuple[dict[str, np.ndarray], dict[int, float]]:
    """(weights, offsets by face id) from .npz bytes; pickled objects are refused."""
    arrays = _arrays(data)
    ids, values = arrays.pop(_OFFSET_IDS), arrays.pop(_OFFSET_VALUES)
    weights = {name: value for name, value in arrays.items() if not name.startswith("__")}
    return weights, {int(i): float(v) for i, v in zip(ids, values, strict=True)}


def expression_basis(data: bytes) -> dict[str, np.ndarray] | None:
    """The expression basis stored with a guild model (None: it has none)."""
    arrays = _arrays(data)
    found = {
        name.removeprefix(_EXPRESSION): value
        for name, value in arrays.items()
        if name.startswith(_EXPRESSION)
    }
    return found or None


@dataclass(frozen=True)
class PoolView:
    """What a model thought of its pool when trained: each face's score and place in
    the taste space (zero wide when the model has none), by face id."""

    scores: dict[int, float]
    coordinates: dict[int, np.ndarray]
    dims: int

    def arrays(self, face_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Scores and taste coordinates of these faces, in their order. A face added
        since the model was trained gets the median score and no place (zeros): it
        counts as unknown."""
        fill = float(np.median(list(self.scores.values()))) if self.scores else 0.0
        blank = np.zeros(self.dims)
        scores = np.array([self.scores.get(face_id, fill) for face_id in face_ids])
        places = [self.coordinates.get(face_id, blank) for face_id in face_ids]
        return scores, np.array(places).reshape(len(face_ids), self.dims)


def pool_view(data: bytes) -> PoolView:
    """The pool as the stored model saw it; empty for models stored without it."""
    arrays = _arrays(data)
    ids = [int(i) for i in arrays[_OFFSET_IDS]]
    scores = arrays.get(_SCORES, np.zeros(0))
    coordinates = arrays.get(_COORDINATES, np.zeros((len(ids), 0)))
    if len(scores) != len(ids):
        return PoolView({}, {}, 0)
    return PoolView(
        dict(zip(ids, scores.astype(float), strict=True)),
        dict(zip(ids, coordinates.astype(float), strict=True)),
        coordinates.shape[1],
    )
