"""Ranking, /mytaste, /stats, /export and /forget on one trained guild."""

import csv
import io
import json

import pytest
from PIL import Image

from bot.services.errors import NoGuildModel, NoPersonalModel, NothingToRank
from tests.bot.conftest import ALICE, GUILD
from tests.bot.services.conftest import open_service
from tests.images import astronaut, encode


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A guild model and Alice's model, trained once for this module."""
    import asyncio

    folder = tmp_path_factory.mktemp("trained")

    async def train():
        service = await open_service(folder, faces=20)
        try:
            await service.training.train_now(GUILD, ALICE)  # the guild's first, then hers
        finally:
            await service.close()

    asyncio.run(train())
    return folder


async def test_uploads_are_ranked_best_first_with_the_unreadable_listed(trained):
    service = await open_service_on(trained)
    try:
        files = [("astronaut.png", encode(astronaut())), ("notes.png", b"not an image")]
        ranked = await service.ranking.rank_files(GUILD, ALICE, files, [("gone.png", "404")])
        assert ranked.personal and ranked.version == 1
        assert [u.name for u in ranked.uploads] == ["astronaut.png"]
        assert [name for name, _ in ranked.problems] == ["gone.png", "notes.png"]
        assert list(ranked.scores) == sorted(ranked.scores, reverse=True)
        assert 0 < ranked.beats_median[0] < 1 and ranked.sheet().startswith(b"\x89PNG")
        stranger = await service.ranking.rank_files(GUILD, 999, files[:1])
        assert not stranger.personal  # the guild's model ranks for people without one
        with pytest.raises(NothingToRank, match="notes.png"):
            await service.ranking.rank_files(GUILD, ALICE, files[1:])
        with pytest.raises(NoGuildModel, match="no model yet"):
            await service.ranking.rank_files(GUILD + 1, ALICE, files[:1])
    finally:
        await service.close()


async def test_mytaste_shows_the_members_favourites_above_the_servers(trained):
    service = await open_service_on(trained)
    try:
        taste = await service.ranking.my_taste(GUILD, ALICE)
        assert taste.personal_version == 1 and taste.shown == 5
        sheet = Image.open(io.BytesIO(taste.png))
        others = await service.ranking.my_taste(GUILD, 999)  # no model: the server's only
        assert others.personal_version is None
        alone = Image.open(io.BytesIO(others.png))
        assert sheet.width == alone.width and sheet.height > 1.8 * alone.height  # two rows
        # Asked again, the same model versions reuse their pool scores: the same sheet.
        assert (await service.ranking.my_taste(GUILD, ALICE)).png == taste.png
        assert service.ranking.pool_scorings == 2  # the guild's and Alice's
    finally:
        await service.close()


async def test_a_taste_match_needs_two_personal_models(trained):
    service = await open_service_on(trained)
    try:
        assert await service.ranking.taste_match(GUILD, ALICE, ALICE) == pytest.approx(1.0)
        with pytest.raises(NoPersonalModel, match="both of you to have a model"):
            await service.ranking.taste_match(GUILD, ALICE, 999)
    finally:
        await service.close()


async def test_stats_export_and_forget(trained):
    service = await open_service_on(trained)
    try:
        stats = await service.privacy.stats(GUILD, ALICE)
        assert stats.votes > 0 and stats.version == 1
        assert stats.metrics.final.votes > 0 and stats.metrics.guild_final is not None
        export = await service.privacy.export(GUILD, ALICE)
        rows = list(csv.reader(io.StringIO(export.votes_csv.decode())))
        assert rows[0] == ["face_a", "face_b", "outcome", "voted_at"]
        assert len(rows) - 1 == export.votes == stats.votes
        assert json.loads(export.model_json)["model_version"] == 1
        forgotten = await service.privacy.forget(GUILD, ALICE)
        assert forgotten.votes == stats.votes and forgotten.models == 1
        after = await service.privacy.stats(GUILD, ALICE)
        assert after.votes == 0 and after.version is None
        assert not (await service.ranking.rank_files(GUILD, ALICE, _astronaut())).personal
    finally:
        await service.close()


def _astronaut():
    return [("astronaut.png", encode(astronaut()))]


async def open_service_on(folder):
    """A second service on the module's trained database (populate is not run again)."""
    from bot.config import load_settings
    from bot.services.konomi import KonomiService
    from storage import open_database
    from tests.bot.conftest import write_config

    settings = load_settings(write_config(folder), environ={})
    return KonomiService(await open_database(folder / "k.sqlite3"), settings)
