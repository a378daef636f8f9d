"""/rank of 10 ordinary 512 px photos through the loopback Discord emulator: konomi as
configured (each upload's largest face described and its expression HOG taken in the
image helpers, scored by a model that reads both) against the same code with
`[model] expression_size = 0` (the descriptor alone) and with `descriptor_size = 0`
(the CNN alone, dlib never runs), and with `--before REV` against an earlier commit
(from `git archive`, with the descriptor), with the same photos, each bot's own guild
model trained on the same votes, on the same machine, in one run. For this code it also
prints where the time goes (download, helpers, scoring, sheet, Discord), from the
bot's own log line for each /rank.

    python bench/rank_latency.py [--rounds 15] [--data ../shared/data] [--before HEAD~1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, machine  # noqa: E402


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


REPO = Path(__file__).resolve().parents[1]
PHASES = ("download", "helpers", "scoring", "sheet", "Discord")
BREAKDOWN = re.compile(
    r"ranked \d+ files \(\d+ not\): "
    + ", ".join(rf"{phase} (?P<{phase}>[0-9.]+) s" for phase in PHASES)
)


async def time_ranks(bot, member, files, rounds: int, phases: dict[str, list[float]]):
    """Timed /rank calls (after two warm-up rounds: model loaded, helpers started), and
    each call's phases from the bot's log line, where the bot writes one."""
    from tests.fakediscord import Attachment

    await bot.start(timeout=120)
    seconds = []
    try:
        for round_ in range(rounds + 2):
            options = {f"image{i}": Attachment(n, d) for i, (n, d) in enumerate(files, 1)}
            logged = len(BREAKDOWN.findall(bot.log()))
            began = time.perf_counter()
            interaction = await member.invoke("rank", **options)
            await bot.fake.wait_for(
                lambda i=interaction: i.original and (i.original.files or i.original.content), 120
            )
            if round_ >= 2:
                seconds.append(time.perf_counter() - began)
            reply = interaction.original
            assert reply.files and "Not ranked" not in reply.content, reply.content
            for _ in range(50):  # the line follows the reply by a moment
                lines = list(BREAKDOWN.finditer(bot.log()))
                if len(lines) > logged:
                    if round_ >= 2:
                        for phase in PHASES:
                            phases.setdefault(phase, []).append(float(lines[-1][phase]))
                    break
                await asyncio.sleep(0.02)
    finally:
        await bot.stop()
    return seconds


def checkout(rev: str) -> Path:
    """The tree of an earlier commit, from `git archive`."""
    folder = Path(tempfile.mkdtemp(prefix="konomi-before-"))
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def prepare(source: Path, database: Path, config: Path, guild_id: int) -> None:
    """The bot's pool and votes, and its guild model, made by the code of `source` (its
    own schema), as its operator would."""
    environment = {**os.environ, "PYTHONPATH": str(source)}
    script = (
        "import asyncio, sys\nfrom tests.bot.conftest import populate\n"
        "asyncio.run(populate(sys.argv[1], crowd_votes=40, alice_votes=0, guild=int(sys.argv[2])))"
    )
    for command in (
        [sys.executable, "-c", script, str(database), str(guild_id)],
        [sys.executable, "-m", "bot", "train", "--config", str(config), "--guild", str(guild_id)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=source)
        assert done.returncode == 0, done.stderr


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--before", metavar="REV", help="also time this earlier commit")
    args = parser.parse_args()

    from tests.fakediscord import FakeDiscord
    from tests.fakediscord.process import BotProcess

    kind, files = photos(args.data)
    fake = FakeDiscord()
    await fake.start()
    guild = fake.create_guild("bench")
    member = guild.add_member("alice")
    arms = {
        "without": (REPO, {"descriptor_size": 0}),
        "descriptor": (REPO, {"expression_size": 0}),
        "with": (REPO, {}),
    }
    if args.before:
        arms["before"] = (checkout(args.before), {})
    bots = {}
    for name, (source, model) in arms.items():
        folder = Path(tempfile.mkdtemp())
        bots[name] = BotProcess(
            fake,
            folder,
            name,
            source=source,
            model=model,
            limits={"rank_uses": 1000},  # one member ranks back to back here
        )
        prepare(source, bots[name].database, bots[name].config_path, guild.id)
    seconds: dict[str, list[float]] = {name: [] for name in arms}
    phases: dict[str, dict[str, list[float]]] = {name: {} for name in arms}
    for name in [*arms, *arms]:  # interleaved: drift hits every arm alike
        seconds[name] += await time_ranks(
            bots[name], member, files, args.rounds // 2 + 1, phases[name]
        )
    await fake.close()

    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1]

    print(f"machine: {machine()}")
    print(f"photos: {kind}; {len(seconds['with'])} timed /rank calls each, warm model")
    labels = {
        "without": "the CNN alone (descriptor_size 0)",
        "descriptor": "with the descriptor (expression_size 0)",
        "with": "with the descriptor and expression features (as configured)",
        "before": f"{args.before}, as configured there",
    }
    for name in arms:
        values = seconds[name]
        line = f"{labels[name]}: p50 {statistics.median(values):.3f} s, p95 {p(values, 95):.3f} s"
        if phases[name]:
            line += (
                " (p50 "
                + ", ".join(
                    f"{phase} {statistics.median(phases[name][phase]):.3f} s" for phase in PHASES
                )
                + ")"
            )
        print(line)
    p50 = {name: statistics.median(values) for name, values in seconds.items()}
    for base in ("descriptor", "without"):
        print(
            f"as configured - {labels[base]} (p50): {p50['with'] - p50[base]:+.3f} s "
            f"({(p50['with'] - p50[base]) / len(files):+.4f} s per image); "
            f"ratio {p50['with'] / p50[base]:.3f}"
        )
    if args.before:
        print(f"this code / {args.before} (p50): ratio {p50['with'] / p50['before']:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
