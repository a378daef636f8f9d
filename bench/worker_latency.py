"""Seconds from /retrain to a stored personal model, through the real worker process:
a user with 300 votes on a pool of 100 faces, the guild model already trained.

    python bench/worker_latency.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, machine  # noqa: E402
from bench.speed import load_crops  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    from bot.config import load_settings
    from bot.services.konomi import KonomiService
    from model.faces import phash
    from model.images import encode_png
    from storage import jobs, open_database, pool, votes

    folder = Path(tempfile.mkdtemp())
    config = folder / "config.toml"
    config.write_text('[storage]\ndatabase = "k.sqlite3"\n[worker]\npoll_interval_s = 0.2\n')
    crops = load_crops(args.data, 100)
    db = await open_database(folder / "k.sqlite3")
    ids = []
    for index, crop in enumerate(crops):
        ids += await pool.add_source(
            db,
            1,
            f"h{index}",
            f"face{index}",
            [pool.NewFace(encode_png(crop), (0, 0, 80, 80), phash(crop))],
        )
    rng = np.random.default_rng(0)
    taste = crops.mean(axis=(1, 2, 3))
    for user, sign, count in [(100 + u, 1, 100) for u in range(10)] + [(42, -1, 300)]:
        pairs = rng.choice(len(ids), (count, 2))
        await votes.add_votes(
            db,
            1,
            user,
            [
                (ids[i], ids[j], float(sign * taste[i] > sign * taste[j]))
                for i, j in pairs
                if i != j
            ],
        )
    service = KonomiService(db, load_settings(config, environ={}))
    await service.training.train_now(1, None)  # the guild model exists before the person asks

    began = time.perf_counter()
    job, _ = await jobs.enqueue(db, 1, 42)
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while (await jobs.get_job(db, job.id)).state not in ("done", "failed"):
        await asyncio.sleep(0.1)
    seconds = time.perf_counter() - began
    worker.terminate()
    worker.wait()
    done = await jobs.get_job(db, job.id)
    await db.close()
    print(f"machine: {machine()}")
    print(
        f"personal model, 300 votes, pool of {len(crops)} faces: {done.state} in {seconds:.1f} s"
        " (worker start and TensorFlow import included)"
    )


if __name__ == "__main__":
    asyncio.run(main())
