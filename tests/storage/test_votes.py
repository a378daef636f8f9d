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


async def react(db, pair, user_id, outcome, *, added=True):
    """One live reaction event through the vote rule; the member's vote after it."""
    event = votes.ReactionEvent(pair.message_id, pair.guild_id, user_id, outcome, added)
    [applied] = await votes.apply_reactions(db, [event])
    return applied.after


async def unreact(db, pair, user_id, outcome):
    return await react(db, pair, user_id, outcome, added=False)


async def test_latest_reaction_is_the_one_live_vote(db):
    pair = await posted_pair(db)
    await react(db, pair, user_id=9, outcome=1.0)
    await react(db, pair, user_id=9, outcome=0.0)
    [vote] = await votes.user_votes(db, 1, 9)
    assert (vote.face_a, vote.face_b, vote.outcome) == (pair.face_a, pair.face_b, 0.0)


async def test_removing_a_reaction_falls_back_to_the_latest_one_still_there(db):
    pair = await posted_pair(db)
    await react(db, pair, 9, 1.0)
    await react(db, pair, 9, 0.0)
    assert await unreact(db, pair, 9, outcome=1.0) == 0.0  # the newer vote stays
    await react(db, pair, 9, 1.0)
    assert await unreact(db, pair, 9, outcome=1.0) == 0.0  # back to the one left
    assert await unreact(db, pair, 9, outcome=0.0) is None
    assert await votes.user_votes(db, 1, 9) == []


async def test_a_quick_b_a_remove_a_ends_with_b(db):
    pair = await posted_pair(db)
    await react(db, pair, 9, 0.0)
    await react(db, pair, 9, 1.0)
    await unreact(db, pair, 9, 1.0)
    assert [v.outcome for v in await votes.user_votes(db, 1, 9)] == [0.0]


async def test_reconcile_adds_changes_and_withdraws_to_match_discord(db):
    pair = await posted_pair(db)
    await react(db, pair, 1, 1.0)  # will change to B
    await react(db, pair, 2, 1.0)  # will be removed
    await react(db, pair, 3, 0.5)  # unchanged
    await react(db, pair, 4, 1.0)  # a live event newer than the snapshot: skipped
    on_discord = {1: {0.0}, 3: {0.5}, 5: {1.0}, 6: {0.0, 0.5}}
    result = await votes.reconcile(db, pair, on_discord, skip_users={4})
    assert result == votes.Reconciled(added=2, changed=1, withdrawn=1)
    stored = {v.user_id: v.outcome for v in await votes.guild_votes(db, 1)}
    assert stored == {1: 0.0, 3: 0.5, 4: 1.0, 5: 1.0, 6: 0.0}
    assert await votes.reconcile(db, pair, on_discord, skip_users={4}) == votes.Reconciled()


async def test_no_vote_is_stored_for_a_person_forgotten_after_the_pair(db):
    from storage import privacy

    pair = await posted_pair(db)
    await react(db, pair, 9, 1.0)
    await privacy.forget_user(db, 1, 9)
    await react(db, pair, 9, 0.0)
    assert await votes.reconcile(db, pair, {9: {1.0}}) == votes.Reconciled()
    assert await votes.user_votes(db, 1, 9) == []


async def test_votes_are_scoped_by_guild_and_user(db):
    first = await posted_pair(db, guild=1, message=100)
    second = await posted_pair(db, guild=2, message=200)
    await react(db, first, 9, 1.0)
    await react(db, second, 9, 0.5)
    await react(db, first, 8, 0.0)
    assert [v.outcome for v in await votes.user_votes(db, 2, 9)] == [0.5]
    assert len(await votes.guild_votes(db, 1)) == 2
    assert await votes.count_votes(db, 1, 9) == 1


async def test_votes_on_a_hidden_face_are_not_used_and_go_with_a_removed_face(db):
    pair = await posted_pair(db)
    await react(db, pair, 9, 1.0)
    await pool.set_hidden(db, 1, pair.face_a, True)
    assert await votes.guild_votes(db, 1) == []
    assert await pool.delete_face(db, 1, pair.face_a) == 1  # one vote named it
    assert await votes.count_votes(db, 1) == 0
    assert await votes.get_pair(db, pair.message_id) is None


