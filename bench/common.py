"""Shared by the benchmark scripts: the machine's description and face crops from files."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"


def machine() -> str:
    import keras

    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {cpu}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Keras {keras.__version__} on {keras.backend.backend()}"
    )


def train_guild_model(config: Path, guild_id: int) -> None:
    """`python -m bot train` for a guild, as an operator runs it (the bot's own settings)."""
    import subprocess
    import sys

    trained = subprocess.run(
        [sys.executable, "-m", "bot", "train", "--config", str(config), "--guild", str(guild_id)],
        capture_output=True,
        text=True,
    )
    assert trained.returncode == 0, trained.stderr


def crops_from_files(paths: list[Path], size: int = 80) -> tuple[list[Path], np.ndarray]:
    """The largest face of each file (files without one are left out), as the bot
    crops it at `size` px."""
    from model.faces import DetectorSettings, NoFaceFound, extract_faces
    from model.images import decode_image

    kept, crops = [], []
    for path in paths:
        try:
            face = extract_faces(decode_image(path.read_bytes()), DetectorSettings(crop_size=size))
        except NoFaceFound:
            continue
        kept.append(path)
        crops.append(face[0].pixels)
    return kept, np.stack(crops)


def descriptors_of(crops: np.ndarray) -> np.ndarray:
    """Each crop's face descriptor, as ingest takes it (zeros where dlib refuses one)."""
    from model.descriptor import stack_descriptors
    from model.faces import FaceCrop
    from model.reading import with_descriptors
    from model.settings import DetectorSettings

    faces = [FaceCrop(crop, (0, 0, 0, 0)) for crop in crops]
    described = with_descriptors(faces, DetectorSettings())
    return stack_descriptors([face.descriptor for face in described])


def faces_with_descriptors(
    paths: list[Path], cache: Path, size: int = 256
) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """`crops_from_files` at the bot's stored size and the crops' descriptors, kept in
    `cache` (an .npz) after the first run: describing 1,000 faces takes minutes here."""
    if cache.exists():
        saved = np.load(cache)
        names = {p.name: p for p in paths}
        return [names[n] for n in saved["names"]], saved["crops"], saved["descriptors"]
    kept, crops = crops_from_files(paths, size=size)
    descriptors = descriptors_of(crops)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, names=[p.name for p in kept], crops=crops, descriptors=descriptors)
    return kept, crops, descriptors


def raw_hogs(crops: np.ndarray, cache: Path) -> tuple[np.ndarray, float, float]:
    """Every crop's raw HOG (cached), the milliseconds per face of the chip + HOG, and
    of the descriptor alone (measured on 50 faces)."""
    from model.descriptor import aligned_chip, describe
    from model.expression import expression_hog
    from model.settings import DetectorSettings

    margin = DetectorSettings().margin
    sample = crops[:50]
    began = time.perf_counter()
    for crop in sample:
        expression_hog(aligned_chip(crop, margin))
    hog_ms = (time.perf_counter() - began) / len(sample) * 1000
    began = time.perf_counter()
    for crop in sample:
        describe(crop, margin)
    descriptor_ms = (time.perf_counter() - began) / len(sample) * 1000
    if cache.exists():
        return np.load(cache)["hogs"], hog_ms, descriptor_ms
    hogs = np.stack([expression_hog(aligned_chip(crop, margin)) for crop in crops])
    np.savez(cache, hogs=hogs)
    return hogs, hog_ms, descriptor_ms


def features(descriptors, hogs, pool, with_hog: bool, widths=None) -> np.ndarray:
    """The descriptor, and beside it the HOG blocks projected on the basis a guild
    model fits on its pool's faces (`ExpressionPCA.for_pool` and `with_expression`, as
    the bot does); `widths`: directions per region (None: the bot's)."""
    from model.expression import COMPONENTS, ExpressionPCA, with_expression

    if not with_hog:
        return descriptors
    basis = ExpressionPCA.for_pool(descriptors[pool], hogs[pool], widths or COMPONENTS)
    return with_expression(descriptors, hogs, basis)
