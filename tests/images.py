"""Real and generated test images: faces that ship inside scikit-image, and files that break."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data


def astronaut() -> np.ndarray:
    """Eileen Collins' NASA portrait (512x512 RGB): exactly one face."""
    return data.astronaut()


def lfw_faces(size: int = 100) -> list[np.ndarray]:
    """The 100 distinct LFW faces of scikit-image's lfw_subset, upscaled to RGB size x size."""
    faces = data.lfw_subset()[:100]
    return [
        cv2.cvtColor(
            cv2.resize((f * 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_CUBIC),
            cv2.COLOR_GRAY2RGB,
        )
        for f in faces
    ]


def lfw_crops(size: int = 80, first: int = 0) -> list[np.ndarray]:
    """Face crops of the LFW faces from the `first` on that the default Haar cascade
    finds (about 80 of 100)."""
    from model.faces import DetectorSettings, NoFaceFound, extract_faces

    crops = []
    for image in lfw_faces()[first:]:
        with contextlib.suppress(NoFaceFound):
            crops.append(extract_faces(image, DetectorSettings(crop_size=size))[0].pixels)
    return crops


def no_face_image(seed: int = 0, size: int = 200) -> np.ndarray:
    """Smooth random colour blobs: an image without a face."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def encode(pixels: np.ndarray, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def declared_huge_png(width: int = 20000, height: int = 20000) -> bytes:
    """A tiny PNG file whose header declares width x height pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def write_video(path: Path, frames: list[np.ndarray], fps: float = 2.0) -> Path:
    """An MJPG .avi made of the given RGB frames."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def flat_png(width: int, height: int) -> bytes:
    """A real PNG of one colour: a huge canvas in a few kilobytes."""
    return encode(np.full((height, width, 3), (90, 120, 150), dtype=np.uint8))


def lying_jpeg(width: int = 40000, height: int = 1000) -> bytes:
    """A 16x16 JPEG whose frame header claims width x height pixels (a few hundred bytes)."""
    data = bytearray(encode(np.full((16, 16, 3), 128, dtype=np.uint8), "JPEG", quality=50))
    at = data.find(b"\xff\xc0")
    data[at + 5 : at + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def known_killers() -> dict[str, bytes]:
    """The files that crashed, stalled or bloated konomi before uploads were isolated."""
    return {
        "tall.png": flat_png(96, 65632),
        "wide.png": flat_png(6000, 6000),
        "strip.png": flat_png(1_000_000, 24),
        "lying.jpg": lying_jpeg(),
    }
