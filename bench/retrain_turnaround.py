"""Seconds from /retrain to the completion message, for a person with 300 votes, through
the loopback Discord emulator: the embedded local worker against a Celery worker (a real
redis-server and `celery -A bot.remote.tasks worker --pool solo`) on this machine. Same
pool, votes and guild model for both; each timed after a warm-up round.

    python bench/retrain_turnaround.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, train_guild_model  # noqa: E402


async def retrain(fake, member, told) -> float:
    """One /retrain, timed until the person is told the new model is ready."""
    before = len(told(member))
    began = time.perf_counter()
    await member.invoke("retrain")
    await fake.wait_for(lambda: len(told(member)) > before, 600)
    return time.perf_counter() - began


async def job_seconds(database: Path, user_id: int) -> list[float]:
    """Queued to stored, per job of the person, from the jobs table (finer than the notice)."""
    from storage import open_database

    db = await open_database(database)
    try:
        rows = await db.execute_fetchall(
            "SELECT finished_at - created_at FROM jobs WHERE user_id = ? AND state = 'done'"
            " ORDER BY id",
            (user_id,),
        )
    finally:
        await db.close()
    return [row[0] for row in rows]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from tests.bot.conftest import populate
    from tests.bot.discord_adapter.cogs.test_training import told
    from tests.bot.remote.conftest import CeleryWorker, RedisServer, toml_value
    from tests.fakediscord import FakeDiscord
    from tests.fakediscord.process import BotProcess

    folder = Path(tempfile.mkdtemp())
    redis = RedisServer(shutil.which("redis-server"), folder / "redis")
    redis.start()
    fake = FakeDiscord()
    await fake.start()
    guild = fake.create_guild("bench")
    member = guild.add_member("alice")
    worlds = {}
    celery = {"backend": "celery", "broker_url": redis.url}
    only_asked = {"user_retrain_votes": 100_000, "guild_retrain_votes": 100_000}
    for name, worker in (("local", {}), ("celery", celery)):
        (folder / name).mkdir()
        worlds[name] = BotProcess(fake, folder / name, name, worker={**only_asked, **worker})
    database = worlds["local"].database
    faces, _ = await populate(
        database, crowd_votes=100, alice_votes=300, guild=guild.id, alice=member.id
    )
    train_guild_model(worlds["local"].config_path, guild.id)
    shutil.copy(database, worlds["celery"].database)
    config = folder / "celery-worker.toml"
    config.write_text("[worker]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in celery.items()))
    gpu = CeleryWorker(str(config), "bench", folder).start()
    world = type("World", (), {"fake": fake})
    seconds: dict[str, list[float]] = {"local": [], "celery": []}
    stored: dict[str, list[float]] = {}
    try:
        for name in ("local", "celery"):  # one bot at a time on the emulator's gateway
            bot = world.bot = worlds[name]
            await bot.start(timeout=120)
            for round_ in range(args.rounds + 1):  # round 0 warms up: worker started, traced
                # Out of step with the bot's 2-second notice loop, as a person would be.
                await asyncio.sleep(random.uniform(0, 2))
                took = await retrain(fake, member, lambda m: told(world, m))
                if round_:
                    seconds[name].append(took)
            await bot.stop()
            stored[name] = (await job_seconds(bot.database, member.id))[1:]
    finally:
        for bot in worlds.values():
            await bot.stop()
        gpu.stop()
        redis.stop()
        await fake.close()
    print(f"machine: {machine()}")
    print(
        f"person with 300 votes; pool of {len(faces)} faces; guild model trained; "
        f"{args.rounds} timed rounds each after a warm-up"
    )
    for name, label in (("local", "local worker"), ("celery", "Celery worker via Redis")):
        values, jobs = seconds[name], stored[name]
        print(
            f"{label}: /retrain to the completion message p50 {statistics.median(values):.2f} s"
            f" (min {min(values):.2f}, max {max(values):.2f}); job queued to model stored"
            f" p50 {statistics.median(jobs):.2f} s"
        )
    for what, figures in (("completion message", seconds), ("model stored", stored)):
        ratio = statistics.median(figures["celery"]) / statistics.median(figures["local"])
        print(f"Celery / local, {what} (p50): {ratio:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
