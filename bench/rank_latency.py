"""/rank of 10 ordinary 512 px photos through the loopback Discord emulator: konomi with
the face descriptor (each upload's largest face described in the image helpers, scored
by a model that reads it) against the same code with `[model] descriptor_size = 0` (the
CNN alone, no descriptor computed), with the same photos, each bot's own guild model
trained on the same votes, on the same machine, in one run.

    python bench/rank_latency.py [--rounds 15] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, machine, train_guild_model  # noqa: E402


def photos(data: Path) -> tuple[str, list[tuple[str, bytes]]]:
    """Ten 512 px portraits: the London set's first ten, else nine LFW faces and the astronaut."""
    london = sorted((data / "london" / "images").glob("*.jpg"))[:10]
    if len(london) == 10:
        return "London set, 512x512 JPEG", [(p.name, p.read_bytes()) for p in london]
    from tests.images import astronaut, encode, lfw_faces

    generated = [*lfw_faces(512)[:9], astronaut()]
    return "9 LFW faces upscaled to 512 px + astronaut, PNG", [
        (f"photo{i}.png", encode(image)) for i, image in enumerate(generated)
    ]


async def time_ranks(bot, member, files, rounds: int) -> list[float]:
    from tests.fakediscord import Attachment

    await bot.start(timeout=120)
    seconds = []
    try:
        for round_ in range(rounds + 2):  # two warm-up rounds: model loaded, helpers started
            options = {f"image{i}": Attachment(n, d) for i, (n, d) in enumerate(files, 1)}
            began = time.perf_counter()
            interaction = await member.invoke("rank", **options)
            await bot.fake.wait_for(
                lambda i=interaction: i.original and (i.original.files or i.original.content), 120
            )
            if round_ >= 2:
                seconds.append(time.perf_counter() - began)
            reply = interaction.original
            assert reply.files and "Not ranked" not in reply.content, reply.content
    finally:
        await bot.stop()
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    from tests.bot.conftest import populate
    from tests.fakediscord import FakeDiscord
    from tests.fakediscord.process import BotProcess

    kind, files = photos(args.data)
    fake = FakeDiscord()
    await fake.start()
    guild = fake.create_guild("bench")
    member = guild.add_member("alice")
    bots = {}
    for name, descriptor_size in (("without", 0), ("with", 128)):
        folder = Path(tempfile.mkdtemp())
        bots[name] = BotProcess(
            fake,
            folder,
            name,
            model={"descriptor_size": descriptor_size},
            limits={"rank_uses": 1000},  # one member ranks back to back here
        )
        await populate(bots[name].database, crowd_votes=40, alice_votes=0, guild=guild.id)
        train_guild_model(bots[name].config_path, guild.id)
    seconds: dict[str, list[float]] = {"without": [], "with": []}
    for name in ("without", "with", "without", "with"):  # interleaved: drift hits both alike
        seconds[name] += await time_ranks(bots[name], member, files, args.rounds // 2 + 1)
    await fake.close()

    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1]

    print(f"machine: {machine()}")
    print(f"photos: {kind}; {len(seconds['with'])} timed /rank calls each, warm model")
    for name, label in (
        ("without", "without the descriptor (descriptor_size 0)"),
        ("with", "with the descriptor (descriptor_size 128)"),
    ):
        values = seconds[name]
        print(f"{label}: p50 {statistics.median(values):.3f} s, p95 {p(values, 95):.3f} s")
    gap = statistics.median(seconds["with"]) - statistics.median(seconds["without"])
    ratio = statistics.median(seconds["with"]) / statistics.median(seconds["without"])
    print(f"difference with - without (p50): {gap:+.3f} s; ratio {ratio:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
