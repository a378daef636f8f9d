import pytest

from bot.services.errors import EveryPairSeen, NotAPair, PoolTooSmall
from tests.bot.conftest import ALICE, GUILD

BOB = 77


async def test_pairs_are_never_repeated_until_every_pair_was_seen(service):
    voting = service.voting
    shown = set()
    for message_id in range(1, 16):  # 6 faces: 15 pairs
        a, b = await voting.choose_pair(GUILD, ALICE)
        assert a != b and frozenset((a, b)) not in shown
        shown.add(frozenset((a, b)))
        await voting.remember(message_id, GUILD, 5, a, b, posted_for=ALICE)
    with pytest.raises(EveryPairSeen, match="every pair"):
        await voting.choose_pair(GUILD, ALICE)
    assert await voting.choose_pair(GUILD, BOB)  # someone else still gets pairs


async def test_an_empty_pool_says_how_to_fill_it(service):
    with pytest.raises(PoolTooSmall, match="/pool add"):
        await service.voting.choose_pair(GUILD + 1, ALICE)


async def test_latest_reaction_wins_removal_falls_back_and_the_first_vote_asks_for_more(service):
    voting = service.voting
    a, b = await voting.choose_pair(GUILD, ALICE)
    await voting.remember(10, GUILD, 5, a, b, posted_for=ALICE)
    first = await voting.record(10, GUILD, ALICE, 1.0)
    assert first.vote == 1.0 and first.first_on_own_pair
    second = await voting.record(10, GUILD, ALICE, 0.0)
    assert second.vote == 0.0 and not second.first_on_own_pair
    await voting.withdraw(10, GUILD, ALICE, 0.0)
    stats = await service.privacy.stats(GUILD, ALICE)
    assert stats.votes == 1  # back to the remaining reaction (A)
    await voting.withdraw(10, GUILD, ALICE, 1.0)
    assert (await service.privacy.stats(GUILD, ALICE)).votes == 0
    bob = await voting.record(10, GUILD, BOB, 0.5)
    assert bob.vote == 0.5 and not bob.first_on_own_pair  # not posted for Bob


async def test_reactions_elsewhere_are_not_votes(service):
    voting = service.voting
    a, b = await voting.choose_pair(GUILD, ALICE)
    await voting.remember(10, GUILD, 5, a, b, posted_for=None)
    assert await voting.record(11, GUILD, ALICE, 1.0) is None  # not a pair
    assert await voting.record(10, GUILD + 1, ALICE, 1.0) is None  # another guild's id
    with pytest.raises(NotAPair):
        await voting.pair_of(10, GUILD + 1)
    assert (await voting.pair_of(10, GUILD)).face_a == a


async def test_scheduled_channels_come_due_once_per_interval(service):
    voting = service.voting
    await voting.enable_channel(GUILD, 500, interval_s=60, enabled_by=ALICE)
    assert [c.channel_id for c in await voting.channels_due(now=1000)] == [500]
    assert await voting.channels_due(now=1030) == []
    assert [c.channel_id for c in await voting.channels_due(now=1061)] == [500]
    assert await voting.disable_channel(GUILD, 500)
    assert await voting.channels_due(now=5000) == []
