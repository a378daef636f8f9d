"""Ingest: local images, folders and videos -> faces in a guild's pool.

Used by `python -m bot ingest` and by `/pool add`. Decoding and detection are
the model's pure functions; storing is storage's; this module only ties them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
import cv2
import numpy as np
from tqdm import tqdm

from model.faces import DetectorSettings, NoFaceFound, extract_faces, nearest_distance, phash
from model.images import ImageError, ImageLimits, decode_image, encode_png
from storage import pool

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".jfif"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


@dataclass
class IngestSummary:
    files_read: int = 0
    faces_added: int = 0
    sources_already_known: int = 0
    near_duplicates_skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    face_ids: list[int] = field(default_factory=list)

    def lines(self) -> list[str]:
        text = [
            f"files read: {self.files_read}",
            f"faces added: {self.faces_added}",
            f"duplicates skipped: {self.sources_already_known} files already in the pool, "
            f"{self.near_duplicates_skipped} near-duplicate faces",
            f"failures: {len(self.failures)}",
        ]
        text += [f"  {name}: {reason}" for name, reason in self.failures]
        return text


@dataclass(frozen=True)
class FoundFace:
    pixels: np.ndarray
    box: tuple[int, int, int, int]
    frame_s: float | None = None


def iter_sources(paths: Iterable[Path]) -> Iterator[Path]:
    """Named files as given; folders walked recursively for image and video files."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    yield child
        else:
            yield path


def faces_in_image(data: bytes, detector: DetectorSettings, limits: ImageLimits) -> list[FoundFace]:
    rgb = decode_image(data, limits)
    return [FoundFace(f.pixels, f.box) for f in extract_faces(rgb, detector)]


def faces_in_video(
    path: Path, detector: DetectorSettings, limits: ImageLimits, interval_s: float
) -> list[FoundFace]:
    """Faces in frames sampled every `interval_s` seconds of a local video file."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise ImageError("this video cannot be opened (unknown format or damaged)")
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if fps and fps > 0 else 25.0
        step = max(1, int(round(interval_s * fps)))
        found: list[FoundFace] = []
        index = 0
        while capture.grab():
            if index % step == 0:
                ok, frame = capture.retrieve()
                if not ok:
                    break
                if frame.shape[0] * frame.shape[1] > limits.max_pixels:
                    raise ImageError("the video's frames are larger than the pixel limit")
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                with_time = [
                    FoundFace(f.pixels, f.box, index / fps) for f in _faces_or_none(rgb, detector)
                ]
                found.extend(with_time)
            index += 1
        if index == 0:
            raise ImageError("this video has no frames konomi can read")
    finally:
        capture.release()
    if not found:
        raise NoFaceFound("no face was found in the sampled frames of this video")
    return found


def _faces_or_none(rgb: np.ndarray, detector: DetectorSettings) -> list:
    try:
        return extract_faces(rgb, detector)
    except NoFaceFound:
        return []


class PoolIngester:
    """Adds sources to one guild's pool, skipping known files and near-duplicate faces."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        guild_id: int,
        *,
        detector: DetectorSettings,
        limits: ImageLimits,
        video_interval_s: float = 2.0,
        near_duplicate_distance: int = 4,
    ) -> None:
        self.db = db
        self.guild_id = guild_id
        self.detector = detector
        self.limits = limits
        self.video_interval_s = video_interval_s
        self.near_duplicate_distance = near_duplicate_distance
        self.summary = IngestSummary()
        self._hashes: np.ndarray | None = None

    async def _known_hashes(self) -> np.ndarray:
        if self._hashes is None:
            known = await pool.guild_phashes(self.db, self.guild_id)
            self._hashes = np.array(known, dtype=np.uint64)
        return self._hashes

    async def add_bytes(self, name: str, data: bytes) -> None:
        """Ingest one image given as bytes (an upload)."""
        content_hash = hashlib.sha256(data).hexdigest()
        await self._add(name, content_hash, faces_in_image, data, self.detector, self.limits)

    async def add_path(self, path: Path) -> None:
        """Ingest one local image or video file."""
        is_video = path.suffix.lower() in VIDEO_SUFFIXES
        try:
            if not path.is_file():
                raise OSError(0, "no such file")
            size = path.stat().st_size
            if not is_video and size > self.limits.max_bytes:
                raise ImageError(
                    f"the file is {size / 1e6:.1f} MB; the limit is "
                    f"{self.limits.max_bytes / 1e6:.1f} MB"
                )
            if is_video:
                digest = hashlib.sha256()
                with path.open("rb") as stream:
                    while chunk := stream.read(1 << 20):
                        digest.update(chunk)
                content_hash = digest.hexdigest()
            else:
                data = path.read_bytes()
                content_hash = hashlib.sha256(data).hexdigest()
        except (OSError, ImageError) as error:
            self.summary.files_read += 1
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            self.summary.failures.append((str(path), reason))
            return
        if is_video:
            await self._add(
                str(path),
                content_hash,
                faces_in_video,
                path,
                self.detector,
                self.limits,
                self.video_interval_s,
            )
        else:
            await self._add(
                str(path), content_hash, faces_in_image, data, self.detector, self.limits
            )

    async def _add(self, name: str, content_hash: str, find_faces, *args) -> None:
        """Detect (in a thread: it is CPU work), drop near-duplicates, store in one transaction.

        Failures are recorded in the summary, never raised.
        """
        self.summary.files_read += 1
        if await pool.source_exists(self.db, self.guild_id, content_hash):
            self.summary.sources_already_known += 1
            return
        try:
            found = await asyncio.to_thread(find_faces, *args)
        except ImageError as error:
            self.summary.failures.append((name, str(error)))
            return
        hashes = await self._known_hashes()
        new_faces = []
        for face in found:
            value = phash(face.pixels)
            if nearest_distance(value, hashes) <= self.near_duplicate_distance:
                self.summary.near_duplicates_skipped += 1
                continue
            hashes = np.append(hashes, np.uint64(value))
            new_faces.append(pool.NewFace(encode_png(face.pixels), face.box, value, face.frame_s))
        ids = await pool.add_source(self.db, self.guild_id, content_hash, name, new_faces)
        self._hashes = hashes
        self.summary.faces_added += len(ids)
        self.summary.face_ids.extend(ids)


async def ingest_paths(
    db: aiosqlite.Connection,
    guild_id: int,
    paths: list[Path],
    *,
    detector: DetectorSettings,
    limits: ImageLimits,
    video_interval_s: float,
    near_duplicate_distance: int,
    progress: bool = True,
) -> IngestSummary:
    ingester = PoolIngester(
        db,
        guild_id,
        detector=detector,
        limits=limits,
        video_interval_s=video_interval_s,
        near_duplicate_distance=near_duplicate_distance,
    )
    sources = list(iter_sources(paths))
    for path in tqdm(sources, desc="ingest", unit="file", disable=not progress):
        await ingester.add_path(path)
    return ingester.summary
