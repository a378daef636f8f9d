"""What konomi does with one untrusted file: decode it, find the faces, crop them.

Pure functions of bytes (or a local video path) and settings, run by the image
helper processes (`bot/services/imaging.py`), never in the bot's own process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from model.descriptor import describe_and_align
from model.expression import expression_hog
from model.faces import FaceCrop, NoFaceFound, extract_faces, whole_image
from model.images import ImageError, check_header, decode_image, decode_png
from model.settings import DetectorSettings, ImageLimits


@dataclass(frozen=True)
class ImageFaces:
    faces: list[FaceCrop]  # largest first; empty when none was found
    whole: np.ndarray | None  # the centre square, only when no face was found


Description = tuple[np.ndarray, np.ndarray]  # a face's descriptor and raw expression HOG


def _describe(crop: np.ndarray, detector: DetectorSettings) -> Description | None:
    """The crop's descriptor and the raw HOG of its aligned chip (one landmark search
    for both); None where dlib refuses it (the face still scores)."""
    try:
        descriptor, chip = describe_and_align(crop, detector.margin)
    except RuntimeError:
        return None
    return descriptor, expression_hog(chip)


def with_descriptors(faces: list[FaceCrop], detector: DetectorSettings) -> list[FaceCrop]:
    """The faces, each with its descriptor and raw expression HOG."""
    described = []
    for face in faces:
        descriptor, expression = _describe(face.pixels, detector) or (None, None)
        described.append(replace(face, descriptor=descriptor, expression=expression))
    return described


def read_image(
    data: bytes,
    detector: DetectorSettings,
    limits: ImageLimits,
    most: int | None = None,
    describe: bool = True,
) -> ImageFaces:
    """The faces of an image file, cropped at `detector.crop_size`, largest first, at
    most `most` (all when None: a pool's ingest; /rank takes only the largest, so a
    false-positive storm costs one crop), with their descriptors unless the model reading
    them has none (`describe` False); raises ImageError."""
    rgb = decode_image(data, limits)
    try:
        faces = extract_faces(rgb, detector, most)
    except NoFaceFound:
        return ImageFaces([], whole_image(rgb, detector.crop_size))
    return ImageFaces(with_descriptors(faces, detector) if describe else faces, None)


def describe_crops(pngs: list[bytes], detector: DetectorSettings) -> list[Description | None]:
    """The descriptors and raw expression HOGs of stored pool crops (the backfill of
    faces stored without them)."""
    return [_describe(decode_png(png), detector) for png in pngs]


def read_video(
    path: Path,
    detector: DetectorSettings,
    limits: ImageLimits,
    interval_s: float,
    describe: bool = True,
) -> list[FaceCrop]:
    """Faces in frames sampled every `interval_s` seconds of a local video file, with
    their descriptors unless the model reading them has none (`describe` False)."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise ImageError("this video cannot be opened (unknown format or damaged)")
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if fps and fps > 0 else 25.0
        step = max(1, int(round(interval_s * fps)))
        found: list[FaceCrop] = []
        index = 0
        while capture.grab():
            if index % step == 0:
                ok, frame = capture.retrieve()
                if not ok:
                    break
                check_header(frame.shape[1], frame.shape[0], "RGB", limits)
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                try:
                    faces = extract_faces(rgb, detector)
                except NoFaceFound:
                    faces = []
                found += [
                    replace(f, frame_s=index / fps)
                    for f in (with_descriptors(faces, detector) if describe else faces)
                ]
            index += 1
        if index == 0:
            raise ImageError("this video has no frames konomi can read")
    finally:
        capture.release()
    if not found:
        raise NoFaceFound("no face was found in the sampled frames of this video")
    return found
