"""What konomi does with one untrusted file: decode it, find the faces, crop them.

Pure functions of bytes (or a local video path) and settings, run by the image
helper processes (`bot/imaging.py`), never in the bot's own process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.faces import FaceCrop, NoFaceFound, extract_faces, whole_image
from model.images import ImageError, check_header, decode_image
from model.settings import DetectorSettings, ImageLimits


@dataclass(frozen=True)
class ImageFaces:
    faces: list[FaceCrop]  # largest first; empty when none was found
    whole: np.ndarray | None  # the centre square, only when no face was found


def read_image(data: bytes, detector: DetectorSettings, limits: ImageLimits) -> ImageFaces:
    """The faces of an image file, cropped at `detector.crop_size`; raises ImageError."""
    rgb = decode_image(data, limits)
    try:
        return ImageFaces(extract_faces(rgb, detector), None)
    except NoFaceFound:
        return ImageFaces([], whole_image(rgb, detector.crop_size))


def read_video(
    path: Path, detector: DetectorSettings, limits: ImageLimits, interval_s: float
) -> list[FaceCrop]:
    """Faces in frames sampled every `interval_s` seconds of a local video file."""
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
                found += [FaceCrop(f.pixels, f.box, index / fps) for f in faces]
            index += 1
        if index == 0:
            raise ImageError("this video has no frames konomi can read")
    finally:
        capture.release()
    if not found:
        raise NoFaceFound("no face was found in the sampled frames of this video")
    return found
