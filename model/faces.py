"""Face detection with OpenCV cascades, square crops with margin, perceptual hashes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.images import ImageError
from model.settings import DetectorSettings

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"


class NoFaceFound(ImageError):
    pass


@dataclass(frozen=True)
class FaceCrop:
    pixels: np.ndarray  # crop_size x crop_size x 3, uint8 RGB
    box: tuple[int, int, int, int]  # x, y, w, h in the source image
    frame_s: float | None = None  # where in a video it was found
    descriptor: np.ndarray | None = None  # model/descriptor.py, when it was taken
    expression: np.ndarray | None = None  # model/expression.py's raw HOG, taken with it


class DetectionFailed(ImageError):
    pass


# One classifier per thread: an OpenCV CascadeClassifier is not safe to share
# between threads, and one that raised may be left unusable.
_classifiers = threading.local()


def _cascade(path: str) -> cv2.CascadeClassifier:
    cache: dict[str, cv2.CascadeClassifier] = _classifiers.__dict__.setdefault("by_path", {})
    if path not in cache:
        resolved = path or str(Path(cv2.data.haarcascades) / DEFAULT_CASCADE)
        if not Path(resolved).is_file():
            raise FileNotFoundError(f"face cascade not found: {resolved}")
        try:
            classifier = cv2.CascadeClassifier(resolved)
        except (cv2.error, SystemError):  # OpenCV raises on some malformed XML
            classifier = None
        if classifier is None or classifier.empty():
            raise ValueError(f"not a valid OpenCV cascade file: {resolved}")
        cache[path] = classifier
    return cache[path]


def check_cascade(settings: DetectorSettings) -> None:
    """Raise FileNotFoundError or ValueError for a missing or broken cascade file."""
    _cascade(settings.cascade)


def detect_faces(rgb: np.ndarray, settings: DetectorSettings) -> list[tuple[int, int, int, int]]:
    """Boxes of the faces in an image (in its own pixels), largest first.

    Searches a copy whose longest side is at most `detect_max_side`. Keeps every
    box whose side is at least half the largest one's: Haar finds small false
    boxes on about 1% of portraits, and they are never the subject.
    """
    scale = min(1.0, settings.detect_max_side / max(rgb.shape[:2]))
    try:
        small = rgb
        if scale < 1.0:
            size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        found = _cascade(settings.cascade).detectMultiScale(
            gray,
            scaleFactor=settings.scale_factor,
            minNeighbors=settings.min_neighbors,
            minSize=(settings.min_size, settings.min_size),
        )
    except cv2.error as error:
        _classifiers.__dict__.pop("by_path", None)  # never reuse a classifier that failed
        raise DetectionFailed(
            f"OpenCV could not search this image for faces (error {error.code})"
        ) from None
    boxes = sorted(
        (tuple(int(round(v / scale)) for v in box) for box in found), key=lambda b: -b[2] * b[3]
    )
    if not boxes:
        return []
    largest = max(boxes[0][2], boxes[0][3])
    return [b for b in boxes if max(b[2], b[3]) * 2 >= largest]


def crop_square(
    rgb: np.ndarray, box: tuple[int, int, int, int], margin: float, size: int
) -> np.ndarray:
    """A square around the box with `margin` on each side, edges replicated where it
    leaves the image, resized to size x size."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    side_px = max(1, int(round(side)))
    height, width = rgb.shape[:2]
    pad = max(0, -left, -top, left + side_px - width, top + side_px - height)
    if pad:
        rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        left, top = left + pad, top + pad
    return resize_square(rgb[top : top + side_px, left : left + side_px], size)


def extract_faces(
    rgb: np.ndarray, settings: DetectorSettings, most: int | None = None
) -> list[FaceCrop]:
    """The faces in the image (see detect_faces), largest first, at most `most` of them
    (all when None); raises NoFaceFound."""
    boxes = detect_faces(rgb, settings)[:most]
    if not boxes:
        raise NoFaceFound("no face was found in this image")
    return [FaceCrop(crop_square(rgb, b, settings.margin, settings.crop_size), b) for b in boxes]


def resize_square(pixels: np.ndarray, size: int) -> np.ndarray:
    """A square crop at size x size (unchanged when it already is)."""
    if pixels.shape[0] == size and pixels.shape[1] == size:
        return pixels
    interpolation = cv2.INTER_AREA if pixels.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(pixels, (size, size), interpolation=interpolation)


def whole_image(rgb: np.ndarray, size: int) -> np.ndarray:
    """The centre square of an image resized to size x size: the fallback without a face."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    box = ((width - side) // 2, (height - side) // 2, side, side)
    return crop_square(rgb, box, 0.0, size)


def phash(rgb: np.ndarray) -> int:
    """64-bit DCT perceptual hash: the signs of the 8x8 lowest frequencies against their median."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:8, :8].flatten()
    bits = low > np.median(low)
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def nearest_distance(hash_value: int, others: np.ndarray) -> int:
    """Smallest Hamming distance from `hash_value` to an array of uint64 hashes (65 if none)."""
    if others.size == 0:
        return 65
    xored = np.bitwise_xor(others, np.uint64(hash_value))
    counts = np.unpackbits(xored.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
    return int(counts.min())
