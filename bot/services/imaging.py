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
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import resource
import signal
import warnings
from pathlib import Path

import numpy as np
import pebble

from bot.config import HelperSettings, Settings
from model.faces import FaceCrop
from model.images import ImageError, ImageTooLarge
from model.reading import ImageFaces, describe_crops, read_image, read_video
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


def _prepare_helper(memory_limit: int) -> None:
    """Runs first in every new helper: cap its address space, one OpenCV thread, and no
    warnings about the damaged files it exists to read."""
    import cv2

    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    cv2.setNumThreads(1)
    warnings.simplefilter("ignore")


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


def _run(task, *args) -> tuple[object, int]:
    """In a helper: the task's result, or the ImageError it raised, and the helper's peak."""
    try:
        value = task(*args)
    except ImageError as error:
        value = error
    except MemoryError:
        value = ImageTooLarge("the image needs more memory than konomi allows for one file")
    return value, peak_rss()


def _why_it_died(error: pebble.ProcessExpired) -> str:
    code = error.exitcode
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


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
        self._pool: pebble.ProcessPool | None = None

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
        if self._pool is None or not self._pool.active:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            self._pool = pebble.ProcessPool(
                max_workers=self.settings.processes,
                max_tasks=self.settings.files_per_process,
                initializer=_prepare_helper,
                initargs=(self.settings.memory_limit_mb << 20,),
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

    async def describe_crops(self, pngs: list[bytes]) -> list[np.ndarray | None]:
        """Descriptors of stored pool crops (None where dlib refused one)."""
        timeout = self.settings.file_timeout_s * max(1, len(pngs))
        return await self._submit(timeout, describe_crops, pngs, self.detector)

    async def read_video(self, path: Path, interval_s: float) -> list[FaceCrop]:
        """The faces in a local video's sampled frames; raises ImageError."""
        return await self._submit(
            self.settings.video_timeout_s, read_video, path, self.detector, self.limits, interval_s
        )

    async def _submit(self, timeout: float, task, *args):
        future = self._executor().schedule(_run, args=(task, *args), timeout=timeout)
        try:
            value, peak = await asyncio.wrap_future(future)
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
        if isinstance(value, ImageError):
            raise value
        return value

    def close(self) -> None:
        """Stop the helpers (files still being read are abandoned)."""
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None
