"""What the bot shows: a pair to vote on, a ranking sheet, and figures as people read them."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PAIR_SIDE = 256
THUMB = 128


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pair_image(crop_a: np.ndarray, crop_b: np.ndarray, face_a: int, face_b: int) -> bytes:
    """Two faces side by side, labelled A and B, with their face ids in small print."""
    gap, label_height = 16, 44
    width = PAIR_SIDE * 2 + gap * 3
    canvas = Image.new("RGB", (width, PAIR_SIDE + label_height + gap), (24, 24, 28))
    draw = ImageDraw.Draw(canvas)
    for index, (crop, face_id, letter) in enumerate(((crop_a, face_a, "A"), (crop_b, face_b, "B"))):
        left = gap + index * (PAIR_SIDE + gap)
        face = Image.fromarray(crop).resize((PAIR_SIDE, PAIR_SIDE), Image.Resampling.LANCZOS)
        canvas.paste(face, (left, gap))
        draw.text((left + 8, PAIR_SIDE + gap + 6), letter, fill=(255, 255, 255), font=_font(28))
        draw.text(
            (left + PAIR_SIDE - 8, PAIR_SIDE + gap + 16),
            f"face {face_id}",
            fill=(150, 150, 160),
            font=_font(14),
            anchor="ra",
        )
    return _png(canvas)


def ranking_sheet(crops: list[np.ndarray], labels: list[str], beats_median: list[float]) -> bytes:
    """Thumbnails in ranked order (best first), each with its rank and P(beats median)."""
    columns = min(5, len(crops))
    rows = (len(crops) + columns - 1) // columns
    cell_w, cell_h, pad = THUMB + 16, THUMB + 56, 8
    canvas = Image.new("RGB", (columns * cell_w + pad, rows * cell_h + pad), (24, 24, 28))
    draw = ImageDraw.Draw(canvas)
    for index, (crop, label, chance) in enumerate(zip(crops, labels, beats_median, strict=True)):
        x = pad + (index % columns) * cell_w
        y = pad + (index // columns) * cell_h
        canvas.paste(Image.fromarray(crop).resize((THUMB, THUMB), Image.Resampling.LANCZOS), (x, y))
        draw.text(
            (x, y + THUMB + 4), f"#{index + 1}  {chance:.0%}", fill=(255, 255, 255), font=_font(16)
        )
        draw.text((x, y + THUMB + 26), label[:20], fill=(150, 150, 160), font=_font(12))
    return _png(canvas)


def percent(value: float | None) -> str:
    """An accuracy or a chance for people to read; "n/a" when there is none."""
    return "n/a" if value is None else f"{value:.0%}"
