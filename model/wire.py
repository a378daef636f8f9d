"""Training jobs and their results as bytes, for workers on other machines.

msgpack with every array as raw little-endian bytes plus its dtype and shape:
nothing in a message is ever executed (no pickle), every size is checked before
anything is decoded, and a malformed message is a WireError with its reason. A
job names its pool by content hash instead of carrying it: the pool's crops and
descriptors travel once per pool version (`encode_pool`), and workers cache them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np

from model.metrics import ModelKind, ModelMetrics
from model.pairs import Pairs
from model.settings import ScorerConfig, TrainSettings
from model.training import TrainingJob, TrainingResult

FORMAT = 1
_DTYPES = {"|u1", "<f4", "<f8", "<i8"}


class WireError(ValueError):
    """A message that is not a konomi job or result; the text says what is wrong."""


def pool_key(pool: bytes) -> str:
    """The pool's name on the wire: its content hash (same faces, same key)."""
    return hashlib.sha256(pool).hexdigest()


def _array(value: np.ndarray) -> dict[str, Any]:
    value = np.ascontiguousarray(value)
    if value.dtype.str not in _DTYPES:
        value = value.astype(np.float32 if value.dtype.kind == "f" else np.int64)
    return {"dtype": value.dtype.str, "shape": list(value.shape), "data": value.tobytes()}


def _from_array(message: Any) -> np.ndarray:
    if not isinstance(message, dict) or set(message) != {"dtype", "shape", "data"}:
        raise WireError("an array must be {dtype, shape, data}")
    dtype, shape, data = message["dtype"], message["shape"], message["data"]
    if dtype not in _DTYPES:
        raise WireError(f"array dtype {dtype!r} is not one of {sorted(_DTYPES)}")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise WireError("an array's shape must be a list of sizes")
    if not isinstance(data, bytes) or len(data) != int(np.prod(shape)) * np.dtype(dtype).itemsize:
        raise WireError(f"an array of shape {shape} and dtype {dtype} has the wrong byte count")
    return np.frombuffer(data, dtype).reshape(shape).copy()


def _arrays(values: dict[str, np.ndarray] | None) -> dict[str, Any] | None:
    return None if values is None else {name: _array(v) for name, v in values.items()}


def _from_arrays(message: Any) -> dict[str, np.ndarray] | None:
    if message is None:
        return None
    if not isinstance(message, dict) or not all(isinstance(k, str) for k in message):
        raise WireError("named arrays must be a map of names to arrays")
    return {name: _from_array(value) for name, value in message.items()}


def _optional(value: np.ndarray | None) -> dict[str, Any] | None:
    return None if value is None else _array(value)


def _from_optional(message: Any) -> np.ndarray | None:
    return None if message is None else _from_array(message)


def _pack(message: dict[str, Any]) -> bytes:
    return msgpack.packb({"format": FORMAT, **message}, use_bin_type=True)


def _unpack(data: Any, max_bytes: int, what: str) -> dict[str, Any]:
    if not isinstance(data, bytes):
        raise WireError(f"a {what} must be bytes, not {type(data).__name__}")
    if len(data) > max_bytes:
        raise WireError(f"a {what} of {len(data):,} bytes is over the limit of {max_bytes:,}")
    try:
        message = msgpack.unpackb(data, raw=False, strict_map_key=True, ext_hook=_no_ext)
    except WireError:
        raise
    except Exception as error:  # msgpack raises several types for broken input
        raise WireError(f"a {what} that is not valid msgpack: {error}") from None
    if not isinstance(message, dict) or message.get("format") != FORMAT:
        raise WireError(f"not a konomi {what} of format {FORMAT}")
    return message


def _no_ext(code: int, data: bytes) -> None:
    raise WireError(f"msgpack extension type {code} is not accepted")


def encode_pool(crops: np.ndarray, descriptors: np.ndarray | None) -> bytes:
    """A pool's crops (at the CNN's input size) and descriptors."""
    return _pack({"crops": _array(crops), "descriptors": _optional(descriptors)})


