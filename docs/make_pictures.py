"""Draws the README's pictures through konomi's own renderer (bot/services/render.py):
a pair as members vote on it and a ranking sheet as `/rank` sends it.

The faces are drawn here (no real person's face is rated in the docs):

    python docs/make_pictures.py     # writes docs/images/pair.png and ranking.png
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bot.services import render

HERE = Path(__file__).resolve().parent


def drawn_face(seed: int, size: int = 256) -> np.ndarray:
    """A simple drawn face: skin, hair, eyes and a mouth whose curve varies with `seed`."""
    rng = np.random.default_rng(seed)
    background = tuple(int(v) for v in rng.integers(60, 200, 3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    skin = tuple(int(v) for v in (rng.integers(170, 250), rng.integers(130, 200), 120))
    hair = tuple(int(v) for v in rng.integers(10, 120, 3))
    draw.ellipse((40, 20, 216, 150), fill=hair)
    draw.ellipse((56, 40, 200, 236), fill=skin)
    eye_y, spread = int(rng.integers(105, 125)), int(rng.integers(28, 40))
    for x in (128 - spread, 128 + spread):
        draw.ellipse((x - 10, eye_y - 7, x + 10, eye_y + 7), fill=(250, 250, 250))
        draw.ellipse((x - 5, eye_y - 5, x + 5, eye_y + 5), fill=(40, 30, 30))
    smile = float(rng.uniform(-1, 1))
    mouth_y = 185
    box = (98, mouth_y - 20, 158, mouth_y + 20)
    if smile > 0:
        draw.arc(box, 20, 160, fill=(150, 40, 50), width=5)
    else:
        draw.arc((98, mouth_y, 158, mouth_y + 40), 200, 340, fill=(150, 40, 50), width=5)
    return np.asarray(image)


def main() -> None:
    (HERE / "images").mkdir(exist_ok=True)
    pair = render.pair_image(drawn_face(1), drawn_face(2), 17, 42)
    (HERE / "images" / "pair.png").write_bytes(pair)
    faces = [drawn_face(seed) for seed in range(3, 8)]
    names = ["beach.jpg", "party.png", "portrait.jpg", "hiking.jpg", "office.png"]
    sheet = render.ranking_sheet(faces, names, [0.81, 0.66, 0.52, 0.37, 0.22])
    (HERE / "images" / "ranking.png").write_bytes(sheet)
    print("wrote docs/images/pair.png and docs/images/ranking.png")


if __name__ == "__main__":
    main()
