"""/rank against hostile uploads and many members at once, on the real bot process."""

import re
from pathlib import Path

from tests.bot.conftest import run_cli
from tests.bot.discord_adapter.cogs.test_ranking import train_guild_model
from tests.fakediscord import Attachment
from tests.images import astronaut, encode, known_killers, lfw_faces

MEMORY_LIMIT = 1024 << 20


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(key)


def limited_helpers(session: int) -> list[int]:
    """Processes of the bot's session that run under the helpers' address-space limit."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            limits = (proc / "limits").read_text()
        except OSError:
            continue
        if int(fields[3]) == session and f"Max address space {MEMORY_LIMIT}" in " ".join(
            limits.split()
        ):
            found.append(int(proc.name))
    return found


def ranked_names(text: str) -> list[str]:
    """The file names of a ranking reply, best first."""
    return re.findall(r"^\d+\. \*\*(.+?)\*\*", text, re.MULTILINE)


async def rank(member, world, files: dict[str, bytes], wait: bool = True):
    options = {
        f"image{i}": Attachment(name, data) for i, (name, data) in enumerate(files.items(), 1)
    }
    interaction = await member.invoke("rank", **options)
    if wait:
        await world.fake.wait_for(lambda: interaction.original and interaction.original.content, 90)
    return interaction


def faces(start: int, count: int) -> dict[str, bytes]:
    return {
        f"face{i}.png": encode(face)
        for i, face in enumerate(lfw_faces(200)[start : start + count], start)
    }


async def test_the_known_killers_get_a_line_each_and_the_bot_keeps_serving(world, tmp_path):
    await train_guild_model(world)
    await rank(world.alice, world, faces(0, 1))  # model loaded, helpers started
    pid = world.bot.process.pid
    before = status_kb(pid, "VmRSS")
    hostile = await rank(world.alice, world, {**known_killers(), **faces(1, 1)})
    text = hostile.original.content
    after = status_kb(pid, "VmRSS")
    helpers = limited_helpers(pid)
    peaks = [status_kb(helper, "VmHWM") for helper in helpers]
    print(
        f"bot memory {before / 1024:.0f} MB -> {after / 1024:.0f} MB; "
        f"{len(helpers)} helpers under RLIMIT_AS {MEMORY_LIMIT >> 20} MiB, peak "
        f"{max(peaks) / 1024:.0f} MB"
    )
    assert world.bot.process.poll() is None
    assert "**tall.png**: the image is 96x65632 pixels; the longest side" in text
    assert "**strip.png**: the image is 1000000x24 pixels; the longest side" in text
    assert "**lying.jpg**: the image is 40000x1000 pixels; the longest side" in text
    assert re.search(r"\*\*wide\.png\*\* — .*\(no face found: the whole image was scored\)", text)
    assert sorted(ranked_names(text)) == ["face1.png", "wide.png"]
    assert "crashed" not in text and "took longer" not in text
    assert after - before < 150 * 1024
    assert helpers and max(peaks) < MEMORY_LIMIT >> 10

    # A normal /rank right after gives the order the CLI gives for the same files.
    normal = faces(10, 5)
    reply = await rank(world.alice, world, normal)
    for name, data in normal.items():
        (tmp_path / name).write_bytes(data)
    cli = run_cli(
        "rank",
        "--config",
        str(world.bot.config_path),
        "--guild",
        str(world.guild.id),
        "--user",
        str(world.alice.id),
        *(str(tmp_path / name) for name in normal),
    )
    assert cli.returncode == 0, cli.stderr
    expected = re.findall(r"/(face\d+\.png)", cli.stdout)
    assert ranked_names(reply.original.content) == expected


async def test_members_ranking_at_the_same_moment_get_what_each_gets_alone(world):
    await train_guild_model(world)
    members = [
        world.alice,
        world.bob,
        world.guild.add_member("carol"),
        world.guild.add_member("dave"),
    ]
    uploads = [{**faces(20 + 4 * i, 3), "astronaut.png": encode(astronaut())} for i in range(4)]
    alone = []
    for member, files in zip(members, uploads, strict=True):
        alone.append((await rank(member, world, files)).original.content)
    pending = [
        await rank(member, world, files, wait=False)
        for member, files in zip(members, uploads, strict=True)
    ]
    await world.fake.wait_for(lambda: all(i.original and i.original.content for i in pending), 90)
    together = [interaction.original.content for interaction in pending]
    print(f"{len(members)} members, {sum(len(u) for u in uploads)} images at once")
    assert together == alone
    assert all(len(ranked_names(text)) == 4 for text in together)
