"""Ingest: local images, folders and videos -> faces in a guild's pool.

Used by the pool service (`/pool add`, `python -m bot ingest`). Files are read
(decoded, faces found and cropped, videos sampled: model/reading.py) in the image
helpers, several at a time; they are stored in the order given, so near-duplicates
are judged as a one-by-one run would.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
import numpy as np
from tqdm import tqdm

from bot.i18n import reason, t
from bot.services.imaging import Deadline, ImageHelpers
from model.descriptor import pack_descriptor
from model.expression import pack_expression
from model.faces import FaceCrop, NoFaceFound, nearest_distance, phash
from model.images import ImageError, check_file_size, encode_png
from model.settings import ImageLimits
from storage import pool

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".jfif"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


@dataclass
class IngestSummary:
    files_read: int = 0
    faces_added: int = 0
    sources_already_known: int = 0
    near_duplicates_skipped: int = 0
    failures: list[tuple[str, object]] = field(default_factory=list)  # (name, why)
    face_ids: list[int] = field(default_factory=list)

    def refused(self, name: str, why: object) -> None:
        """A file (or a zip entry) read without a face to add, and why (its ImageError,
        a Text, or words)."""
        self.files_read += 1
        self.failures.append((name, why))

    def lines(self, locale: object = None) -> list[str]:
        """The summary in the reader's language (English on the command line)."""
        text = [
            t(locale, "pool.files_read", count=self.files_read),
            t(locale, "pool.faces_added", count=self.faces_added),
            t(
                locale,
                "pool.duplicates",
                files=self.sources_already_known,
                faces=self.near_duplicates_skipped,
            ),
            t(locale, "pool.failures", count=len(self.failures)),
        ]
        text += [
            t(locale, "pool.failure", name=name, reason=reason(why, locale))
            for name, why in self.failures
        ]
        return text


@dataclass(frozen=True)
class ReadSource:
    """One source after reading: its faces, or why it gave none (or None: already known)."""

    name: str
    content_hash: str
    faces: list[FaceCrop] | None = None
    failure: object | None = None  # an ImageError (its kind is translated), or words


def iter_sources(paths: Iterable[Path]) -> Iterator[Path]:
    """Named files as given; folders walked recursively for image and video files."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    yield child
        else:
            yield path


def read_local_file(path: Path, limits: ImageLimits) -> bytes:
    """A local image file's bytes, its size checked before reading; raises ImageError."""
    if not path.is_file():
        raise ImageError("no such file")
    try:
        check_file_size(path.stat().st_size, limits)
        return path.read_bytes()
    except OSError as error:
        raise ImageError(error.strerror or str(error)) from None


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class PoolIngester:
    """Adds sources to one guild's pool, skipping known files and near-duplicate faces."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        guild_id: int,
        images: ImageHelpers,
        *,
        video_interval_s: float = 2.0,
        near_duplicate_distance: int = 4,
        deadline: Deadline | None = None,
        describe: bool = True,
    ) -> None:
        self.db = db
        self.describe = describe  # False: the model reads no descriptor, dlib never runs
        self.deadline = deadline  # uploads: answer in time; local files: none
        self.guild_id = guild_id
        self.images = images
        self.video_interval_s = video_interval_s
        self.near_duplicate_distance = near_duplicate_distance
        self.summary = IngestSummary()
        self._hashes: np.ndarray | None = None

    async def read_bytes(self, name: str, data: bytes) -> ReadSource:
        """Read an image given as bytes (an upload)."""
        content_hash = hashlib.sha256(data).hexdigest()
        if await pool.source_exists(self.db, self.guild_id, content_hash):
            return ReadSource(name, content_hash)
        try:
            reading = self.images.read_image(data, describe=self.describe)
            found = await (self.deadline.run(reading) if self.deadline else reading)
            if not found.faces:
                raise NoFaceFound("no face was found in this image")
        except ImageError as error:
            return ReadSource(name, content_hash, failure=error)
        return ReadSource(name, content_hash, found.faces)

    async def read_path(self, path: Path) -> ReadSource:
        """Read one local image or video file."""
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            try:
                data = read_local_file(path, self.images.limits)
            except ImageError as error:
                return ReadSource(str(path), "", failure=str(error))
            return await self.read_bytes(str(path), data)
        try:
            if not path.is_file():
                raise OSError(0, "no such file")
            content_hash = await asyncio.to_thread(_file_hash, path)
        except OSError as error:
            return ReadSource(str(path), "", failure=error.strerror or str(error))
        if await pool.source_exists(self.db, self.guild_id, content_hash):
            return ReadSource(str(path), content_hash)
        try:
            faces = await self.images.read_video(path, self.video_interval_s, self.describe)
        except ImageError as error:
            return ReadSource(str(path), content_hash, failure=str(error))
        return ReadSource(str(path), content_hash, faces)

    async def store(self, source: ReadSource) -> None:
        """Drop near-duplicates and store the source's faces in one transaction.

        Failures are recorded in the summary, never raised."""
        self.summary.files_read += 1
        if source.failure is not None:
            self.summary.failures.append((source.name, source.failure))
            return
        if source.faces is None or await pool.source_exists(
            self.db, self.guild_id, source.content_hash
        ):
            self.summary.sources_already_known += 1
            return
        if self._hashes is None:
            known = await pool.guild_phashes(self.db, self.guild_id)
            self._hashes = np.array(known, dtype=np.uint64)
        hashes = self._hashes
        new_faces = []
        for face in source.faces:
            value = phash(face.pixels)
            if nearest_distance(value, hashes) <= self.near_duplicate_distance:
                self.summary.near_duplicates_skipped += 1
                continue
            hashes = np.append(hashes, np.uint64(value))
            new_faces.append(
                pool.NewFace(
                    encode_png(face.pixels),
                    face.box,
                    value,
                    face.frame_s,
                    None if face.descriptor is None else pack_descriptor(face.descriptor),
                    None if face.expression is None else pack_expression(face.expression),
                )
            )
        ids = await pool.add_source(
            self.db, self.guild_id, source.content_hash, source.name, new_faces
        )
        self._hashes = hashes
        self.summary.faces_added += len(ids)
        self.summary.face_ids.extend(ids)

    async def add_all(self, reads: Iterable, ahead: int, progress: bool = False) -> None:
        """Run the reads (coroutines), up to `ahead` at a time, and store them in order."""
        pending: deque[asyncio.Task] = deque()
        reads = list(reads)
        with tqdm(total=len(reads), desc="ingest", unit="file", disable=not progress) as bar:
            for read in reads:
                pending.append(asyncio.ensure_future(read))
                if len(pending) >= ahead:
                    await self.store(await pending.popleft())
                    bar.update()
            while pending:
                await self.store(await pending.popleft())
                bar.update()


async def ingest_paths(
    db: aiosqlite.Connection,
    guild_id: int,
    paths: list[Path],
    images: ImageHelpers,
    *,
    video_interval_s: float,
    near_duplicate_distance: int,
    progress: bool = True,
    describe: bool = True,
) -> IngestSummary:
    ingester = PoolIngester(
        db,
        guild_id,
        images,
        video_interval_s=video_interval_s,
        near_duplicate_distance=near_duplicate_distance,
        describe=describe,
    )
    ahead = 2 * images.settings.processes
    await ingester.add_all(
        (ingester.read_path(path) for path in iter_sources(paths)), ahead, progress
    )
    return ingester.summary
