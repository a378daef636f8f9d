"""Guarded image decoding: every failure is an ImageError with a message fit for a user."""

from __future__ import annotations

import contextlib
import io

import numpy as np
from PIL import Image, ImageMode, ImageOps, UnidentifiedImageError

from model.settings import ImageLimits

# Pillow's global decompression-bomb guard is replaced by ImageLimits, checked on
# the header of every decoded file, so its messages can name the size.
Image.MAX_IMAGE_PIXELS = None
DEFAULT_LIMITS = ImageLimits()


class ImageError(Exception):
    """An image konomi cannot use. `str(error)` is safe to show to the user."""


class EmptyImage(ImageError):
    pass


class NotAnImage(ImageError):
    pass


class ImageTooLarge(ImageError):
    pass


class CorruptImage(ImageError):
    pass


def check_file_size(size: int, limits: ImageLimits) -> None:
    """Refuse a file over `limits.max_bytes` before reading or decoding it."""
    if size > limits.max_bytes:
        raise ImageTooLarge(
            f"the file is {size / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.1f} MB"
        )


def check_header(width: int, height: int, mode: str, limits: ImageLimits) -> None:
    """Refuse, from the header alone, a canvas no face photo needs (raises ImageTooLarge
    or CorruptImage with the reason)."""
    if width < 1 or height < 1:
        raise CorruptImage("the image has no pixels")
    if max(width, height) > limits.max_side:
        raise ImageTooLarge(
            f"the image is {width}x{height} pixels; the longest side may be "
            f"{limits.max_side} pixels"
        )
    if max(width, height) / min(width, height) > limits.max_aspect:
        raise ImageTooLarge(
            f"the image is {width}x{height} pixels, a strip rather than a photo; the "
            f"longest side may be at most {limits.max_aspect:g} times the shortest"
        )
    if width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} pixels; the limit is "
            f"{limits.max_pixels / 1e6:.0f} megapixels"
        )
    try:
        descriptor = ImageMode.getmode(mode)
        per_pixel = len(descriptor.bands) * np.dtype(descriptor.typestr).itemsize
    except (KeyError, TypeError):
        raise NotAnImage(f"this image's pixel format ({mode}) is not supported") from None
    decoded = width * height * per_pixel
    if decoded > limits.max_decoded_bytes:
        raise ImageTooLarge(
            f"the image would take {decoded / 1e6:.0f} MB decoded ({width}x{height}, "
            f"{mode}); the limit is {limits.max_decoded_bytes / 1e6:.0f} MB"
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any mode (RGBA, P, L, CMYK, 16-bit) to 8-bit RGB; transparency becomes white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        gray = np.clip(pixels / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if image.mode == "F":
        pixels = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        span = max(float(pixels.max() - pixels.min()), 1e-12)
        gray = ((pixels - pixels.min()) / span * 255.0).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def decode_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Decode the first frame of an image file to an HxWx3 uint8 RGB array.

    Size limits are checked on the bytes and on the header before any pixel is
    decoded, so a small file that declares a huge canvas costs nothing.
    """
    if not data:
        raise EmptyImage("the file is empty (0 bytes)")
    check_file_size(len(data), limits)
    try:
        image = Image.open(io.BytesIO(data))
        check_header(*image.size, image.mode, limits)
        image.seek(0)  # first frame of an animation
        image.load()
        rgb = _to_rgb(_upright(image))
        del image  # the decoded copy: one large buffer at a time
        return np.asarray(rgb, dtype=np.uint8)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise NotAnImage(
            "this is not an image konomi can read (JPEG, PNG, WebP, GIF, ...)"
        ) from None
    except MemoryError:
        raise ImageTooLarge("the image needs more memory to decode than konomi allows") from None
    except Exception as error:  # Pillow raises many kinds on hostile input
        raise CorruptImage(f"the image is damaged or truncated ({error})") from None


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; unreadable EXIF is ignored."""
    with contextlib.suppress(Exception):  # garbage EXIF does not make the pixels unusable
        ImageOps.exif_transpose(image, in_place=True)  # in place: no second full copy
    return image


def encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """Decode a crop konomi stored itself (trusted PNG bytes)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
