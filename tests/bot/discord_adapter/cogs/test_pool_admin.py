import asyncio
import io
import zipfile

from tests.bot.conftest import eventually, run_cli
from tests.bot.discord_adapter.cogs.test_privacy import reply
from tests.bot.discord_adapter.cogs.test_training import give_votes
from tests.fakediscord import Attachment
from tests.fakediscord import permissions as perms
from tests.images import astronaut, declared_huge_png, encode, lfw_faces


def admin_of(world):
    return world.guild.add_member("mod", [world.guild.create_role("Mods", perms.MANAGE_GUILD)])


async def test_members_without_manage_server_are_refused_twice_over(world):
    refused = await world.alice.invoke("pool list")
    assert refused.refused == "missing permissions"
    world.fake.rules.enforce_default_permissions = False  # an owner opened the command up
    message = await reply(world, await world.alice.invoke("pool list"))
    assert message.ephemeral and "Manage Server" in message.content


async def test_pool_add_list_show_and_another_guilds_id(world):
    admin = admin_of(world)
    added = await reply(
        world,
        await admin.invoke(
            "pool add",
            image1=Attachment("astronaut.jpg", encode(astronaut(), "JPEG")),
            image2=Attachment("notes.png", b"plain text"),
        ),
    )
    assert "faces added: 1" in added.content and "notes.png" in added.content
    listing = await reply(world, await admin.invoke("pool list", page=2))
    assert "Page 2/2 of 13 faces" in listing.content and listing.images()
    shown = await reply(world, await admin.invoke("pool show", face_id=world.face_ids[0]))
    assert f"face-{world.face_ids[0]}.png" in shown.files
    other = world.fake.create_guild("Other")
    stranger = other.add_member("owner2", [other.create_role("M", perms.MANAGE_GUILD)])
    foreign = await reply(world, await stranger.invoke("pool show", face_id=world.face_ids[0]))
    assert "no face" in foreign.content and not foreign.files


async def test_pool_remove_deletes_the_votes_naming_the_face(world):
    await give_votes(world, world.alice, count=30)
    face = world.face_ids[0]
    naming = "SELECT COUNT(*) FROM votes WHERE face_a = ? OR face_b = ?"
    assert (await world.query(naming, face, face))[0][0] > 0
    message = await reply(world, await admin_of(world).invoke("pool remove", face_id=face))
    assert "deleted" in message.content
    assert await world.query(naming, face, face) == [(0,)]
    assert await world.query("SELECT COUNT(*) FROM faces WHERE id = ?", face) == [(0,)]


async def test_a_reported_face_is_hidden_at_once_and_admins_are_told(world):
    admin = admin_of(world)
    reports = world.guild.create_text_channel("mod-log")
    await reply(world, await admin.invoke("konomi reports", channel=reports))
    face = world.face_ids[0]
    message = await reply(world, await world.bob.invoke("report", face_id=face))
    assert message.ephemeral and "hidden" in message.content
    assert f"The admins were told in <#{reports.id}>." in message.content
    told = await world.fake.wait_for(
        lambda: [m for m in world.fake.bot_messages(reports) if "was reported" in m.content]
    )
    assert f"Face `{face}` was reported" in told[0].content and not told[0].ephemeral
    assert await world.query("SELECT hidden FROM faces WHERE id = ?", face) == [(1,)]
    await world.alice.invoke("vote")
    for round_number in range(1, 9):
        pair = await world.pair_for(world.alice, round_number)
        assert f"-{face}-" not in next(iter(pair.files)) and not next(iter(pair.files)).endswith(
            f"-{face}.png"
        )
        await world.alice.react(pair, "🤝")
    restored = await reply(world, await admin.invoke("pool restore", face_id=face))
    assert "back in the pool" in restored.content


async def test_report_from_a_pair_with_the_context_menu(world):
    await world.alice.invoke("vote")
    pair = await world.pair_for(world.alice)
    a = int(next(iter(pair.files)).split("-")[1])
    asked = await reply(world, await world.alice.use_message_command("Report face", pair))
    await world.alice.click(asked, f"Report face A ({a})")
    await world.fake.wait_for(lambda: "Thank you" in asked.content)
    assert await world.query("SELECT hidden FROM faces WHERE id = ?", a) == [(1,)]
    # No reports channel and no system channel: the reporter is told nobody was.
    assert "No admin was notified" in asked.content and "/konomi reports" in asked.content


