"""The image helpers: a file that crashes, hogs memory or stalls fails alone."""

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from bot.config import HelperSettings
from bot.services.imaging import HelperCrashed, HelperLost, HelperTimedOut, ImageHelpers
from model.images import ImageTooLarge
from model.reading import ImageFaces
from model.settings import DetectorSettings, ImageLimits
from tests.images import astronaut, encode, known_killers


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def hog_memory() -> int:
    return len(bytearray(3 << 30))


def stall() -> None:
    time.sleep(30)


def address_space_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_AS)[0]


@pytest.fixture
async def helpers():
    pool = ImageHelpers(HelperSettings(file_timeout_s=3), DetectorSettings(), ImageLimits())
    yield pool
    pool.close()


async def test_a_crash_a_memory_hog_and_a_stall_fail_alone(helpers):
    face = encode(astronaut())
    outcomes = await asyncio.gather(
        helpers.read_image(face),
        helpers._submit(3, crash),
        helpers.read_image(face),
        helpers._submit(3, hog_memory),
        helpers._submit(3, stall),
        helpers.read_image(face),
        return_exceptions=True,
    )
    faces = [outcomes[0], outcomes[2], outcomes[5]]
    assert all(len(f.faces) == 1 and f.faces[0].box == faces[0].faces[0].box for f in faces)
    assert isinstance(outcomes[1], HelperCrashed) and "SIGSEGV" in str(outcomes[1])
    assert isinstance(outcomes[3], ImageTooLarge) and "memory" in str(outcomes[3])
    assert isinstance(outcomes[4], HelperTimedOut) and "3 s" in str(outcomes[4])
    assert (helpers.crashes, helpers.timeouts) == (1, 1)
    again = await helpers.read_image(face)  # the pool was renewed, not broken
    assert again.faces[0].box == faces[0].faces[0].box


async def test_helpers_run_under_the_address_space_limit(helpers):
    assert await helpers._submit(3, address_space_limit) == 1024 << 20
    assert address_space_limit() != 1024 << 20  # the bot's own process is not limited


async def test_the_known_killers_get_their_own_answer(helpers):
    killers = known_killers()
    outcomes = await asyncio.gather(
        *(helpers.read_image(data) for data in killers.values()), return_exceptions=True
    )
    answers = dict(zip(killers, outcomes, strict=True))
    for name in ("tall.png", "strip.png", "lying.jpg"):
        assert isinstance(answers[name], ImageTooLarge), answers[name]
    assert answers["wide.png"].whole.shape == (256, 256, 3)  # decoded, no face, whole image
    assert helpers.crashes == helpers.timeouts == 0
    assert helpers.peak_helper_bytes < 1024 << 20


async def test_a_helper_that_ran_out_of_memory_is_replaced_before_the_next_file():
    """One helper: it runs out of memory on a file, answers for it, and leaves; the next
    file is read by a fresh helper, never refused for the earlier one."""
    one = ImageHelpers(
        HelperSettings(processes=1, file_timeout_s=5), DetectorSettings(), ImageLimits()
    )
    try:
        first = await one._submit(5, os.getpid)
        with pytest.raises(ImageTooLarge, match="memory"):
            await one._submit(5, hog_memory)
        after = await one._submit(5, os.getpid)
        found = await one.read_image(encode(astronaut()))
        print(f"helper {first} ran out of memory; the next file went to helper {after}")
        assert after != first and one.replaced == 1 and len(found.faces) == 1
        assert one.crashes == 0  # it left cleanly (exit code 0), nothing was lost
    finally:
        one.close()


async def test_a_file_lost_as_a_helper_received_it_still_gets_an_answer():
    """A helper that dies as it receives a file (the poison kills it while unpickling,
    before it can acknowledge the file) never leaves that file unanswered: it is handed
    over once more, then refused with its own line, within twice the per-file limit;
    the ordinary files beside it get answers, and the helpers work on."""
    from tests.bot.services.poison import Poison

    limit = 3.0
    helpers = ImageHelpers(HelperSettings(file_timeout_s=limit), DetectorSettings(), ImageLimits())
    face = encode(astronaut())
    try:
        await helpers.read_image(face)  # warm
        started = time.monotonic()
        outcomes = await asyncio.gather(
            helpers._submit(limit, len, Poison()),
            *(helpers.read_image(face) for _ in range(3)),
            return_exceptions=True,
        )
        seconds = time.monotonic() - started
        kinds = [type(outcome).__name__ for outcome in outcomes]
        after = await asyncio.gather(*(helpers.read_image(face) for _ in range(4)))
        print(f"poison and 3 photos answered in {seconds:.1f} s: {kinds}; lost {helpers.lost}")
        assert isinstance(outcomes[0], HelperLost) and seconds < 2 * limit + 5
        assert all(isinstance(o, HelperLost | ImageFaces) for o in outcomes[1:])
        assert all(len(found.faces) == 1 for found in after)
    finally:
        helpers.close()


def test_ten_thousand_hostile_files_give_only_typed_outcomes():
    """The fuzz driver in its own process (see tests/bot/services/fuzz_uploads.py)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tests.bot.services.fuzz_uploads"]
        + ["--count", "10000", "--seed", "0"],
        capture_output=True,
        text=True,
        timeout=540,  # about 200 s alone; slower beside the other tests' processes
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.splitlines()[-1])
    print(f"fuzz: {json.dumps(summary, indent=1)}\nfinished in {time.monotonic() - started:.0f} s")
    assert summary["inputs_tried"] >= 10_000
    assert summary["unexpected"] == [] and not any(
        kind.startswith("unexpected") or kind == "HelperFailed" for kind in summary["outcomes"]
    )
    assert summary["helper_crashes"] + summary["helper_timeouts"] <= 100
    assert summary["outcomes"].get("face found", 0) > 100  # real faces still pass
    assert summary["faces_described"] > 10  # and the descriptor reads some of them
    assert summary["helper_peak_rss_mb"] < summary["helper_memory_limit_mb"]
    assert summary["driver_peak_rss_mb"] < 1024
