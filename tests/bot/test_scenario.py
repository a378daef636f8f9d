"""Tried as a new user would: ingest faces, vote 60 times by reactions, /retrain, /rank."""

import numpy as np

from model.images import decode_png
from model.metrics import kendall_tau
from tests.bot.conftest import eventually, run_cli
from tests.fakediscord import Attachment
from tests.fakediscord.process import BOT_TOKEN, BotProcess
from tests.images import encode, lfw_crops, lfw_faces

INGESTED = 45  # of the 100 LFW images; the rest are faces konomi has never seen

A, B = "🅰️", "🅱️"


async def test_a_new_server_from_ingest_to_a_ranking_that_matches_the_voters_taste(
    discord_server, tmp_path
):
    fake = discord_server
    guild = fake.create_guild("Newcomers")
    alice = guild.add_member("alice")
    bot = BotProcess(fake, tmp_path, training={"max_epochs": 15, "patience": 4})

    # 1. An admin ingests distinct faces from a folder.
    folder = tmp_path / "faces"
    folder.mkdir()
    for index, image in enumerate(lfw_faces()[:INGESTED]):
        (folder / f"lfw{index:03}.png").write_bytes(encode(image))
    ingest = run_cli(
        "ingest", "--config", str(bot.config_path), "--guild", str(guild.id), "--quiet", str(folder)
    )
    assert ingest.returncode == 0 and "faces added: 3" in ingest.stdout, ingest.stdout

    await bot.start()
    try:
        db_brightness = await _brightness_by_face(bot)

        # 2. Alice votes 60 times by reactions; she always prefers the brighter face.
        await alice.invoke("vote")
        for count in range(1, 61):
            pair = await fake.wait_for(lambda n=count: _pair(fake, guild, n), 30)
            a, b = (int(x) for x in next(iter(pair.files)).removesuffix(".png").split("-")[1:])
            await alice.react(pair, A if db_brightness[a] > db_brightness[b] else B)
        await eventually(lambda: _has_votes(bot, alice.id, 60))

        # 3. /retrain answers at once and tells her when the model is ready.
        retrain = await alice.invoke("retrain")
        await fake.wait_for(retrain.answer)
        assert fake.events and _callback_seconds(fake, retrain) < 3
        done = await fake.wait_for(
            lambda: [m for m in retrain.followups if "is ready" in m.content], 240
        )
        assert "Checked on your votes, it" in done[0].content

        # 4. /rank five faces konomi has never seen: the order follows her taste.
        new_faces = _unseen_faces_spread_in_brightness()
        ranked = await alice.invoke(
            "rank",
            **{
                f"image{i + 1}": Attachment(f"new{i}.png", encode(face))
                for i, face in enumerate(new_faces)
            },
        )
        await fake.wait_for(lambda: ranked.original and ranked.original.files, 120)
        assert _callback_seconds(fake, ranked) < 3 and ranked.ephemeral
        assert "your model" in ranked.original.content
        order = [
            line.split(". ", 1)[1].split(" ")[0].strip("*")
            for line in ranked.original.content.splitlines()
            if line[:2] in {"1.", "2.", "3.", "4.", "5."}
        ]
        predicted = np.zeros(5)
        for place, name in enumerate(order):
            predicted[int(name.removeprefix("new").removesuffix(".png"))] = -place
        truth = np.array([face.mean() for face in new_faces])
        assert kendall_tau(predicted, truth) >= 0.6, (order, truth)
    finally:
        await bot.stop()

    # Neither the bot token nor any interaction token reached the log.
    log = bot.log()
    assert BOT_TOKEN not in log
    assert not any(i.token in log for i in fake.interactions.values())


