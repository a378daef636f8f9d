import pytest

from bot.services.errors import PoolTooSmall, UnknownFace
from storage import jobs
from tests.bot.conftest import ALICE, GUILD
from tests.bot.services.conftest import open_service


async def test_removing_a_face_deletes_its_votes_and_queues_a_guild_retrain(tmp_path):
    service = await open_service(tmp_path, faces=6, crowd_votes=20, alice_votes=0)
    try:
        face_id = (await service.pool.faces(GUILD))[0].id
        before = (await service.pool.status(GUILD)).counts
        named = await service.pool.remove_face(GUILD, face_id)
        after = (await service.pool.status(GUILD)).counts
        print(f"votes {before.votes} -> {after.votes}, {named} named the face")
        assert named > 0 and after.votes == before.votes - named
        assert after.faces == before.faces - 1 and after.queued == 1
        queued = await jobs.enqueue(service.db, GUILD, None)
        assert not queued[1]  # the guild retrain is the one already waiting
        with pytest.raises(UnknownFace, match=f"no face `{face_id}`"):
            await service.pool.remove_face(GUILD, face_id)
    finally:
        await service.close()


async def test_a_report_hides_at_once_until_the_daily_limit_and_reaches_the_admins(tmp_path):
    service = await open_service(tmp_path, faces=12, crowd_votes=0, alice_votes=0)
    try:
        await _report_until_the_limit(service)
    finally:
        await service.close()


async def _report_until_the_limit(service):
    pool = service.pool
    await pool.set_reports_channel(GUILD, 900)
    faces = [face.id for face in await pool.faces(GUILD)]
    limit = service.settings.limits.reports_hiding_per_day
    assert limit < len(faces)
    reports = [await pool.report(GUILD, face_id, ALICE) for face_id in faces[: limit + 1]]
    assert [r.hidden for r in reports] == [True] * limit + [False]
    assert all(r.reports_channel_id == 900 and r.crop_png for r in reports)
    visible = await pool.faces(GUILD, include_hidden=False)
    assert len(visible) == len(faces) - limit
    await pool.set_hidden(GUILD, faces[0], False)  # an admin restores it
    assert len(await pool.faces(GUILD, include_hidden=False)) == len(faces) - limit + 1
    with pytest.raises(UnknownFace):
        await pool.report(GUILD + 1, faces[0], ALICE)  # another guild's face


async def test_pool_pages_and_faces(service):
    listing = await service.pool.page(GUILD, page=99)
    assert (listing.page, listing.pages, listing.total) == (1, 1, 6)
    assert listing.sheet.startswith(b"\x89PNG")
    shown = await service.pool.face(GUILD, listing.faces[0].id)
    assert shown.crop_png.startswith(b"\x89PNG")
    with pytest.raises(PoolTooSmall, match="empty"):
        await service.pool.page(GUILD + 1, 1)


async def test_a_guild_left_is_purged_after_the_grace_period_unless_back(service):
    pool = service.pool
    await pool.guild_left(GUILD)
    grace = service.settings.privacy.guild_grace_days * 86400
    await pool.purge_departed(still_present=set())  # within the grace period
    assert (await pool.status(GUILD)).counts.faces == 6
    await pool.purge_departed(still_present={GUILD}, now=10**12)
    assert (await pool.status(GUILD)).counts.faces == 6  # back in the guild: kept
    await pool.guild_left(GUILD)
    await pool.purge_departed(still_present=set(), now=10**12 + grace)
    assert (await pool.status(GUILD)).counts.faces == 0
