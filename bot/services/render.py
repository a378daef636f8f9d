"""What the bot shows: a pair to vote on, a ranking sheet, and figures as people read them."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from importlib.resources import files

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bot.i18n import Text, msg
from model.metrics import PairwiseMetrics, wilson_interval

PAIR_SIDE = 256
THUMB = 128
# Noto Sans CJK JP (SIL OFL), shipped in a registry package: Latin, kana and kanji, so
# Japanese labels and file names draw as text, not as boxes.
FONT_FILE = files("noto_cjk_sans_jp_regular") / "NotoSansCJKjp-Regular.otf"


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    """By path: FreeType reads the 16 MB font as it needs it (given its bytes, Pillow
    would keep a copy per size in the bot's memory)."""
    return ImageFont.truetype(str(FONT_FILE), size)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pair_image(
    crop_a: np.ndarray,
    crop_b: np.ndarray,
    face_a: int,
    face_b: int,
    face_label: Callable[[int], str] = "face {}".format,
) -> bytes:
    """Two faces side by side, labelled A and B, with their face ids in small print
    (`face_label`: in the reader's language)."""
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
            face_label(face_id),
            fill=(150, 150, 160),
            font=_font(14),
            anchor="ra",
        )
    return _png(canvas)


def ranking_sheet(
    crops: list[np.ndarray], labels: list[str], chances: list[float] | None = None
) -> bytes:
    """Thumbnails in order (best first), each with its place, its chance to be preferred
    over a typical pool face (when given), and its full name, wrapped to the thumbnail."""
    columns = min(5, len(crops))
    rows = (len(crops) + columns - 1) // columns
    label_font, line_height = _font(12), 15
    cell_w, pad = THUMB + 16, 8
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    wrapped = [_wrap(draw, label, label_font, THUMB + 8) for label in labels]
    row_lines = [
        max(len(lines) for lines in wrapped[row * columns : (row + 1) * columns])
        for row in range(rows)
    ]
    row_heights = [THUMB + 30 + lines * line_height + 8 for lines in row_lines]
    canvas = Image.new("RGB", (columns * cell_w + pad, sum(row_heights) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(canvas)
    shown = [f"  {chance:.0%}" for chance in chances] if chances is not None else [""] * len(crops)
    for index, (crop, lines, chance) in enumerate(zip(crops, wrapped, shown, strict=True)):
        row = index // columns
        x = pad + (index % columns) * cell_w
        y = pad + sum(row_heights[:row])
        canvas.paste(Image.fromarray(crop).resize((THUMB, THUMB), Image.Resampling.LANCZOS), (x, y))
        draw.text((x, y + THUMB + 4), f"#{index + 1}{chance}", fill=(255, 255, 255), font=_font(16))
        for number, line in enumerate(lines):
            draw.text(
                (x, y + THUMB + 26 + number * line_height),
                line,
                fill=(150, 150, 160),
                font=label_font,
            )
    return _png(canvas)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> list[str]:
    """`text` in lines no wider than `width` pixels: at spaces where it can, else
    inside a word (file names often have none)."""
    lines: list[str] = []
    line = ""
    for char in text:
        if draw.textlength(line + char, font=font) <= width:
            line += char
            continue
        cut = line.rfind(" ")
        if char != " " and cut > 0:
            lines.append(line[:cut])
            line = line[cut + 1 :] + char
        else:
            lines.append(line)
            line = "" if char == " " else char
    return lines + [line] if line else lines or [""]


def percent(value: float | None) -> str | Text:
    """An accuracy or a chance for people to read; "n/a" (in their language) when there
    is none."""
    return msg("figures.not_available") if value is None else f"{value:.0%}"


# Fewer decided held-out votes than this say nothing about a model worth a percentage.
MIN_HELD_OUT = 8


def preference(chance: float) -> Text:
    """A chance to be preferred over a typical pool face, in words (50% = no preference)."""
    if chance >= 0.8:
        words = "strongly_preferred"
    elif chance >= 0.6:
        words = "preferred"
    elif chance > 0.55:
        words = "slightly_preferred"
    elif chance >= 0.45:
        words = "no_preference"
    elif chance > 0.4:
        words = "slightly_less"
    elif chance > 0.2:
        words = "less"
    else:
        words = "much_less"
    return msg(f"figures.{words}")


def held_out(metrics: PairwiseMetrics, guild: PairwiseMetrics | None = None) -> Text:
    """How a model did on votes it never trained on, as "N of M" with its 95% interval
    (Wilson), and the server model's on the same votes; a model judged on too few votes
    says so instead of a percentage."""
    judged = metrics.decided
    if metrics.accuracy is None or judged < MIN_HELD_OUT:
        return msg("figures.too_few", judged=judged)
    agreed = round(metrics.accuracy * judged)
    low, high = wilson_interval(agreed, judged)
    text = msg(
        "figures.agreed",
        agreed=agreed,
        judged=judged,
        accuracy=percent(metrics.accuracy),
        low=percent(low),
        high=percent(high),
    )
    if guild is not None and guild.accuracy is not None and guild.decided == judged:
        agreed_guild = round(guild.accuracy * judged)
        return msg("figures.guild_agreed", text=text, agreed=agreed_guild, judged=judged)
    return text
