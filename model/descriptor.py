"""A general face descriptor beside the CNN: dlib's ResNet face embedding (128 numbers),
from the models that ship inside the `face_recognition_models` package (CC0).

Only two of its files are ever loaded: `shape_predictor_5_face_landmarks.dat` (five
landmarks to align the face) and `dlib_face_recognition_resnet_model_v1.dat`. The
package also holds a 68-landmark model under a non-commercial licence: never loaded.

A descriptor is taken from a pool crop or an upload's crop, which both have the same
geometry (`crop_square`: the detector's box plus `margin` on each side), so pool
faces and uploads are described alike.
"""

from __future__ import annotations

import threading
from importlib import resources

import numpy as np

DESCRIPTOR_SIZE = 128
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
EMBEDDING_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
MODEL_FILES = (SHAPE_MODEL, EMBEDDING_MODEL)

# dlib's models are loaded on first use, once per thread; nothing is loaded when this
# module is imported. The image helpers' forkserver loads them once for all helpers.
_loaded = threading.local()


def model_path(name: str) -> str:
    if name not in MODEL_FILES:
        raise ValueError(f"konomi loads only {MODEL_FILES}, not {name}")
    return str(resources.files("face_recognition_models") / "models" / name)


def load_models():
    if not hasattr(_loaded, "models"):
        import dlib

        _loaded.models = (
            dlib.shape_predictor(model_path(SHAPE_MODEL)),
            dlib.face_recognition_model_v1(model_path(EMBEDDING_MODEL)),
        )
    return _loaded.models


def _landmarks(crop: np.ndarray, margin: float):
    """The crop's pixels and the five landmarks found in its face's box."""
    import dlib

    predictor, _ = load_models()
    side = crop.shape[0]
    face = side / (1.0 + 2.0 * margin)
    start = int(round((side - face) / 2))
    box = dlib.rectangle(start, start, start + int(round(face)), start + int(round(face)))
    pixels = np.ascontiguousarray(crop[:, :, :3], dtype=np.uint8)
    return pixels, predictor(pixels, box)


def describe(crop: np.ndarray, margin: float) -> np.ndarray:
    """128 float32 numbers for the face of a square uint8 RGB crop cut with `margin`:
    five landmarks found in the face's box, the face aligned to dlib's 150 px chip,
    and the ResNet's embedding of it (faces of one person lie within about 0.6)."""
    _, embedder = load_models()
    pixels, landmarks = _landmarks(crop, margin)
    return _embedding(embedder, pixels, landmarks)


def _embedding(embedder, pixels: np.ndarray, landmarks) -> np.ndarray:
    return np.asarray(embedder.compute_face_descriptor(pixels, landmarks), dtype=np.float32)


def aligned_chip(
    crop: np.ndarray, margin: float, size: int = 150, padding: float = 0.25
) -> np.ndarray:
    """The face of a crop aligned on its five landmarks (eyes level, the same place in
    every chip), as dlib's embedding sees it: a `size` px uint8 RGB square; a larger
    `padding` (a share of the face's size) takes in more of the head around it."""
    return _chip(*_landmarks(crop, margin), size, padding)


def _chip(pixels: np.ndarray, landmarks, size: int, padding: float = 0.25) -> np.ndarray:
    import dlib

    chip = dlib.get_face_chip(pixels, landmarks, size=size, padding=padding)
    return np.asarray(chip, dtype=np.uint8)


def describe_and_align(
    crop: np.ndarray, margin: float, size: int = 150
) -> tuple[np.ndarray, np.ndarray]:
    """The descriptor and the aligned chip of one crop, from one landmark search."""
    _, embedder = load_models()
    pixels, landmarks = _landmarks(crop, margin)
    return _embedding(embedder, pixels, landmarks), _chip(pixels, landmarks, size)


def pack_descriptor(values: np.ndarray) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def unpack_descriptor(data: bytes | None) -> np.ndarray | None:
    if data is None:
        return None
    values = np.frombuffer(data, dtype="<f4")
    if values.shape != (DESCRIPTOR_SIZE,) or not np.isfinite(values).all():
        raise ValueError("a stored face descriptor must be 128 finite float32 numbers")
    return values.astype(np.float32)


def stack_rows(rows: list[np.ndarray | None], size: int) -> np.ndarray:
    """(N, size) float32 for the scorer, zeros for a face without the row (not
    described yet, or refused by dlib): such a face still scores."""
    empty = np.zeros(size, np.float32)
    return np.stack([empty if row is None else row for row in rows]).astype(np.float32)


def stack_descriptors(descriptors: list[np.ndarray | None]) -> np.ndarray:
    return stack_rows(descriptors, DESCRIPTOR_SIZE)
