"""Images out of a zip archive, every entry treated as hostile: run in an image helper.

A zip's header can lie about sizes, name paths outside the archive, or inflate a few
kilobytes into gigabytes; each entry is checked against the image limits before and
while it is inflated, and a refused entry is a line of its own, not the archive's end.
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import PurePosixPath

from model.images import ImageError
from model.settings import ImageLimits

MAX_ENTRIES = 200  # files read from one archive
MAX_RATIO = 200  # unpacked / packed size above which a large entry is taken for a bomb
RATIO_FROM_BYTES = 1 << 20  # entries smaller than this are never called bombs


def is_zip(name: str, data: bytes) -> bool:
    return name.lower().endswith(".zip") or data[:4] == b"PK\x03\x04"


def unpack_images(data: bytes, limits: ImageLimits) -> list[tuple[str, bytes | str]]:
    """Each file entry's name and bytes, or its name and why it was refused. The whole
    archive unpacks to at most 10 files' worth of `limits.max_bytes`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise ImageError(f"this is not a readable zip archive ({error})") from None
    budget = 10 * limits.max_bytes
    found: list[tuple[str, bytes | str]] = []
    files = [entry for entry in entries if not entry.is_dir()]
    for entry in files[:MAX_ENTRIES]:
        name = entry.filename
        problem = _entry_problem(entry, limits)
        if problem is None and entry.file_size > budget:
            problem = "not read: the archive unpacks to more than konomi reads from one upload"
        if problem is not None:
            found.append((name, problem))
            continue
        try:
            with archive.open(entry) as opened:
                content = opened.read(limits.max_bytes + 1)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError) as error:
            found.append((name, f"could not be unpacked ({error})"))
            continue
        if len(content) > limits.max_bytes:
            found.append((name, _too_large(limits)))  # its header lied about its size
            continue
        budget -= len(content)
        found.append((name, content))
    if len(files) > MAX_ENTRIES:
        found.append(
            (
                f"{len(files) - MAX_ENTRIES} more files",
                f"not read: at most {MAX_ENTRIES} files a zip",
            )
        )
    return found


def _entry_problem(entry: zipfile.ZipInfo, limits: ImageLimits) -> str | None:
    path = PurePosixPath(entry.filename.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in entry.filename:
        return "refused: its path leads outside the archive"
    if stat.S_ISLNK(entry.external_attr >> 16):
        return "refused: a link, not a file"
    if entry.flag_bits & 0x1:
        return "refused: encrypted"
    if entry.file_size == 0:
        return "an empty file"
    if entry.file_size > limits.max_bytes:
        return _too_large(limits)
    if entry.file_size >= RATIO_FROM_BYTES and entry.file_size > MAX_RATIO * max(
        entry.compress_size, 1
    ):
        return (
            f"refused: it inflates {entry.file_size // max(entry.compress_size, 1)} times "
            "(a zip bomb)"
        )
    return None


def _too_large(limits: ImageLimits) -> str:
    return f"too large when unpacked (the limit is {limits.max_bytes / 1e6:.0f} MB)"
