"""/rank of 10 ordinary 512 px photos through the loopback Discord emulator: konomi as
it is (uploads read in isolated helper processes) against a git revision from before
(uploads decoded and searched in the bot's own threads), with the same photos, the
same guild model and the same machine, in one run.

    python bench/rank_latency.py [--before 1f285fc] [--rounds 15] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


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
            await bot.fake.wait_for(lambda i=interaction: i.original and i.original.files, 120)
            if round_ >= 2:
                seconds.append(time.perf_counter() - began)
            assert "Not ranked" not in interaction.original.content, interaction.original.content
    finally:
        await bot.stop()
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="1f285fc", help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    from tests.bot.conftest import populate
    from tests.fakediscord import FakeDiscord
    from tests.fakediscord.process import BotProcess

    folder = Path(tempfile.mkdtemp())
    before_tree = folder / "before"
    before_tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", args.before], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(before_tree)], input=archive.stdout, check=True)
    kind, files = photos(args.data)

    fake = FakeDiscord()
    await fake.start()
    guild = fake.create_guild("bench")
    member = guild.add_member("alice")
    bots = {
        "before": BotProcess(fake, folder, "before", source=before_tree),
        "now": BotProcess(fake, folder, "now"),
    }
    await populate(bots["now"].database, crowd_votes=40, alice_votes=0, guild=guild.id)
    trained = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "train",
            "--config",
            str(bots["now"].config_path),
            "--guild",
            str(guild.id),
        ],
        capture_output=True,
        text=True,
    )
    assert trained.returncode == 0, trained.stderr
    seconds: dict[str, list[float]] = {"before": [], "now": []}
    for name in ("before", "now", "before", "now"):  # interleaved: drift hits both alike
        seconds[name] += await time_ranks(bots[name], member, files, args.rounds // 2 + 1)
    await fake.close()

    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1]

    print(f"machine: {machine()}")
    print(f"photos: {kind}; {len(seconds['now'])} timed /rank calls each, warm model")
    for name, label in (
        ("before", f"before ({args.before}, in the bot's threads)"),
        ("now", "now (isolated helper processes)"),
    ):
        values = seconds[name]
        print(f"{label}: p50 {statistics.median(values):.3f} s, p95 {p(values, 95):.3f} s")
    ratio = statistics.median(seconds["now"]) / statistics.median(seconds["before"])
    print(f"ratio now / before (p50): {ratio:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
