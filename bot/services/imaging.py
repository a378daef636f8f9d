"""The image helpers: the one way an untrusted file is decoded and searched for faces.

`/rank`, the "Rank these images" menu, `/pool add`, `python -m bot ingest` and
`python -m bot rank` all read files here, in a small pool of helper processes
and never in the bot's own: Pillow, libpng, libjpeg and OpenCV are native code,
and a hostile file can crash them or ask them for gigabytes. Each helper is
forked from a forkserver (never from the bot), has its own classifier, an
address-space limit (RLIMIT_AS) and is replaced after a number of files. A file
that crashes its helper, exhausts its memory or runs past its time limit fails
alone, with its own ImageError; the other files, queued or running, still get
their answers (pebble isolates tasks, where one dead worker breaks every pending
task of a concurrent.futures pool).

Every file gets an answer. A helper that ran out of memory, or whose memory peaked
near its limit, leaves once its answer is sent (a fresh one takes its place, so no
file is refused for an earlier one). Files are handed to the helpers only as fast as
they take them (one per helper), so a file handed over and not taken within the
per-file limit was lost by a helper that died receiving it: it is handed over once
more, then failed. And `Deadline` bounds a whole request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import resource
import signal
import time
import warnings
from collections.abc import Awaitable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

import pebble

from bot.config import HelperSettings, Settings
from model.archives import unpack_images
from model.faces import FaceCrop
from model.images import ImageError, ImageTooLarge
from model.reading import Description, ImageFaces, describe_crops, read_image, read_video
from model.settings import DetectorSettings, ImageLimits

log = logging.getLogger(__name__)

# What the forkserver imports once, so that each new helper starts warm: first the
# thread settings (before numpy loads), then the readers, then dlib's models.
PRELOAD = [
    f"{__package__}.imaging_preload_env",
    "model.reading",
    f"{__package__}.imaging_preload_models",
]


class HelperCrashed(ImageError):
    """The helper reading this file died (a crash in native code, or killed)."""


class HelperTimedOut(ImageError):
    """Reading this file took longer than the per-file time limit."""


class HelperFailed(ImageError):
    """An unexpected error while reading this file; logged with its traceback."""


class HelperLost(ImageError):
    """The helpers lost this file twice: one died as it received it, or pebble dropped
    every file in hand when a helper died between files."""


class NotInTime(ImageError):
    """The request's deadline passed before this file was read."""


# In a helper: the peak memory past which it leaves after its answer, and whether it does.
_leave_above_bytes = 0.0
_leaving = False


def _prepare_helper(memory_limit: int, leave_above_share: float) -> None:
    """Runs first in every new helper: cap its address space, one OpenCV thread, no
    warnings about the damaged files it exists to read, and a way to leave between
    files (pebble's worker loop ends on EOFError, with exit code 0, and the pool starts
    a fresh helper in its place)."""
    import cv2
    import pebble.pool.process as pebble_process

    global _leave_above_bytes
    _leave_above_bytes = leave_above_share * memory_limit
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    cv2.setNumThreads(1)
    warnings.simplefilter("ignore")
    fetch_task = pebble_process.fetch_task

    def fetch_unless_leaving(channel):
        if _leaving:
            raise EOFError("this helper leaves; a fresh one takes the next file")
        return fetch_task(channel)

    pebble_process.fetch_task = fetch_unless_leaving


def peak_rss() -> int:
    """This process's peak resident memory in bytes (VmHWM: this program's own, unlike
    getrusage's ru_maxrss, which Linux carries over an exec from the process before)."""
    return _memory("VmHWM")


def current_rss() -> int:
    """This process's resident memory now, in bytes."""
    return _memory("VmRSS")


