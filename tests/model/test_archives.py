"""Zip uploads: every entry hostile until checked, each refusal a line of its own."""

import io
import stat
import zipfile

import pytest

from model.archives import MAX_ENTRIES, is_zip, unpack_images
from model.images import ImageError
from model.settings import ImageLimits

LIMITS = ImageLimits(max_bytes=2_000_000)


def archive(entries: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zipped.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_good_entries_come_out_and_each_bad_one_is_a_line():
    data = archive(
        {
            "a/face.png": b"\x89PNG fake but small",
            "../up.png": b"x",
            "/abs.png": b"x",
            "c:/windows.png": b"x",
            "empty.png": b"",
            "big.png": b"\0" * 2_500_000,  # over max_bytes unpacked
            "bomb.png": b"\0" * 1_900_000,  # within max_bytes, but ~1000:1
        },
        links=("link.png",),
    )
    found = dict(unpack_images(data, LIMITS))
    print({name: value if isinstance(value, str) else len(value) for name, value in found.items()})
    assert found["a/face.png"] == b"\x89PNG fake but small"
    for name in ("../up.png", "/abs.png", "c:/windows.png"):
        assert "outside the archive" in found[name]
    assert found["empty.png"] == "an empty file"
    assert "too large when unpacked" in found["big.png"]
    assert "zip bomb" in found["bomb.png"]
    assert "a link" in found["link.png"]


def test_a_header_that_lies_about_the_size_is_caught_while_inflating():
    data = bytearray(archive({"liar.png": b"\1" * 100_000}))
    # Make both headers claim 10 bytes: the inflated stream is still 100,000.
    local = data.index(b"PK\x03\x04")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    [(name, value)] = unpack_images(bytes(data), ImageLimits(max_bytes=50_000))
    assert isinstance(value, str)


def test_too_many_entries_are_cut_with_a_line_and_garbage_is_no_zip():
    data = archive({f"{n}.png": b"x" for n in range(MAX_ENTRIES + 5)})
    found = unpack_images(data, LIMITS)
    assert len(found) == MAX_ENTRIES + 1 and "at most 200 files" in found[-1][1]
    assert is_zip("x.zip", b"") and is_zip("upload", data) and not is_zip("a.png", b"\x89PNG")
    with pytest.raises(ImageError, match="not a readable zip"):
        unpack_images(b"PK\x03\x04 and then nothing", LIMITS)
