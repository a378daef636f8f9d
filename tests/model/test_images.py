import io

import numpy as np
import pytest
from PIL import Image

from model.images import (
    CorruptImage,
    EmptyImage,
    ImageLimits,
    ImageTooLarge,
    NotAnImage,
    decode_image,
)
from tests.images import astronaut, declared_huge_png, encode, known_killers


def test_bad_files_raise_typed_errors_with_readable_messages():
    jpeg = encode(astronaut(), "JPEG")
    cases = [
        (b"", EmptyImage),
        (jpeg[: len(jpeg) // 2], CorruptImage),
        (b"this is a text file, not a picture\n" * 4, NotAnImage),
        (declared_huge_png(20000, 20000), ImageTooLarge),
    ]
    for data, error in cases:
        with pytest.raises(error) as raised:
            decode_image(data)
        assert str(raised.value) and "Traceback" not in str(raised.value)


def test_byte_limit_is_checked_before_decoding():
    with pytest.raises(ImageTooLarge, match="MB"):
        decode_image(encode(astronaut()), ImageLimits(max_bytes=1000))


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "CMYK", "I;16", "LA", "1"])
def test_every_common_mode_decodes_to_rgb(mode):
    image = Image.fromarray(astronaut())
    if mode == "I;16":
        gray = np.asarray(image.convert("L"), dtype=np.uint16) * 257
        image = Image.fromarray(gray)
        assert image.mode.startswith("I;16")
    else:
        image = image.convert(mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    pixels = decode_image(_save(image, fmt))
    assert pixels.shape == (512, 512, 3) and pixels.dtype == np.uint8
    assert 40 < pixels.mean() < 220


def _save(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_transparent_pixels_become_white():
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    pixels = decode_image(encode(rgba))
    assert (pixels == 255).all()


def test_exif_orientation_is_applied():
    wide = np.zeros((20, 40, 3), dtype=np.uint8)
    image = Image.fromarray(wide)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert decode_image(buffer.getvalue()).shape == (40, 20, 3)


def test_animation_yields_its_first_frame():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    pixels = decode_image(buffer.getvalue())
    assert pixels[0, 0, 0] > 200 and pixels[0, 0, 2] < 50


@pytest.mark.parametrize(
    ("name", "size"),
    [("tall.png", "96x65632"), ("strip.png", "1000000x24"), ("lying.jpg", "40000x1000")],
)
def test_known_killers_are_refused_from_their_header(name, size):
    with pytest.raises(ImageTooLarge, match=f"the image is {size} pixels; the longest side"):
        decode_image(known_killers()[name])


def test_the_aspect_limit_refuses_a_thin_strip_within_the_side_limit():
    strip = encode(np.zeros((5000, 100, 3), np.uint8))
    with pytest.raises(ImageTooLarge, match="100x5000 pixels, a strip"):
        decode_image(strip)
    assert decode_image(strip, ImageLimits(max_aspect=60)).shape == (5000, 100, 3)


def test_the_decoded_size_counts_channels_and_bit_depth():
    rgba = encode(np.zeros((100, 100, 4), np.uint8))  # 40,000 bytes decoded
    gray = encode(np.zeros((100, 100), np.uint8))  # 10,000 bytes decoded
    limits = ImageLimits(max_decoded_bytes=30_000)
    with pytest.raises(ImageTooLarge, match="decoded"):
        decode_image(rgba, limits)
    assert decode_image(gray, limits).shape == (100, 100, 3)


def test_garbage_exif_is_ignored_not_fatal():
    jpeg = encode(astronaut(), "JPEG")
    body = b"Exif\x00\x00II*\x00" + bytes(range(256)) * 2
    damaged = jpeg[:2] + b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body + jpeg[2:]
    assert decode_image(damaged).shape == (512, 512, 3)


def test_a_float_image_with_nan_decodes():
    values = np.full((20, 20), np.nan, dtype=np.float32)
    values[:10] = 1.0
    pixels = decode_image(_save(Image.fromarray(values), "TIFF"))
    assert pixels.shape == (20, 20, 3)