def _unseen_faces_spread_in_brightness(count: int = 5) -> list[np.ndarray]:
    """Crops of faces that were not ingested, from the darkest to the brightest in even
    steps (about 20 levels apart). Faces a few levels apart are ones a CNN trained on 60
    votes orders by chance about as often as not (one run in seven failed on them)."""
    crops = lfw_crops(first=INGESTED)
    brightness = np.array([crop.mean() for crop in crops])
    steps = np.linspace(0, len(crops) - 1, count).round().astype(int)
    mixed = np.random.default_rng(0).permutation(count)  # not uploaded in taste order
    return [crops[i] for i in np.argsort(brightness)[steps][mixed]]


def _pair(fake, guild, count):
    pairs = [
        m
        for m in fake.bot_messages()
        if m.channel.guild_id == guild.id and m.files and len(m.reactions) == 4
    ]
    return pairs[count - 1] if len(pairs) >= count else None


def _callback_seconds(fake, interaction) -> float:
    return next(
        e.data["seconds"]
        for e in fake.events
        if e.kind == "callback" and e.data["id"] == interaction.id
    )


async def _brightness_by_face(bot) -> dict[int, float]:
    from storage import open_database

    db = await open_database(bot.database)
    try:
        async with db.execute("SELECT id, crop_png FROM faces") as cursor:
            return {row[0]: float(decode_png(row[1]).mean()) for row in await cursor.fetchall()}
    finally:
        await db.close()


async def _has_votes(bot, user_id, count) -> bool:
    return await _count_votes(bot, user_id) == count


async def _count_votes(bot, user_id) -> int:
    from storage import open_database

    db = await open_database(bot.database)
    try:
        async with db.execute("SELECT COUNT(*) FROM votes WHERE user_id = ?", (user_id,)) as c:
            return (await c.fetchone())[0]
    finally:
        await db.close()


async def test_a_server_run_responsibly_from_setup_to_forget_and_report(discord_server, tmp_path):
    from tests.fakediscord import permissions as perms

    fake = discord_server
    guild = fake.create_guild("Responsible")
    admin = guild.add_member("admin", [guild.create_role("Mods", perms.MANAGE_GUILD)])
    carol, dave, erin = (guild.add_member(name) for name in ("carol", "dave", "erin"))
    pairs_channel = guild.create_text_channel("pairs")
    mod_log = guild.create_text_channel("mod-log")
    bot = BotProcess(fake, tmp_path)
    await bot.start()
    try:
        added = await admin.invoke(
            "pool add",
            **{
                f"image{i + 1}": Attachment(f"p{i}.png", encode(face))
                for i, face in enumerate(lfw_faces()[:5])
            },
        )
        await fake.wait_for(lambda: added.followups or (added.original and added.original.content))
        assert "faces added:" in added.messages()[-1].content
        await admin.invoke("konomi reports", mod_log)
        await admin.invoke("konomi channel enable", pairs_channel, every_minutes=60.0)
        pair = await fake.wait_for(
            lambda: next(
                (m for m in fake.bot_messages(pairs_channel) if len(m.reactions) == 4), None
            ),
            30,
        )

        for member, emoji in ((carol, A), (dave, B), (erin, "🤝")):
            await member.react(pair, emoji)
        await eventually(lambda: _has_votes(bot, erin.id, 1))

        export = await carol.invoke("export")
        await fake.wait_for(lambda: export.original and export.original.files)
        assert export.original.files["konomi-votes.csv"].decode().count("\n") == 2  # header + 1
        forget = await carol.invoke("forget")
        await fake.wait_for(forget.answer)
        await carol.click(forget.original, "Yes, forget me")
        await fake.wait_for(lambda: "Deleted 1 votes" in forget.original.content)
        assert await _count_votes(bot, carol.id) == 0

        menu = await dave.use_message_command("Report face", pair)
        await fake.wait_for(menu.answer)
        face = next(b for b in menu.original.buttons() if "face A" in b["label"])
        await dave.click(menu.original, face)
        await fake.wait_for(
            lambda: [m for m in fake.bot_messages(mod_log) if "was reported" in m.content]
        )
    finally:
        await bot.stop()
