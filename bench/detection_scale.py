"""Face detection on a downscaled copy vs on the full photo: time and agreement.

Phone photos are 12 megapixels; Haar detection on all of them costs seconds and
gigabytes. konomi searches a copy whose longest side is at most
[faces] detect_max_side (1024) and maps the boxes back.

    python bench/detection_scale.py [--photos 20] [--side 4000] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, machine  # noqa: E402


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--side", type=int, default=4000, help="photos are upscaled to this")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    import cv2
    import numpy as np

    from model.faces import detect_faces
    from model.images import decode_image
    from model.settings import DetectorSettings

    paths = sorted((args.data / "london" / "images").glob("*.jpg"))[: args.photos]
    if paths:
        sources, kind = [decode_image(p.read_bytes()) for p in paths], "London set"
    else:
        from tests.images import astronaut, lfw_faces

        sources, kind = [astronaut(), *lfw_faces(512)][: args.photos], "astronaut + LFW"
    photos = [cv2.resize(s, (args.side, args.side), interpolation=cv2.INTER_CUBIC) for s in sources]
    settings = {
        "downscaled": DetectorSettings(),
        "full photo (before)": DetectorSettings(detect_max_side=10 * args.side),
    }
    seconds, boxes = {}, {}
    for name, setting in settings.items():
        began = time.perf_counter()
        boxes[name] = [detect_faces(photo, setting) for photo in photos]
        seconds[name] = (time.perf_counter() - began) / len(photos)
    both = [
        (d[0], f[0])
        for d, f in zip(boxes["downscaled"], boxes["full photo (before)"], strict=True)
        if d and f
    ]
    print(f"machine: {machine()}")
    print(f"{len(photos)} photos ({kind}) at {args.side}x{args.side}")
    for name in settings:
        found = sum(bool(b) for b in boxes[name])
        print(f"{name}: {seconds[name] * 1000:.0f} ms per photo, a face in {found}")
    ratio = seconds["full photo (before)"] / seconds["downscaled"]
    print(
        f"speed-up: {ratio:.1f}x; largest boxes agree "
        f"(IoU >= 0.5) on {sum(iou(a, b) >= 0.5 for a, b in both)} of {len(both)}; "
        f"median IoU {np.median([iou(a, b) for a, b in both]):.2f}"
    )


if __name__ == "__main__":
    main()
