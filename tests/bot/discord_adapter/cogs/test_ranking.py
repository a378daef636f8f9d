import re

import numpy as np

from tests.bot.conftest import run_cli
from tests.fakediscord import Attachment
from tests.images import astronaut, encode, lfw_crops, no_face_image


async def train_guild_model(world):
    """Two voters who like bright faces, then a guild model trained by `python -m bot train`."""

    from storage import open_database, votes

    brightness = [crop.mean() for crop in lfw_crops()[: len(world.face_ids)]]
    rng = np.random.default_rng(0)
    db = await open_database(world.bot.database)
    for user in (7001, 7002):
        pairs = rng.choice(len(world.face_ids), (40, 2))
        await votes.add_votes(
            db,
            world.guild.id,
            user,
            [
                (world.face_ids[i], world.face_ids[j], float(brightness[i] > brightness[j]))
                for i, j in pairs
                if i != j
            ],
        )
    await db.close()
    result = run_cli(
        "train", "--config", str(world.bot.config_path), "--guild", str(world.guild.id)
    )
    assert result.returncode == 0, result.stderr


async def test_without_any_model_rank_says_what_to_do(world):
    interaction = await world.alice.invoke("rank", image1=Attachment("a.png", encode(astronaut())))
    await world.fake.wait_for(lambda: interaction.original and interaction.original.content)
    assert interaction.deferred and interaction.ephemeral
    assert "no model yet" in interaction.original.content


async def test_rank_orders_images_and_reports_bad_ones_per_image(world):
    await train_guild_model(world)
    faces = lfw_crops()[20:23]
    options = {f"image{i + 1}": Attachment(f"face{i}.png", encode(f)) for i, f in enumerate(faces)}
    options["image4"] = Attachment("notes.png", b"this is text, not a picture")
    options["image5"] = Attachment("sky.png", encode(no_face_image()))
    interaction = await world.alice.invoke("rank", **options)
    await world.fake.wait_for(lambda: interaction.original and interaction.original.files, 60)
    text = interaction.original.content
    assert interaction.ephemeral  # private unless asked
    assert "the server's model" in text and "no model of your own" in text
    assert "notes.png**: this is not an image" in text
    assert "chance to be preferred over a typical face" in text
    assert "(50% = no preference either way)" in text and "P =" not in text
    ranked = [line for line in text.splitlines() if line[:2] in {f"{n}." for n in range(1, 10)}]
    assert len(ranked) == 4
    [sky] = [line for line in ranked if "**sky.png**" in line]
    assert sky.endswith("(no face found: the whole image was scored)")
    chances = [re.search(r" — (\d+)%, ([a-z]+(?: [a-z]+)*)", line).groups() for line in ranked]
    assert [int(c) for c, _ in chances] == sorted((int(c) for c, _ in chances), reverse=True)
    assert {words for _, words in chances} <= {
        "strongly preferred",
        "preferred",
        "slightly preferred",
        "no clear preference",
        "slightly less preferred",
        "less preferred",
        "much less preferred",
    }
    [sheet] = interaction.original.images()
    assert sheet.width >= 4 * 128


async def test_ten_large_images_get_the_callback_first(world):
    big = encode(np.random.default_rng(0).integers(0, 255, (1500, 1500, 3), dtype=np.uint8))
    options = {f"image{i}": Attachment(f"big{i}.png", big) for i in range(1, 11)}
    interaction = await world.alice.invoke("rank", **options)
    await world.fake.wait_for(lambda: interaction.original and interaction.original.content, 60)
    callback = next(
        e for e in world.fake.events if e.kind == "callback" and e.data["id"] == interaction.id
    )
    assert callback.data["type"] == 5 and callback.data["seconds"] < 3
    assert len(big) > 5_000_000


async def test_an_attachment_over_the_size_limit_is_not_downloaded(world):
    await train_guild_model(world)
    interaction = await world.alice.invoke(
        "rank",
        image1=Attachment("huge.jpg", b"x" * 100, declared_size=50_000_000),
        image2=Attachment("ok.png", encode(lfw_crops()[30])),
    )
    await world.fake.wait_for(lambda: interaction.original and interaction.original.files, 60)
    assert "huge.jpg**: too large (50.0 MB" in interaction.original.content


async def test_public_ranking_is_shared_and_the_context_menu_uses_attachments(world):
    await train_guild_model(world)
    public = await world.bob.invoke(
        "rank", image1=Attachment("x.png", encode(lfw_crops()[25])), public=True
    )
    await world.fake.wait_for(lambda: public.original and public.original.files, 60)
    assert not public.ephemeral
    link_only = await world.fake.post_as(world.bob, world.channel, "see https://example.com/a.png")
    menu = await world.bob.use_message_command("Rank these images", link_only)
    await world.fake.wait_for(lambda: menu.original and menu.original.content, 30)
    assert "no attached images" in menu.original.content
    with_files = await world.fake.post_as(
        world.bob,
        world.channel,
        "which?",
        [
            Attachment("one.png", encode(lfw_crops()[26])),
            Attachment("two.png", encode(lfw_crops()[27])),
        ],
    )
    menu = await world.bob.use_message_command("Rank these images", with_files)
    await world.fake.wait_for(lambda: menu.original and menu.original.files, 60)
    assert menu.ephemeral and "one.png" in menu.original.content
    assert "two.png" in menu.original.content
