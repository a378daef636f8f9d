"""/rank always answers: 200 calls from four members at once, large-decode files between
ordinary photos, on the real bot process."""

import asyncio
import io

import numpy as np
from PIL import Image

from tests.bot.discord_adapter.cogs.test_ranking import train_guild_model
from tests.bot.discord_adapter.cogs.test_ranking_uploads import ranked_names, status_kb
from tests.fakediscord import Attachment
from tests.fakediscord.process import BotProcess
from tests.images import encode, lfw_faces

CALLS = 200


def large_decodes() -> dict[str, bytes]:
    """Files of a few hundred KB that decode to 100-120 MB each, within every limit
    (pixels, sides, decoded bytes): the ones that left helpers near their memory limit."""
    canvas = np.full((6324, 6324, 3), (90, 120, 150), np.uint8)
    canvas[::97] = 30  # a little texture, so JPEG and TIFF are not trivial
    files = {"big.png": encode(canvas)}
    smaller = canvas[:6000, :6000]
    files["big.jpg"] = encode(smaller, "JPEG", quality=90)
    buffer = io.BytesIO()
    Image.fromarray(smaller).save(buffer, format="TIFF", compression="tiff_deflate")
    files["big.tif"] = buffer.getvalue()
    return files


async def test_two_hundred_ranks_with_large_decodes_between_photos_all_answer(world):
    await world.bot.stop()
    world.bot = BotProcess(world.fake, world.bot.folder, "soak", limits={"rank_uses": 1000})
    await world.bot.start()
    await train_guild_model(world)
    members = [world.alice, world.bob, world.guild.add_member("carol")]
    members.append(world.guild.add_member("dave"))
    large = large_decodes()
    photos = {f"photo{i}.png": encode(face) for i, face in enumerate(lfw_faces(256)[:8])}
    pid = world.bot.process.pid
    warm = await members[0].invoke("rank", image1=Attachment("photo0.png", photos["photo0.png"]))
    await world.fake.wait_for(lambda: warm.original and warm.original.content, 120)
    memory_before = status_kb(pid, "VmRSS")

    calls = []  # (interaction, ordinary?, file name)
    for round_ in range(CALLS // len(members)):
        batch = []
        for index, member in enumerate(members):
            if (round_ + index) % 2:
                name = sorted(large)[(round_ + index) % len(large)]
                data, ordinary = large[name], False
            else:
                name = sorted(photos)[(round_ + index) % len(photos)]
                data, ordinary = photos[name], True
            interaction = await member.invoke("rank", image1=Attachment(name, data))
            batch.append((interaction, ordinary, name))
        await world.fake.wait_for(
            lambda b=batch: all(i.original and i.original.content for i, _, _ in b), 180
        )
        calls += batch
        await asyncio.sleep(0)
    memory_after = status_kb(pid, "VmRSS")

    answered = sum(bool(i.original and i.original.content) for i, _, _ in calls)
    refused = [
        (name, i.original.content)
        for i, ordinary, name in calls
        if ordinary and ranked_names(i.original.content) != [name]
    ]
    log = world.bot.log()
    replaced = log.count("replaced by a fresh one")
    lost = log.count("a file was lost by the image helpers")
    print(
        f"{len(calls)} /rank calls from {len(members)} members: {answered} answered, "
        f"{len(refused)} ordinary photos refused, {replaced} helpers replaced after peaking, "
        f"{lost} files lost and handed over again; bot memory {memory_before / 1024:.0f} MB "
        f"-> {memory_after / 1024:.0f} MB"
    )
    assert answered == len(calls) == CALLS
    assert refused == [], refused[:3]
    assert memory_after - memory_before <= 150 * 1024
    assert world.bot.process.poll() is None