async def test_channel_enable_posts_pairs_and_status_counts(world):
    admin = admin_of(world)
    channel = world.guild.create_text_channel("pairs")
    enabled = await reply(
        world, await admin.invoke("konomi channel enable", channel, every_minutes=60.0)
    )
    assert "every 60 minutes" in enabled.content
    await world.fake.wait_for(
        lambda: [m for m in world.fake.bot_messages(channel) if len(m.reactions) == 4], 30
    )
    status = await reply(world, await admin.invoke("konomi status"))
    assert "Pool\n12 faces (0 hidden)" in status.text and "in 1 channels" in status.text
    disabled = await reply(world, await admin.invoke("konomi channel disable", channel))
    assert "stopped" in disabled.content


async def test_leaving_a_guild_starts_the_grace_period_and_purge_deletes_at_once(world):
    await give_votes(world, world.alice, count=10)
    await world.fake.remove_bot(world.guild)
    await eventually(lambda: _marked_left(world, True))
    await world.fake.add_bot(world.guild)
    await eventually(lambda: _marked_left(world, False))
    await world.bot.stop()
    result = run_cli(
        "purge", "--config", str(world.bot.config_path), "--guild", str(world.guild.id)
    )
    assert result.returncode == 0 and "12 faces" in result.stdout
    for table in ("faces", "votes", "sources", "guild_pools"):
        assert await world.query(
            f"SELECT COUNT(*) FROM {table} WHERE guild_id = ?", world.guild.id
        ) == [(0,)]
    await asyncio.sleep(0)


async def _marked_left(world, expected: bool) -> bool:
    rows = await world.query("SELECT left_at FROM guild_pools WHERE guild_id = ?", world.guild.id)
    return bool(rows) and (rows[0][0] is not None) == expected


def options_of(command: dict):
    for option in command.get("options", []):
        if option["type"] in (1, 2):  # a subcommand or a group: its own options
            yield from options_of(option)
        else:
            yield command["name"], option


async def test_every_option_is_described_and_face_ids_complete_as_one_types(world):
    """Every option of every synced command says what it wants (no "…"); a face id
    offers the faces as the member types: visible ones to report, and to an admin the
    hidden ones to restore, with where each came from."""
    from storage import open_database, pool

    [synced] = [e for e in world.fake.events if e.kind == "commands"]
    options = [pair for command in synced.data["payload"] for pair in options_of(command)]
    bare = [(name, o["name"]) for name, o in options if o.get("description") in ("", "…", None)]
    completing = sorted({name for name, o in options if o.get("autocomplete")})
    print(f"{len(options)} options described; face ids complete in {completing}")
    assert bare == [] and len(options) >= 20
    assert completing == ["hide", "remove", "report", "restore", "show"]

    hidden = world.face_ids[0]
    db = await open_database(world.bot.database)
    await pool.set_hidden(db, world.guild.id, hidden, True)
    await db.close()
    typed = str(world.face_ids[1])[:1]
    asked = await world.alice.autocomplete("report", "face_id", typed)
    await world.fake.wait_for(lambda: asked.choices is not None)
    offered = [choice["value"] for choice in asked.choices]
    assert offered and hidden not in offered and all(str(v).startswith(typed) for v in offered)
    assert all(choice["name"] == f"face {choice['value']}" for choice in asked.choices)

    restoring = await admin_of(world).autocomplete("pool restore", "face_id", "")
    await world.fake.wait_for(lambda: restoring.choices is not None)
    assert [choice["value"] for choice in restoring.choices] == [hidden]
    assert " — " in restoring.choices[0]["name"]  # an admin sees where it came from


def faces_for_a_zip(count: int) -> list[bytes]:
    """`count` LFW portraits in which konomi's detector finds exactly one face, as PNG."""
    from model.faces import DetectorSettings, NoFaceFound, extract_faces

    found = []
    for image in lfw_faces():
        try:
            if len(extract_faces(image, DetectorSettings())) == 1:
                found.append(encode(image))
        except NoFaceFound:
            continue
        if len(found) == count:
            return found
    raise AssertionError("not enough single-face portraits")