def decode_pool(data: bytes, max_bytes: int) -> tuple[np.ndarray, np.ndarray | None]:
    message = _unpack(data, max_bytes, "pool")
    try:
        crops, descriptors = _from_array(message["crops"]), _from_optional(message["descriptors"])
    except KeyError as error:
        raise WireError(f"a pool without {error}") from None
    if crops.ndim != 4 or crops.dtype != np.uint8:
        raise WireError("a pool's crops must be (N, S, S, 3) uint8")
    if descriptors is not None and len(descriptors) != len(crops):
        raise WireError("a pool needs one descriptor per crop")
    return crops, descriptors


def encode_job(
    steps: list[TrainingJob], pool: str, face_ids: list[int], job_ids: list[int] = ()
) -> bytes:
    """Jobs trained in order on the pool named `pool`, without their crops. A personal
    step without base weights starts from the result of the guild step before it;
    base weights that are the previous step's travel once (people trained together
    share the guild model). `face_ids` (the pool's, in crop order) and `job_ids` (the
    sender's, one per last step) come back with the results unchanged."""
    previous = None

    def base(step: TrainingJob) -> dict | str | None:
        nonlocal previous
        shared = previous is not None and step.base_weights is previous
        previous = step.base_weights
        return "previous" if shared else _arrays(step.base_weights)

    return _pack(
        {
            "pool": pool,
            "face_ids": _array(np.asarray(face_ids, np.int64)),
            "job_ids": [int(i) for i in job_ids],
            "steps": [
                {
                    "kind": step.kind,
                    "pairs": {
                        "a": _array(step.pairs.a),
                        "b": _array(step.pairs.b),
                        "y": _array(step.pairs.y),
                    },
                    "scorer": step.scorer.to_json(),
                    "settings": step.settings.to_json(),
                    "base_weights": base(step),
                    "base_offsets": _optional(step.base_offsets),
                    "voters": _optional(step.voters),
                }
                for step in steps
            ],
        }
    )


def decode_job(
    data: bytes,
    max_bytes: int,
    load_pool: Callable[[str], tuple[np.ndarray, np.ndarray | None]],
) -> tuple[list[TrainingJob], np.ndarray, list[int]]:
    """The steps of a job, on the crops `load_pool` returns for its pool key, the pool's
    face ids and the sender's job ids."""
    message = _unpack(data, max_bytes, "job")
    try:
        key, steps = message["pool"], message["steps"]
        if not isinstance(key, str) or not isinstance(steps, list) or not steps:
            raise WireError("a job needs a pool key and at least one step")
        face_ids = _from_array(message["face_ids"])
        job_ids = [int(i) for i in message.get("job_ids", [])]
        if len(job_ids) > len(steps):
            raise WireError("more job ids than steps")
        parsed = [_step(step) for step in steps]
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, WireError):
            raise
        raise WireError(f"a malformed job step: {error!r}") from None
    crops, descriptors = load_pool(key)
    jobs = []
    for kind, pairs, scorer, settings, weights, offsets, voters in parsed:
        if weights == "previous":
            if not jobs or jobs[-1].base_weights is None:
                raise WireError("a step shares base weights with a step that has none")
            weights = jobs[-1].base_weights
        if kind not in tuple(ModelKind):
            raise WireError(f"unknown job kind {kind!r}")
        kind = ModelKind(kind)
        if len(pairs) and max(pairs.a.max(), pairs.b.max()) >= len(crops):
            raise WireError("a vote names a face outside the pool")
        if offsets is not None and len(offsets) != len(crops):
            raise WireError("base offsets need one value per pool face")
        if voters is not None and len(voters) != len(pairs):
            raise WireError("voters need one member per vote")
        if scorer.features_size and (
            descriptors is None or descriptors.shape[1:] != (scorer.features_size,)
        ):
            raise WireError(f"the scorer reads {scorer.features_size} features a face")
        if (
            kind == ModelKind.PERSONAL
            and weights is None
            and not any(j.kind == ModelKind.GUILD for j in jobs)
        ):
            raise WireError("a personal step needs base weights or a guild step before it")
        jobs.append(
            TrainingJob(
                kind,
                crops,
                pairs,
                scorer,
                settings,
                weights,
                offsets,
                descriptors if scorer.features_size else None,
                voters,
            )
        )
    if face_ids.shape != (len(crops),):
        raise WireError("a job needs one face id per pool face")
    return jobs, face_ids, job_ids


