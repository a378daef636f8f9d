import dataclasses

import numpy as np
import pytest

from bot.services.errors import EveryPairSeen, ImportRefused, NotAPair, PoolTooSmall
from bot.services.konomi import KonomiService
from bot.services.voting import ReactionEvent
from model.store import pack
from storage import models, pool, votes
from tests.bot.conftest import ALICE, GUILD
from tests.bot.services.conftest import open_service

BOB = 77


async def react(voting, message_id, guild_id, user_id, outcome, *, added=True):
    """One reaction event as the voting cog's writer hands it over."""
    event = ReactionEvent(message_id, guild_id, user_id, outcome, added)
    [recorded] = await voting.apply([event])
    return recorded


async def test_pairs_are_never_repeated_until_every_pair_was_seen(service):
    voting = service.voting
    shown = set()
    for message_id in range(1, 16):  # 6 faces: 15 pairs
        a, b, _ = await voting.choose_pair(GUILD, ALICE)
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
    a, b, _ = await voting.choose_pair(GUILD, ALICE)
    await voting.remember(10, GUILD, 5, a, b, posted_for=ALICE)
    first = await react(voting, 10, GUILD, ALICE, 1.0)
    assert first.vote == 1.0 and first.first_on_own_pair
    second = await react(voting, 10, GUILD, ALICE, 0.0)
    assert second.vote == 0.0 and not second.first_on_own_pair
    await react(voting, 10, GUILD, ALICE, 0.0, added=False)
    stats = await service.privacy.stats(GUILD, ALICE)
    assert stats.votes == 1  # back to the remaining reaction (A)
    await react(voting, 10, GUILD, ALICE, 1.0, added=False)
    assert (await service.privacy.stats(GUILD, ALICE)).votes == 0
    bob = await react(voting, 10, GUILD, BOB, 0.5)
    assert bob.vote == 0.5 and not bob.first_on_own_pair  # not posted for Bob


async def test_reactions_elsewhere_are_not_votes(service):
    voting = service.voting
    a, b, _ = await voting.choose_pair(GUILD, ALICE)
    await voting.remember(10, GUILD, 5, a, b, posted_for=None)
    assert await react(voting, 11, GUILD, ALICE, 1.0) is None  # not a pair
    assert await react(voting, 10, GUILD + 1, ALICE, 1.0) is None  # another guild's id
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


async def test_a_vote_import_is_all_or_nothing_and_refuses_forgotten_members(service):
    faces = [face.id for face in await service.pool.faces(GUILD)]
    a, b, c = faces[:3]
    good = (
        "user_id,face_a,face_b,outcome,voted_at\n"
        f"{ALICE},{a},{b},1,1700000000\n"
        f"{BOB},{b},{c},0.5,\n"
    )
    assert (await service.voting.import_votes(GUILD, good)).stored == 2
    assert (await service.privacy.stats(GUILD, ALICE)).votes == 1
    bad = (
        "face_a,face_b,outcome\n"
        f"{a},{b},1\n"  # fine on its own
        f"{a},{a},1\n"
        f"{a},{b},2\n"
        f"{a},999999,0\n"
    )
    with pytest.raises(ImportRefused) as refused:
        await service.voting.import_votes(GUILD, bad, user_id=ALICE)
    message = str(refused.value)
    print(message)
    assert "line 3: a face cannot be voted against itself" in message
    assert "line 4: outcome '2'" in message and "line 5: face 999999" in message
    assert (await service.privacy.stats(GUILD, ALICE)).votes == 1  # nothing half-imported
    await service.privacy.forget(GUILD, BOB)
    with pytest.raises(ImportRefused, match=f"member {BOB} asked konomi to forget"):
        await service.voting.import_votes(GUILD, good)
    assert (await service.privacy.stats(GUILD, ALICE)).votes == 1


async def informative_service(tmp_path, random_share: float) -> KonomiService:
    """Six pool faces, no votes, every pair chosen by the rule (or by chance)."""
    service = await open_service(tmp_path, faces=6, crowd_votes=0, alice_votes=0)
    voting = dataclasses.replace(service.settings.voting, random_pair_share=random_share)
    return KonomiService(service.db, dataclasses.replace(service.settings, voting=voting))


async def store_view(service, user_id, scores, coordinates=None) -> list[int]:
    """A model whose stored view of the pool has these scores (and taste coordinates):
    all the pair choice reads of it."""
    face_ids = [face.id for face in await pool.list_faces(service.db, GUILD)]
    await models.save_model(
        service.db,
        guild_id=GUILD,
        user_id=user_id,
        architecture="konomi-cnn-v1",
        config={},
        weights_npz=pack(
            {}, np.array(face_ids), np.zeros(6), scores=scores, coordinates=coordinates
        ),
        metrics={},
    )
    return face_ids


async def test_channel_pairs_ask_what_the_guild_model_is_least_sure_of(tmp_path):
    service = await informative_service(tmp_path, random_share=0.0)
    try:
        faces = await store_view(service, None, np.array([0.0, 9.0, 0.05, 3.0, 6.0, 12.0]))
        pair = await service.voting.choose_pair(GUILD, None)
        assert {pair.a, pair.b} == {faces[0], faces[2]} and pair.chosen_by == "informative"
        await service.voting.remember(1, GUILD, 5, pair.a, pair.b, None, pair.chosen_by)
        assert await votes.pairs_chosen_by(service.db, GUILD) == {"informative": 1}
    finally:
        await service.close()


async def test_a_members_pairs_bring_in_faces_their_votes_never_touched(tmp_path):
    """Alice has voted 20 times on faces 0-1 and 20 times on 2-3; the model cannot tell
    faces 0-4 apart: the pair asked has face 4, the one it knows nothing of for her."""
    service = await informative_service(tmp_path, random_share=0.0)
    try:
        coordinates = np.random.default_rng(0).normal(0, 0.1, (6, 2))
        faces = await store_view(service, ALICE, np.array([0, 0, 0, 0, 0, 20.0]), coordinates)
        answers = [(faces[0], faces[1], 1.0), (faces[2], faces[3], 0.0)] * 20
        await votes.add_votes(service.db, GUILD, ALICE, answers)
        for _ in range(5):
            pair = await service.voting.choose_pair(GUILD, ALICE)
            assert faces[4] in pair[:2] and pair.chosen_by == "informative", pair
    finally:
        await service.close()


async def test_the_control_arm_is_uniformly_random_and_recorded(tmp_path):
    service = await informative_service(tmp_path, random_share=1.0)
    try:
        await store_view(service, None, np.array([0.0, 9.0, 0.05, 3.0, 6.0, 12.0]))
        chosen = set()
        for message_id in range(1, 41):
            pair = await service.voting.choose_pair(GUILD, None)
            chosen.add(frozenset(pair[:2]))
            await service.voting.remember(
                message_id, GUILD, 5, pair.a, pair.b, None, pair.chosen_by
            )
        assert await votes.pairs_chosen_by(service.db, GUILD) == {"random": 40}
        assert len(chosen) >= 10  # of 15 pairs: not the informative rule's one pair
    finally:
        await service.close()
