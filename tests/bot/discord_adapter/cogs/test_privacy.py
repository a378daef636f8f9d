import csv
import io
import json
import re

from tests.bot.conftest import eventually
from tests.bot.discord_adapter.cogs.test_training import give_votes


async def reply(world, interaction, timeout=60):
    await world.fake.wait_for(
        lambda: (
            interaction.messages()
            and (interaction.messages()[-1].text or interaction.messages()[-1].files)
        ),
        timeout,
    )
    return interaction.messages()[-1]


async def test_help_says_what_is_stored_and_how_to_forget(world):
    message = await reply(world, await world.alice.invoke("help"))
    assert (
        message.ephemeral and "/forget" in message.content and "What is stored" in message.content
    )


async def test_stats_for_a_newcomer_says_how_many_votes_to_go(world):
    message = await reply(world, await world.alice.invoke("stats"))
    assert message.ephemeral
    assert "Your votes here: 0" in message.text and "vote 10 more" in message.text


async def test_export_matches_the_votes(world):
    await give_votes(world, world.alice, count=9)  # below the first model's 10
    message = await reply(world, await world.alice.invoke("export"))
    assert message.ephemeral and set(message.files) == {"konomi-votes.csv", "konomi-model.json"}
    rows = list(csv.DictReader(io.StringIO(message.files["konomi-votes.csv"].decode())))
    stored = await world.query(
        "SELECT face_a, face_b, outcome FROM votes WHERE user_id = ? ORDER BY id", world.alice.id
    )
    assert [(int(r["face_a"]), int(r["face_b"]), float(r["outcome"])) for r in rows] == stored
    assert json.loads(message.files["konomi-model.json"])["model_version"] is None


async def test_forget_deletes_everything_and_old_pairs_no_longer_count(world):
    await world.alice.invoke("vote")
    pair = await world.pair_for(world.alice)
    await world.alice.react(pair, "🅰️")
    await reply(world, await world.alice.invoke("match", share=True))
    await eventually(lambda: world.votes_of(world.alice))
    await give_votes(world, world.alice, count=15)
    retrain = await world.alice.invoke("retrain")
    await world.fake.wait_for(lambda: [m for m in retrain.followups if "ready" in m.content], 180)

    asked = await world.alice.invoke("forget")
    message = await reply(world, asked)
    assert message.ephemeral and "Sure?" in message.content
    await world.alice.click(message, "Yes, forget me")
    await world.fake.wait_for(lambda: "Deleted" in message.content)
    assert "votes" in message.content and "models" in message.content and not message.buttons()

    me, guild = world.alice.id, world.guild.id
    for table in ("votes", "models", "jobs", "member_places", "match_opt_ins", "pair_skips"):
        assert await world.query(
            f"SELECT COUNT(*) FROM {table} WHERE guild_id = ? AND user_id = ?", guild, me
        ) == [(0,)], table
    assert await world.query("SELECT COUNT(*) FROM pairs WHERE posted_for = ?", me) == [(0,)]
    await world.alice.unreact(pair, "🅰️")
    await world.alice.react(pair, "🅱️")
    await world.bob.invoke("vote")  # Bob's vote is written after Alice's reactions
    await world.bob.react(await world.pair_for(world.bob), "🅱️")
    await eventually(lambda: world.votes_of(world.bob))
    assert await world.votes_of(world.alice) == []


async def test_mytaste_shows_the_faces_the_model_likes_privately(world):
    await give_votes(world, world.alice, count=20)
    retrain = await world.alice.invoke("retrain")
    await world.fake.wait_for(lambda: [m for m in retrain.followups if "ready" in m.content], 180)
    message = await reply(world, await world.alice.invoke("mytaste"))
    assert message.ephemeral and "Top row: your 5 favourite faces" in message.content
    assert "below: the server's" in message.content and "50% = no preference" in message.content
    [sheet] = message.images()
    assert sheet.width > 128


async def test_match_needs_both_to_opt_in_and_answers_in_a_band_never_a_number(world):
    alice, bob = world.alice, world.bob
    refusals = [(await reply(world, await alice.invoke("match", member=bob))).content]
    await reply(world, await alice.invoke("match", share=True))
    refusals.append((await reply(world, await alice.invoke("match", member=bob))).content)
    both = await reply(world, await bob.invoke("match", share=True, member=alice))
    assert "You have not allowed comparisons yet: use `/match share: True`" in refusals[0]
    assert "bob has not allowed comparisons" in refusals[1]
    assert "a model of your own" in both.content  # opted in, but no models yet

    for member in (alice, bob):  # their private places: where first models are announced
        await member.invoke("vote")
        await world.pair_for(member)
    await give_votes(world, alice, count=20)
    await give_votes(world, bob, count=20, seed=1)

    async def both_have_models():
        rows = await world.query(
            "SELECT COUNT(DISTINCT user_id) FROM models WHERE user_id IN (?, ?)", alice.id, bob.id
        )
        return rows == [(2,)]

    await eventually(both_have_models, 240)  # first models train by themselves
    matched = await reply(world, await bob.invoke("match", member=alice))
    band = re.search(r"\*\*(.+?)\*\*", matched.content).group(1)
    print(f"refusals: {refusals + [both.content]}; match: {matched.content}")
    assert band in {"nearly the same", "alike", "somewhat alike", "different", "opposite"}
    assert matched.ephemeral and not re.search(r"\d", matched.content)

    asked = await alice.invoke("forget")
    confirm = await reply(world, asked)
    await alice.click(confirm, "Yes, forget me")
    await world.fake.wait_for(lambda: "Deleted" in confirm.content)
    after = await reply(world, await bob.invoke("match", member=alice))
    assert "alice has not allowed comparisons" in after.content