async def test_a_group_of_events_ends_as_the_same_events_one_at_a_time(tmp_path):
    """600 random adds and removes (members changing their minds, a forgotten member,
    events naming another guild) applied one per transaction and in groups of up to 64:
    the same votes, the same reactions in the same order, the same answers."""
    import random

    from storage import open_database, privacy

    rng = random.Random(4)
    events = []
    for _ in range(600):
        message = rng.choice([100, 101, 102, 200])
        guild = 2 if message == 200 else rng.choice([1, 1, 1, 1, 2])
        events.append(
            votes.ReactionEvent(
                message, guild, rng.randrange(6), rng.choice([0.0, 0.5, 1.0]), rng.random() < 0.7
            )
        )
    tables = []
    answers = []
    for grouped in (False, True):
        db = await open_database(tmp_path / f"{grouped}.sqlite3")
        try:
            for message in (100, 101, 102):
                await posted_pair(db, guild=1, message=message)
            await posted_pair(db, guild=2, message=200)
            await privacy.forget_user(db, 1, 5)
            got, start = [], 0
            while start < len(events):
                size = rng.randint(1, 64) if grouped else 1
                got += await votes.apply_reactions(db, events[start : start + size])
                start += size
            answers.append([(a.before, a.after) if a else None for a in got])
            async with db.execute(
                "SELECT message_id, user_id, outcome FROM votes ORDER BY message_id, user_id"
            ) as cursor:
                stored_votes = await cursor.fetchall()
            async with db.execute(
                "SELECT message_id, user_id, outcome FROM pair_reactions ORDER BY id"
            ) as cursor:
                reactions = {}
                for message, user, outcome in await cursor.fetchall():
                    reactions.setdefault((message, user), []).append(outcome)
            tables.append((stored_votes, reactions))
        finally:
            await db.close()
    assert tables[0] == tables[1] and answers[0] == answers[1]
    stored_votes, reactions = tables[0]
    assert all(user != 5 or message == 200 for message, user, _ in stored_votes)
    assert sum(a is None for a in answers[0]) > 0  # events naming another guild's pair
    print(f"{len(events)} events: {len(stored_votes)} votes, {len(reactions)} reaction lists")


async def test_the_retrain_schedule_reads_only_voters_with_new_votes(db):
    pair = await posted_pair(db)
    await votes.add_votes(db, 1, 8, [(pair.face_a, pair.face_b, 1.0)] * 3)
    seen = await votes.latest_vote_id(db)
    await votes.add_votes(db, 1, 9, [(pair.face_a, pair.face_b, 0.0)] * 2)
    everyone = await votes.new_vote_counts(db)
    assert sorted(everyone, key=str) == sorted([(1, None, 5), (1, 8, 3), (1, 9, 2)], key=str)
    # Voter 8 has nothing new: only the guild's count and voter 9's are read again.
    assert sorted(await votes.new_vote_counts(db, seen), key=str) == sorted(
        [(1, None, 5), (1, 9, 2)], key=str
    )
    assert await votes.new_vote_counts(db, await votes.latest_vote_id(db)) == [(1, None, 5)]


async def test_live_events_and_the_catch_up_agree_on_every_history(tmp_path):
    """The vote rule has one home: 300 random reaction histories (adds and removes by
    six members, one of them forgotten after the pair was posted) reach the database
    once as live events, once as the catch-up's snapshot of what stays on Discord.
    Where the history leaves a member at most one reaction, both paths store the same
    vote (the snapshot cannot tell the order of several, and keeps one of them); a
    forgotten member gets neither a vote nor a stored reaction on either path."""
    import random

    from storage import open_database, privacy

    rng = random.Random(25)
    compared = several = forgotten_events = 0
    for history_number in range(300):
        histories = []
        for _ in range(rng.randint(1, 12)):
            histories.append((rng.randrange(6), rng.choice([0.0, 0.5, 1.0]), rng.random() < 0.6))
        results = []
        for path in ("live", "catch-up"):
            db = await open_database(tmp_path / f"{history_number}-{path}.sqlite3")
            try:
                pair = await posted_pair(db)
                await privacy.forget_user(db, 1, 5)  # after the pair was posted
                on_discord: dict[int, set[float]] = {}
                events = []
                for user, outcome, added in histories:
                    left = on_discord.setdefault(user, set())
                    if added:
                        left.add(outcome)
                    else:
                        left.discard(outcome)
                    events.append(votes.ReactionEvent(pair.message_id, 1, user, outcome, added))
                if path == "live":
                    await votes.apply_reactions(db, events)
                else:
                    await votes.reconcile(db, pair, on_discord)
                async with db.execute("SELECT user_id, outcome FROM votes") as cursor:
                    stored = dict(await cursor.fetchall())
                async with db.execute("SELECT user_id, outcome FROM pair_reactions") as cursor:
                    reacted = {}
                    for user, outcome in await cursor.fetchall():
                        reacted.setdefault(user, set()).add(outcome)
                results.append((stored, reacted, on_discord))
            finally:
                await db.close()
        (live, live_reacted, final), (caught, caught_reacted, _) = results
        forgotten_events += sum(user == 5 for user, _, _ in histories)
        assert 5 not in live and 5 not in caught
        assert 5 not in live_reacted and 5 not in caught_reacted
        assert live_reacted == caught_reacted  # the same reactions stay recorded
        for user, outcomes in final.items():
            if user == 5:
                continue
            if len(outcomes) <= 1:
                assert live.get(user) == caught.get(user), (histories, user)
                compared += 1
            else:
                assert live[user] in outcomes and caught[user] in outcomes
                several += 1
    print(
        f"300 histories: {compared} members' votes equal on both paths, {several} left "
        f"with several reactions, {forgotten_events} events of a forgotten member ignored"
    )
    assert compared > 500 and forgotten_events > 100