def _step(step: dict) -> tuple:
    pairs = Pairs.of(*(_from_array(step["pairs"][k]) for k in ("a", "b", "y")))
    if not (len(pairs.a) == len(pairs.b) == len(pairs.y)) or (len(pairs) and pairs.a.min() < 0):
        raise WireError("vote pairs must be three arrays of one length, of face indices")
    return (
        step["kind"],
        pairs,
        ScorerConfig.from_json(step["scorer"]),
        TrainSettings.from_json(step["settings"]),
        "previous" if step["base_weights"] == "previous" else _from_arrays(step["base_weights"]),
        _from_optional(step["base_offsets"]),
        _from_optional(step.get("voters")),
    )


def encode_results(
    steps: list[TrainingJob],
    results: list[TrainingResult],
    face_ids: np.ndarray,
    job_ids: list[int] = (),
) -> bytes:
    """Each step's result with the model settings it was trained with, and the job's
    face ids and job ids: the bot stores them without asking what its pool is now."""
    return _pack(
        {
            "face_ids": _array(face_ids),
            "job_ids": list(job_ids),
            "results": [
                {
                    "scorer": step.scorer.to_json(),
                    "weights": _arrays(r.weights),
                    "offsets": _array(r.offsets),
                    "scores": _array(r.scores),
                    "metrics": r.metrics.to_json(),
                    "personal_head": _arrays(r.personal_head),
                    "personal_scores": _optional(r.personal_scores),
                    "coordinates": _optional(r.coordinates),
                }
                for step, r in zip(steps, results, strict=True)
            ],
        }
    )


def encode_refusal(reason: str) -> bytes:
    """A worker's answer to a job it cannot run (malformed, too large, pool gone)."""
    return _pack({"refused": reason})


def decode_results(
    data: Any, max_bytes: int
) -> tuple[list[tuple[ScorerConfig, TrainingResult]], list[int], list[int]]:
    """Results of a job's steps in order, each with its model settings, the pool's face
    ids and the job ids it was sent with; a worker's refusal is a WireError with its
    reason."""
    message = _unpack(data, max_bytes, "result")
    if "refused" in message:
        raise WireError(f"the worker refused the job: {message['refused']}")
    try:
        face_ids = [int(i) for i in _from_array(message["face_ids"])]
        job_ids = [int(i) for i in message.get("job_ids", [])]
        results = [
            (
                ScorerConfig.from_json(r["scorer"]),
                TrainingResult(
                    _from_arrays(r["weights"]),
                    _from_array(r["offsets"]),
                    _from_array(r["scores"]),
                    ModelMetrics.from_json(r["metrics"]),
                    _from_arrays(r["personal_head"]),
                    _from_optional(r["personal_scores"]),
                    _from_optional(r.get("coordinates")),
                ),
            )
            for r in message["results"]
        ]
    except (KeyError, TypeError) as error:
        raise WireError(f"a malformed result: {error!r}") from None
    for _, result in results:
        if result.offsets.shape != (len(face_ids),) or result.metrics.kind not in tuple(ModelKind):
            raise WireError("a result needs one offset per pool face and a known kind")
        if result.coordinates is not None and len(result.coordinates) != len(face_ids):
            raise WireError("a result's taste coordinates need one row per pool face")
    return results, face_ids, job_ids
