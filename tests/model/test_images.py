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
from tests.images import astronaut, declared_huge_png, encode


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
