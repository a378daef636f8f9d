"""The database at 10,000 members x 300 votes, written the way the bot writes them
(reaction events on posted pairs, in groups): its size on disk, and the latency of one
more vote written alone (one transaction, as on a quiet server: p50 and p99) against a
group of 256 (per vote), plus the reads the worker makes on it, in one run.

    python bench/vote_database.py [--members 10000] [--votes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--votes", type=int, default=300)
    parser.add_argument("--faces", type=int, default=1_000)
    parser.add_argument("--voters-per-pair", type=int, default=100)
    args = parser.parse_args()

    from storage import open_database, pool, votes

    path = Path(tempfile.mkdtemp()) / "konomi.sqlite3"
    db = await open_database(path)
    guild = 1
    faces = await pool.add_source(
        db,
        guild,
        "bench",
        "bench.png",
        [pool.NewFace(b"png", (0, 0, 1, 1), i) for i in range(args.faces)],
    )
    rng = random.Random(0)
    pair_count = args.members * args.votes // args.voters_per_pair
    for message in range(1, pair_count + 1):
        a, b = rng.sample(faces, 2)
        await votes.record_pair(
            db, message_id=message, guild_id=guild, channel_id=1, face_a=a, face_b=b
        )
    outcomes = (0.0, 0.5, 1.0)
    started = time.perf_counter()
    written = 0
    for first in range(0, args.members, 100):  # 100 members at a time, 30,000 events
        events = [
            votes.ReactionEvent(message, guild, member, rng.choice(outcomes), True)
            for member in range(first, min(first + 100, args.members))
            for message in rng.sample(range(1, pair_count + 1), args.votes)
        ]
        for start in range(0, len(events), 256):
            await votes.apply_reactions(db, events[start : start + 256])
        written += len(events)
    filled = time.perf_counter() - started
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(p.stat().st_size for p in path.parent.iterdir())

    async def one_vote() -> float:
        event = votes.ReactionEvent(
            rng.randint(1, pair_count),
            guild,
            rng.randrange(args.members),
            rng.choice(outcomes),
            True,
        )
        began = time.perf_counter()
        await votes.apply_reactions(db, [event])
        return time.perf_counter() - began

    alone = [await one_vote() for _ in range(2_000)]
    group_times = []
    for _ in range(40):
        events = [
            votes.ReactionEvent(
                rng.randint(1, pair_count),
                guild,
                rng.randrange(args.members),
                rng.choice(outcomes),
                True,
            )
            for _ in range(256)
        ]
        began = time.perf_counter()
        await votes.apply_reactions(db, events)
        group_times.append((time.perf_counter() - began) / 256)
    began = time.perf_counter()
    mine = await votes.user_votes(db, guild, 42)
    read_one = time.perf_counter() - began
    began = time.perf_counter()
    await votes.new_vote_counts(db)
    schedule = time.perf_counter() - began  # a worker's first look after it starts
    seen = await votes.latest_vote_id(db)
    await votes.apply_reactions(db, events)  # 256 more votes, then the next look
    began = time.perf_counter()
    await votes.new_vote_counts(db, seen)
    next_schedule = time.perf_counter() - began
    await db.close()

    def q(values: list[float], n: int) -> float:
        return statistics.quantiles(values, n=100)[n - 1] * 1000

    print(f"machine: {machine()}")
    print(
        f"{args.members:,} members x {args.votes} votes = {written:,} votes on {pair_count:,} "
        f"pairs of {args.faces:,} faces, written as reaction events in groups of 256: "
        f"{filled:.0f} s ({written / filled:,.0f} votes/s)"
    )
    print(
        f"size on disk: {size / 2**20:,.0f} MB ({size / written:.0f} bytes a vote, "
        "its reaction row and indexes included)"
    )
    print(
        f"one vote alone (its own transaction): p50 {q(alone, 50):.2f} ms, "
        f"p99 {q(alone, 99):.2f} ms"
    )
    print(
        f"in a group of 256: p50 {q(group_times, 50):.3f} ms a vote, "
        f"p99 {q(group_times, 99):.3f} ms a vote; alone / grouped (p50): "
        f"{statistics.median(alone) / statistics.median(group_times):.1f}x"
    )
    print(
        f"a member's {len(mine)} votes read for training: {read_one * 1000:.1f} ms; "
        f"the worker's retrain schedule: {schedule * 1000:.0f} ms at its start (every "
        f"voter), {next_schedule * 1000:.0f} ms after 256 new votes (their voters)"
    )


if __name__ == "__main__":
    asyncio.run(main())
