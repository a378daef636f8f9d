from storage import pool, votes


async def posted_pair(db, guild=1, message=100):
    a, b = await pool.add_source(
        db,
        guild,
        f"h{message}",
        "x.jpg",
        [pool.NewFace(b"a", (0, 0, 1, 1), 1), pool.NewFace(b"b", (0, 0, 1, 1), 2)],
    )
    await votes.record_pair(
        db, message_id=message, guild_id=guild, channel_id=5, face_a=a, face_b=b
    )
    return await votes.get_pair(db, message)


async def test_latest_reaction_is_the_one_live_vote(db):
    pair = await posted_pair(db)
    await votes.cast_vote(db, pair, user_id=9, outcome=1.0)
    await votes.cast_vote(db, pair, user_id=9, outcome=0.0)
    [vote] = await votes.user_votes(db, 1, 9)
    assert (vote.face_a, vote.face_b, vote.outcome) == (pair.face_a, pair.face_b, 0.0)


async def test_removing_an_older_reaction_keeps_the_newer_vote(db):
    pair = await posted_pair(db)
    await votes.cast_vote(db, pair, 9, 1.0)
    await votes.cast_vote(db, pair, 9, 0.0)
    assert not await votes.withdraw_vote(db, pair, 9, outcome=1.0)
    assert len(await votes.user_votes(db, 1, 9)) == 1
    assert await votes.withdraw_vote(db, pair, 9, outcome=0.0)
    assert await votes.user_votes(db, 1, 9) == []


async def test_votes_are_scoped_by_guild_and_user(db):
    first = await posted_pair(db, guild=1, message=100)
    second = await posted_pair(db, guild=2, message=200)
    await votes.cast_vote(db, first, 9, 1.0)
    await votes.cast_vote(db, second, 9, 0.5)
    await votes.cast_vote(db, first, 8, 0.0)
    assert [v.outcome for v in await votes.user_votes(db, 2, 9)] == [0.5]
    assert len(await votes.guild_votes(db, 1)) == 2
    assert await votes.count_votes(db, 1, 9) == 1


async def test_votes_on_a_hidden_face_are_not_used_and_go_with_a_removed_face(db):
    pair = await posted_pair(db)
    await votes.cast_vote(db, pair, 9, 1.0)
    await pool.set_hidden(db, 1, pair.face_a, True)
    assert await votes.guild_votes(db, 1) == []
    assert await pool.delete_face(db, 1, pair.face_a) == 1  # one vote named it
    assert await votes.count_votes(db, 1) == 0
    assert await votes.get_pair(db, pair.message_id) is None
