import pytest

from bot.services.errors import NoGuildModel, NotEnoughVotes, TooSoon
from tests.bot.conftest import ALICE, GUILD
from tests.bot.services.conftest import open_service


async def test_a_person_asking_again_joins_their_job_and_is_told_to_wait_after(tmp_path):
    service = await open_service(tmp_path, worker={"retrain_cooldown_s": 600}, faces=6)
    try:
        first = await service.training.request(GUILD, ALICE, notify_channel_id=5)
        assert first.created and first.position == 1
        with pytest.raises(TooSoon, match="too often .* try again in") as refused:
            await service.training.request(GUILD, ALICE, notify_channel_id=5)
        assert 0 < refused.value.retry_after <= 600
        guild = await service.training.request(GUILD, None)  # no cooldown for the guild's
        assert guild.created and guild.position == 2
    finally:
        await service.close()


async def test_models_need_votes_and_a_person_needs_the_guild_model(tmp_path):
    service = await open_service(tmp_path, faces=6, crowd_votes=0, alice_votes=40)
    try:
        with pytest.raises(NotEnoughVotes, match="this server has 0 votes"):
            await service.training.build_job(GUILD + 1, None)
        with pytest.raises(NoGuildModel):
            await service.training.build_job(GUILD, ALICE)
    finally:
        await service.close()
