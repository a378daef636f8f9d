import numpy as np
import pytest

from model.faces import phash
from model.images import encode_png
from storage import open_database, pool, votes
from tests.images import lfw_crops

GUILD, CROWD, ALICE = 1, range(100, 110), 42


def write_config(tmp_path, **training) -> str:
    options = {"max_epochs": 6, "patience": 3, **training}
    lines = ["[storage]", 'database = "k.sqlite3"', "[training]"]
    lines += [f"{key} = {value}" for key, value in options.items()]
    lines += ["[worker]", "poll_interval_s = 0.1"]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


async def populate(
    path,
    crowd_votes: int = 40,
    alice_votes: int = 60,
    seed: int = 0,
    guild: int = GUILD,
    alice: int = ALICE,
    crowd=CROWD,
    faces: int | None = None,
):
    """A pool of real LFW faces; a crowd that likes bright faces, Alice who likes dark ones.

    Returns the face ids in pool order and each face's brightness."""
    db = await open_database(path)
    try:
        crops = lfw_crops()[:faces]
        face_ids = []
        for index, crop in enumerate(crops):
            face_ids += await pool.add_source(
                db,
                guild,
                f"hash{index}",
                f"lfw{index}.png",
                [pool.NewFace(encode_png(crop), (0, 0, 80, 80), phash(crop))],
            )
        brightness = np.array([crop.mean() for crop in crops])
        rng = np.random.default_rng(seed)

        def votes_for(taste, count):
            a, b = rng.integers(0, len(crops), count), rng.integers(0, len(crops), count)
            return [
                (face_ids[i], face_ids[j], float(taste[i] > taste[j]))
                for i, j in zip(a, b, strict=True)
                if i != j
            ]

        for user in crowd:
            if crowd_votes:
                await votes.add_votes(db, guild, user, votes_for(brightness, crowd_votes))
        if alice_votes:
            await votes.add_votes(db, guild, alice, votes_for(-brightness, alice_votes))
        return face_ids, brightness
    finally:
        await db.close()


@pytest.fixture
async def db_path(tmp_path):
    return tmp_path / "k.sqlite3"