def _memory(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _run(task, *args) -> tuple[object, int, bool]:
    """In a helper: the task's result (or the ImageError it raised), the helper's peak
    memory, and whether the helper leaves after this answer (it ran out of memory, or
    its peak passed `[helpers] replace_above_share` of its limit)."""
    global _leaving
    try:
        value = task(*args)
        exhausted = False
    except ImageError as error:
        value, exhausted = error, False
    except MemoryError:
        value = ImageTooLarge("the image needs more memory than konomi allows for one file")
        exhausted = True
    peak = peak_rss()
    _leaving = exhausted or peak > _leave_above_bytes
    return value, peak, _leaving


def _why_it_died(error: pebble.ProcessExpired) -> str:
    code = error.exitcode
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


T = TypeVar("T")


class Deadline:
    """One request's deadline (`/rank`, "Rank these images", `/pool add`): a file not
    read by then gets its own line (NotInTime) instead of keeping the member waiting."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    async def run(self, read: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(read, max(0.0, self.ends - time.monotonic()))
        except TimeoutError:
            raise NotInTime(
                f"not read within {self.seconds:g} s (konomi was busy); try this file again"
            ) from None


class ImageHelpers:
    """A pool of helper processes, started on first use; async methods for the event loop."""

    def __init__(
        self, settings: HelperSettings, detector: DetectorSettings, limits: ImageLimits
    ) -> None:
        self.settings = settings
        self.detector = detector
        self.limits = limits
        self.peak_helper_bytes = 0  # the largest peak memory a helper reported
        self.crashes = 0
        self.timeouts = 0
        self.replaced = 0  # helpers that left after running out of (or near) their memory
        self.lost = 0  # files a helper died receiving (each handed over again)
        self._pool: pebble.ProcessPool | None = None
        # One file per helper at a time, per event loop (created on first use there).
        self._turns: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> ImageHelpers:
        """[faces] with the cascade path resolved and crops at least the model's input size."""
        detector = dataclasses.replace(
            settings.faces,
            cascade=settings.cascade_path(),
            crop_size=max(settings.faces.crop_size, settings.model.input_size),
        )
        return cls(settings.helpers, detector, settings.images)

    def _executor(self) -> pebble.ProcessPool:
        if self._pool is not None and not self._pool.active:  # broken: start afresh
            self._pool.stop()
            self._pool = None
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            self._pool = pebble.ProcessPool(
                max_workers=self.settings.processes,
                max_tasks=self.settings.files_per_process,
                initializer=_prepare_helper,
                initargs=(self.settings.memory_limit_mb << 20, self.settings.replace_above_share),
                context=context,
            )
        return self._pool

    async def read_image(
        self, data: bytes, most: int | None = None, describe: bool = True
    ) -> ImageFaces:
        """The faces in an image file (crops at the detector's size, with descriptors
        when `describe`), largest first, at most `most` (all when None); raises ImageError."""
        return await self._submit(
            self.settings.file_timeout_s,
            read_image,
            data,
            self.detector,
            self.limits,
            most,
            describe,
        )

    async def unpack_zip(self, data: bytes) -> list[tuple[str, bytes | str]]:
        """The entries of an uploaded zip (bytes, or why each was refused), unpacked in a
        helper: inflating is native code, and a hostile archive fails alone there."""
        return await self._submit(self.settings.file_timeout_s, unpack_images, data, self.limits)

    async def describe_crops(self, pngs: list[bytes]) -> list[Description | None]:
        """Descriptors and expression HOGs of stored pool crops (None where dlib refused
        one)."""
        timeout = self.settings.file_timeout_s * max(1, len(pngs))
        return await self._submit(timeout, describe_crops, pngs, self.detector)

    async def read_video(
        self, path: Path, interval_s: float, describe: bool = True
    ) -> list[FaceCrop]:
        """The faces in a local video's sampled frames (with descriptors when
        `describe`); raises ImageError."""
        return await self._submit(
            self.settings.video_timeout_s,
            read_video,
            path,
            self.detector,
            self.limits,
            interval_s,
            describe,
        )

    def _turn(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop:
            self._turns = (loop, asyncio.Semaphore(self.settings.processes))
        return self._turns[1]

    async def _submit(self, timeout: float, task, *args):
        async with self._turn():  # handed over only when a helper is free to take it
            for attempt in (1, 2):
                future = self._executor().schedule(_run, args=(task, *args), timeout=timeout)
                answer = asyncio.wrap_future(future)
                await asyncio.wait({answer}, timeout=self.settings.file_timeout_s)
                if answer.done() or future.running():  # a helper took it: pebble times it
                    try:
                        return await self._answer(answer, timeout)
                    except BrokenProcessPool:
                        pass  # pebble gave up every file in hand when a helper died idle
                else:
                    answer.cancel()
                self.lost += 1
                log.warning("a file was lost by the image helpers (attempt %d)", attempt)
            raise HelperLost(
                "konomi's image reader stopped twice while it had this file (not because of "
                "the file); it was skipped: try it again"
            )

    async def _answer(self, answer: asyncio.Future, timeout: float):
        """The helper's answer as a value or this file's ImageError; BrokenProcessPool
        when the pool dropped the file for another helper's death (the file is retried)."""
        try:
            value, peak, leaving = await answer
        except BrokenProcessPool:
            raise
        except pebble.ProcessExpired as error:
            self.crashes += 1
            log.warning("an image helper died reading a file (%s)", _why_it_died(error))
            raise HelperCrashed(
                f"konomi's image reader crashed on this file ({_why_it_died(error)}); "
                "it was skipped"
            ) from None
        except TimeoutError:
            self.timeouts += 1
            log.warning("an image helper ran past %s s on a file; it was replaced", timeout)
            raise HelperTimedOut(
                f"reading this file took longer than {timeout:g} s; it was skipped"
            ) from None
        except Exception:
            log.exception("an image helper failed unexpectedly")
            raise HelperFailed(
                "this file could not be read (an unexpected error; it has been logged)"
            ) from None
        self.peak_helper_bytes = max(self.peak_helper_bytes, peak)
        if leaving:
            self.replaced += 1
            log.info("an image helper peaked at %.0f MB: replaced by a fresh one", peak / 2**20)
        if isinstance(value, ImageError):
            raise value
        return value

    def close(self) -> None:
        """Stop the helpers (files still being read are abandoned)."""
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None
