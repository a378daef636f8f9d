"""Fuzz driver: thousands of hostile image files through the image helpers, the entry
point every upload and ingested file takes. Prints one JSON summary line.

    python -m tests.bot.services.fuzz_uploads [--count 10000] [--seed 0]

Runs in its own process (tests/bot/test_fuzz_uploads.py starts it): a process
that has loaded TensorFlow cannot measure its own peak memory. Imports only the
standard library at the top: each helper process imports this module again.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import struct
import time
import zlib

TEXTS = [
    b"",
    b"hello, I am text, not a picture\n" * 20,
    b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999">'
    b'<rect width="100%" height="100%"/></svg>',
    b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
    b"GIF89a",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"II*\x00",
    b"BM",
]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def declared_png(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A tiny PNG whose header declares any size (its data is far too short)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def build_corpus(rng: random.Random) -> dict[str, bytes]:
    """Valid files of every format and mode konomi may meet, faces and no faces."""
    import numpy as np
    from PIL import Image

    from tests.images import astronaut, no_face_image

    def save(image: Image.Image, fmt: str, **params) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **params)
        return buffer.getvalue()

    face = Image.fromarray(astronaut()).resize((160, 160))
    blobs = Image.fromarray(no_face_image(size=96))
    corpus: dict[str, bytes] = {}
    for name, image in (("face", face), ("blobs", blobs)):
        corpus[f"{name}.png"] = save(image, "PNG")
        corpus[f"{name}.jpg"] = save(image, "JPEG", quality=85)
        corpus[f"{name}.progressive.jpg"] = save(image, "JPEG", progressive=True)
        corpus[f"{name}.gif"] = save(image.convert("P"), "GIF")
        corpus[f"{name}.webp"] = save(image, "WEBP")
        corpus[f"{name}.tiff"] = save(image, "TIFF", compression="tiff_deflate")
        corpus[f"{name}.bmp"] = save(image, "BMP")
    small = face.resize((48, 48))
    gray = np.asarray(small.convert("L"), dtype=np.uint16) * 257
    corpus["i16.png"] = save(Image.fromarray(gray), "PNG")
    corpus["i32.tiff"] = save(Image.fromarray(gray.astype(np.int32)), "TIFF")
    corpus["float.tiff"] = save(Image.fromarray(gray.astype(np.float32) / 3), "TIFF")
    corpus["cmyk.jpg"] = save(small.convert("CMYK"), "JPEG")
    corpus["cmyk.tiff"] = save(small.convert("CMYK"), "TIFF")
    corpus["la.png"] = save(small.convert("LA"), "PNG")
    corpus["rgba.png"] = save(small.convert("RGBA"), "PNG")
    corpus["bilevel.png"] = save(small.convert("1"), "PNG")
    palette = small.convert("P")
    palette.info["transparency"] = 0
    corpus["palette-transparent.png"] = save(palette, "PNG", transparency=0)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated
    corpus["exif-rotated.jpg"] = save(face, "JPEG", exif=exif)
    frames = [Image.new("P", (8, 8), i % 256) for i in range(2000)]
    corpus["2000-frames.gif"] = save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    rgb_frames = [Image.new("RGB", (8, 8), (i % 256, 0, 0)) for i in range(500)]
    corpus["500-frames.png"] = save(
        rgb_frames[0], "PNG", save_all=True, append_images=rgb_frames[1:]
    )
    corpus["500-frames.webp"] = save(
        rgb_frames[0], "WEBP", save_all=True, append_images=rgb_frames[1:]
    )
    return corpus


def exif_garbage(rng: random.Random, base: bytes) -> bytes:
    """A JPEG with an APP1 Exif segment of random bytes inserted after SOI."""
    body = (
        b"Exif\x00\x00" + rng.choice([b"II*\x00", b"MM\x00*"]) + rng.randbytes(rng.randint(0, 400))
    )
    return base[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + base[2:]


def lie_about_size(rng: random.Random, data: bytes) -> bytes:
    """Patch the declared width and height in a PNG, JPEG, GIF or BMP header."""
    sizes = [0, 1, 2, 24, 96, 6000, 40000, 65535, 65632, 1_000_000, 2**31 - 1, 2**32 - 1]
    width, height = rng.choice(sizes), rng.choice(sizes)
    out = bytearray(data)
    if data.startswith(b"\x89PNG"):
        out[16:24] = struct.pack(">II", width, height)
        if rng.random() < 0.7:  # a correct CRC, so the lie gets past the first check
            out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])) & 0xFFFFFFFF)
    elif data.startswith(b"\xff\xd8"):
        for marker in (b"\xff\xc0", b"\xff\xc2"):
            at = data.find(marker)
            if at > 0:
                out[at + 5 : at + 9] = struct.pack(">HH", height & 0xFFFF, width & 0xFFFF)
    elif data.startswith(b"GIF"):
        out[6:10] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
    elif data.startswith(b"BM"):
        out[18:26] = struct.pack("<ii", width & 0x7FFFFFFF, -(height & 0x7FFFFFFF))
    else:
        out[rng.randrange(len(out)) :] = struct.pack(">II", width, height)
    return bytes(out)


def strip(rng: random.Random) -> bytes:
    """A real one-pixel-wide (or high) PNG, up to 50,000 pixels long."""
    import numpy as np
    from PIL import Image

    length = rng.choice([2, 50, 1000, 20000, 50000])
    shape = (length, 1, 3) if rng.random() < 0.5 else (1, length, 3)
    pixels = np.full(shape, rng.randrange(256), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=rng.choice(["PNG", "BMP", "GIF"]))
    return buffer.getvalue()


def big_canvas(rng: random.Random) -> bytes:
    """A real, valid PNG of up to 7000 x 7000 pixels in a few kilobytes: within the limits,
    so it is decoded, downscaled and searched in full."""
    from PIL import Image

    size = (rng.randint(1500, 7000), rng.randint(1500, 7000))
    buffer = io.BytesIO()
    Image.new("RGB", size, (rng.randrange(256), 90, 120)).save(buffer, format="PNG")
    return buffer.getvalue()


def hostile_inputs(count: int, seed: int):
    """(kind, bytes) pairs, the same for the same seed."""
    rng = random.Random(seed)
    corpus = build_corpus(rng)
    bases = list(corpus.values())
    jpegs = [v for k, v in corpus.items() if k.endswith(".jpg")]
    kinds = [
        "random bytes",
        "truncated",
        "bit-flipped",
        "spliced",
        "lying dimensions",
        "declared huge",
        "strip",
        "exif garbage",
        "text named .png",
        "valid",
    ]
    for index in range(count):
        kind = "big canvas" if index % 100 == 99 else kinds[index % len(kinds)]
        base = rng.choice(bases)
        if kind == "random bytes":
            data = rng.randbytes(rng.choice([1, 7, 100, 4096]))
        elif kind == "truncated":
            data = base[: rng.randrange(len(base))]
        elif kind == "bit-flipped":
            out = bytearray(base)
            for _ in range(rng.randint(1, 20)):
                out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
            data = bytes(out)
        elif kind == "spliced":
            other = rng.choice(bases)
            data = base[: rng.randrange(len(base))] + other[rng.randrange(len(other)) :]
        elif kind == "lying dimensions":
            data = lie_about_size(rng, base)
        elif kind == "declared huge":
            data = declared_png(
                rng.choice([1, 24, 96, 1000, 65535, 1_000_000, 2**31 - 1]),
                rng.choice([1, 24, 1000, 40000, 65632, 1_000_000]),
                rng.choice([1, 8, 16]),
                rng.choice([0, 2, 3, 4, 6]),
            )
        elif kind == "big canvas":
            data = big_canvas(rng)
        elif kind == "strip":
            data = strip(rng)
        elif kind == "exif garbage":
            data = exif_garbage(rng, rng.choice(jpegs))
        elif kind == "text named .png":
            data = rng.choice(TEXTS)
        else:
            data = base
        yield kind, data


async def fuzz(count: int, seed: int) -> dict:
    import asyncio
    from collections import Counter

    from bot.config import HelperSettings
    from bot.services.imaging import (
        HelperCrashed,
        HelperFailed,
        HelperTimedOut,
        ImageHelpers,
        peak_rss,
    )
    from model.images import ImageError
    from model.settings import DetectorSettings, ImageLimits

    settings = HelperSettings()
    helpers = ImageHelpers(settings, DetectorSettings(), ImageLimits())
    outcomes: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    slowest = (0.0, "", "")
    unexpected: list[str] = []
    in_flight = asyncio.Semaphore(settings.processes)

    described = 0

    async def one(kind: str, data: bytes, describe: bool) -> None:
        nonlocal slowest, described
        async with in_flight:
            started = time.perf_counter()
            try:
                found = await helpers.read_image(data, most=1, describe=describe)  # as /rank
                described += bool(describe and found.faces)
                outcome = "face found" if found.faces else "no face: whole image"
            except (HelperCrashed, HelperTimedOut, HelperFailed) as error:
                outcome = type(error).__name__
                if isinstance(error, HelperFailed):
                    unexpected.append(f"{kind}: {error}")
            except ImageError as error:
                outcome = type(error).__name__
            except Exception as error:  # noqa: BLE001 - counted, must stay 0
                outcome = "unexpected " + type(error).__name__
                unexpected.append(f"{kind}: {error!r}")
            took = time.perf_counter() - started
        outcomes[outcome] += 1
        by_kind.setdefault(kind, Counter())[outcome] += 1
        if took > slowest[0]:
            slowest = (took, kind, outcome)

    started = time.perf_counter()
    tasks = []
    for index, (kind, data) in enumerate(hostile_inputs(count, seed)):
        # The descriptor (dlib, ~150 ms a face) reads every seventh input's face (seven: the
        # kinds take turns in tens): its input is a crop konomi cut, not the file's bytes,
        # and describing every face would add a minute to the run.
        tasks.append(asyncio.ensure_future(one(kind, data, describe=index % 7 == 0)))
        if len(tasks) >= 64:
            await asyncio.gather(*tasks)
            tasks = []
    await asyncio.gather(*tasks)
    helpers.close()
    return {
        "inputs_tried": sum(outcomes.values()),
        "seed": seed,
        "outcomes": dict(outcomes.most_common()),
        "outcomes_by_kind": {k: dict(v.most_common()) for k, v in by_kind.items()},
        "unexpected": unexpected[:20],
        "faces_described": described,
        "helper_crashes": outcomes["HelperCrashed"],
        "helper_timeouts": outcomes["HelperTimedOut"],
        "helper_memory_limit_mb": settings.memory_limit_mb,
        "helper_peak_rss_mb": round(helpers.peak_helper_bytes / 2**20, 1),
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss over exec, so a driver started by a
        # large pytest process would report pytest's peak (CI saw 1,041 MB that way).
        "driver_peak_rss_mb": round(peak_rss() / 2**20, 1),
        "slowest_input_s": round(slowest[0], 3),
        "slowest_input": f"{slowest[1]} -> {slowest[2]}",
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    import asyncio

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(fuzz(args.count, args.seed))))


if __name__ == "__main__":
    main()
