import sqlite3

import pytest

from bot.config import HelperSettings
from bot.services.imaging import ImageHelpers
from bot.services.ingest import ingest_paths
from model.faces import DetectorSettings
from model.images import ImageLimits
from storage import open_database, pool
from tests.images import astronaut, declared_huge_png, encode, lfw_faces, no_face_image, write_video


async def ingest(db, paths, detector=None, **kwargs):
    options = dict(video_interval_s=1.0, near_duplicate_distance=4, progress=False)
    options.update(kwargs)
    images = ImageHelpers(HelperSettings(), detector or DetectorSettings(), ImageLimits())
    try:
        return await ingest_paths(db, 1, paths, images, **options)
    finally:
        images.close()


@pytest.fixture
async def db(tmp_path):
    connection = await open_database(tmp_path / "k.sqlite3")
    yield connection
    await connection.close()


def faces_folder(tmp_path, count=20):
    folder = tmp_path / "faces"
    (folder / "nested").mkdir(parents=True)
    for index, image in enumerate(lfw_faces()[:count]):
        target = folder / ("nested" if index % 2 else "") / f"{index:03}.png"
        target.write_bytes(encode(image))
    (folder / "notes.txt").write_text("not an image, and not picked from a folder")
    return folder


async def test_folder_ingest_is_recursive_and_idempotent(db, tmp_path):
    folder = faces_folder(tmp_path)
    first = await ingest(db, [folder])
    assert first.files_read == 20
    assert first.faces_added >= 14
    assert first.faces_added + len(first.failures) + first.near_duplicates_skipped >= 20
    assert all("no face" in str(reason) for _, reason in first.failures)
    second = await ingest(db, [folder])
    assert second.faces_added == 0
    assert second.sources_already_known == first.files_read - len(first.failures)
    assert await pool.count_faces(db, 1) == first.faces_added


async def test_each_face_is_stored_sharp_with_its_descriptor(db, tmp_path):
    from model.descriptor import unpack_descriptor
    from model.images import decode_png

    (tmp_path / "a.png").write_bytes(encode(astronaut()))
    summary = await ingest(db, [tmp_path / "a.png"])
    [face_id] = summary.face_ids
    crop = decode_png((await pool.face_crops(db, 1, [face_id]))[face_id])
    stored = await pool.face_descriptors(db, 1, [face_id])
    assert crop.shape == (256, 256, 3)
    assert unpack_descriptor(stored[face_id]).shape == (128,)


async def test_a_recompressed_copy_is_a_near_duplicate(db, tmp_path):
    (tmp_path / "a.png").write_bytes(encode(astronaut()))
    (tmp_path / "b.jpg").write_bytes(encode(astronaut(), "JPEG", quality=90))
    summary = await ingest(db, [tmp_path / "a.png", tmp_path / "b.jpg"])
    assert summary.faces_added == 1 and summary.near_duplicates_skipped == 1


async def test_bad_files_are_reported_write_nothing_and_the_run_goes_on(db, tmp_path):
    good = encode(astronaut(), "JPEG")
    files = {
        "empty.jpg": b"",
        "truncated.jpg": good[: len(good) // 3],
        "text.jpg": b"hello, I am text\n" * 10,
        "huge.png": declared_huge_png(),
        "noface.png": encode(no_face_image()),
        "zz_good.jpg": good,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    summary = await ingest(db, sorted(tmp_path / name for name in files) + [tmp_path / "gone.jpg"])
    assert summary.faces_added == 1
    reasons = {name: str(why) for name, why in summary.failures}
    assert len(reasons) == 6
    assert "empty" in reasons[str(tmp_path / "empty.jpg")]
    assert "truncated" in reasons[str(tmp_path / "truncated.jpg")]
    assert "not an image" in reasons[str(tmp_path / "text.jpg")]
    assert "20000x20000" in reasons[str(tmp_path / "huge.png")]
    assert "no such file" in reasons[str(tmp_path / "gone.jpg")]
    async with db.execute("SELECT COUNT(*) FROM sources") as cursor:
        assert (await cursor.fetchone())[0] == 1


async def test_video_frames_are_sampled_and_repeated_faces_kept_once(db, tmp_path):
    import cv2

    person = cv2.resize(astronaut(), (320, 320), interpolation=cv2.INTER_AREA)
    frames = [person] * 4 + [no_face_image(size=320)] * 2 + [lfw_faces(320)[0]] * 4
    video = write_video(tmp_path / "clip.avi", frames, fps=2.0)
    summary = await ingest(db, [video], video_interval_s=1.0)
    assert summary.failures == []
    assert summary.faces_added == 2  # the astronaut once, the LFW face once
    assert summary.near_duplicates_skipped >= 2
    again = await ingest(db, [video])
    assert again.faces_added == 0 and again.sources_already_known == 1


async def test_a_broken_video_is_a_failure_not_a_crash(db, tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 1000)
    summary = await ingest(db, [tmp_path / "broken.mp4"])
    assert summary.faces_added == 0 and len(summary.failures) == 1


async def test_the_cli_ingests_and_prints_a_summary(tmp_path):
    import subprocess
    import sys

    folder = faces_folder(tmp_path, count=6)
    config = tmp_path / "config.toml"
    config.write_text('[storage]\ndatabase = "pool.sqlite3"\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "ingest",
            "--config",
            str(config),
            "--guild",
            "3",
            "--quiet",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "files read: 6" in result.stdout
    added = int(result.stdout.split("faces added: ")[1].split()[0])
    count = (
        sqlite3.connect(tmp_path / "pool.sqlite3")
        .execute("SELECT COUNT(*) FROM faces WHERE guild_id = 3")
        .fetchone()[0]
    )
    assert count == added >= 4


async def test_real_london_photos(db, shared_data):
    summary = await ingest(db, [shared_data / "london" / "images"])
    assert summary.faces_added >= 100
    assert (await ingest(db, [shared_data / "london" / "images"])).faces_added == 0