def hostile_zip(faces: list[bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, face in enumerate(faces):
            archive.writestr(f"faces/face{number:02}.png", face)
        archive.writestr("bomb.png", b"\0" * 9_000_000)  # deflates ~1000:1
        archive.writestr("../escape.png", faces[0])
        archive.writestr("notes.txt", b"these are not pixels")
        archive.writestr("huge.png", declared_huge_png(20000, 20000))
        archive.writestr("empty.png", b"")
    return buffer.getvalue()


async def test_a_new_server_is_welcomed_once_and_set_up_from_a_zip(world):
    """The bot joins a server: one welcome where admins read; /konomi setup shows what is
    missing; a zip of 40 faces and 5 hostile entries gives 40 faces and 5 lines; two
    buttons choose where members vote and where reports go."""
    fake = world.fake
    guild = fake.create_guild("Newcomers")
    welcome = guild.create_text_channel("welcome")
    guild.system_channel_id = welcome.id
    await fake.add_bot(guild)

    def welcomes():
        return [m for m in fake.bot_messages(welcome) if m.embeds]

    await fake.wait_for(welcomes, 30)
    await fake.remove_bot(guild)  # removed, and added back within the grace period
    await eventually(lambda: _left_at(world, guild))
    await fake.add_bot(guild)
    await eventually(lambda: _left_at(world, guild, None))
    [embed] = welcomes()[0].embeds
    assert embed["title"] == "Thanks for adding konomi"
    assert [f["name"] for f in embed["fields"]] == [
        "1. Add faces",
        "2. Choose where members vote",
        "3. Tell members about /vote",
    ]

    owner = guild.members[guild.owner_id]
    setup = await reply(world, await owner.invoke("konomi setup"))
    assert [f["name"][0] for f in setup.embeds[0]["fields"][:3]] == ["❌", "❌", "❌"]
    added = await reply(
        world,
        await owner.invoke(
            "pool add", image1=Attachment("club.zip", hostile_zip(faces_for_a_zip(40)))
        ),
        180,
    )
    faces = await world.query("SELECT COUNT(*) FROM faces WHERE guild_id = ?", guild.id)
    failures = [line for line in added.content.splitlines() if line.startswith("  club.zip/")]
    print(added.content)
    assert faces == [(40,)] and "faces added: 40" in added.content
    assert len(failures) == 5, failures
    await owner.click(setup, "Private threads open here")
    await owner.click(setup, "Reports go here")
    await fake.wait_for(
        lambda: [f["name"][0] for f in setup.embeds[0]["fields"][:3]] == ["✅", "✅", "✅"], 30
    )
    print(f"welcomes: {len(welcomes())} (joined, left, joined again); setup: {setup.embeds[0]}")
    assert len(welcomes()) == 1


async def _left_at(world, guild, *expected) -> bool:
    """Whether the guild is marked as left (or, with None, as back)."""
    rows = await world.query("SELECT left_at FROM guild_pools WHERE guild_id = ?", guild.id)
    return rows == [(None,)] if expected else bool(rows and rows[0][0])


async def test_a_moderators_role_may_curate_the_pool_and_others_may_not(world):
    owner = world.guild.members[world.guild.owner_id]
    mods = world.guild.create_role("Pool helpers")
    helper = world.guild.add_member("helper", [mods])
    named = await reply(world, await owner.invoke("konomi moderators", role=mods))
    assert "Integrations" in named.content
    world.fake.command_roles[(world.guild.id, "pool")] = {mods.id}  # the admin allowed it
    face = world.face_ids[0]
    hidden = await reply(world, await helper.invoke("pool hide", face_id=face))
    assert f"Face `{face}` is hidden" in hidden.content
    assert await world.query("SELECT hidden FROM faces WHERE id = ?", face) == [(1,)]
    world.fake.command_roles[(world.guild.id, "Add faces to the pool")] = {mods.id}
    photo = Attachment("newcomer.png", faces_for_a_zip(30)[-1])  # not in the pool yet
    posted = await world.fake.post_as(helper, world.channel, "a new face", [photo])
    added = await reply(world, await helper.use_message_command("Add faces to the pool", posted))
    assert "faces added: 1" in added.content and added.ephemeral
    refused = await world.bob.invoke("pool hide", face_id=world.face_ids[1])
    assert refused.refused == "missing permissions"  # Discord's own check
    world.fake.rules.enforce_default_permissions = False  # the command opened to everyone
    again = await reply(world, await world.bob.invoke("pool hide", face_id=world.face_ids[1]))
    assert "moderators role" in again.content  # the bot's check
    assert await world.query("SELECT hidden FROM faces WHERE id = ?", world.face_ids[1]) == [(0,)]
