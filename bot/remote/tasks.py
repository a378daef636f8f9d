"""The Celery worker's side: `celery -A bot.remote.tasks worker -Q train --pool solo
--concurrency 1` (solo: CUDA does not survive a fork).

Stateless: a job carries its votes, settings and base weights, and names its pool
by content hash; the pool is read from the broker once and cached on disk
(`[worker] pool_cache`), so only the first job of a pool version moves it. The
config comes from KONOMI_CONFIG (a path) or the embedded defaults, the broker from
`[worker] broker_url` or KONOMI_BROKER_URL. A job that is malformed or too large
is answered with its reason, never trained; the solo pool cannot enforce Celery's
time limits, so training itself stops at `[worker] task_time_limit_s`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import redis
from celery.platforms import EX_OK
from celery.worker import state as worker_state

from bot.config import load_settings
from bot.remote.celery_app import POOL_PREFIX, TASK, make_celery
from bot.services.imaging import current_rss
from model.metrics import ModelKind
from model.training import TrainingJob, TrainingResult, train, train_personal_batch
from model.wire import (
    WireError,
    decode_job,
    decode_pool,
    encode_refusal,
    encode_results,
    pool_key,
)

log = logging.getLogger(__name__)

settings = load_settings()
app = make_celery(settings.worker)
_POOLS_KEPT = 16  # pool versions kept in the disk cache (the oldest go first)


class TimeLimitReached(Exception):
    pass


class PoolCache:
    """Pools by content hash: the last one decoded in memory, recent ones on disk, the
    rest read from the broker (where the bot puts each pool version once)."""

    def __init__(self, folder: Path, broker_url: str, max_bytes: int) -> None:
        self.folder = folder
        self.broker_url = broker_url
        self.max_bytes = max_bytes
        self.last: tuple[str, tuple[np.ndarray, np.ndarray | None]] | None = None

    def load(self, key: str) -> tuple[np.ndarray, np.ndarray | None]:
        if self.last and self.last[0] == key:
            return self.last[1]
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise WireError("a pool key is a sha256 in hex")
        path = self.folder / f"{key}.msgpack"
        data = path.read_bytes() if path.is_file() else None
        if data is None or pool_key(data) != key:
            data = redis.Redis.from_url(self.broker_url).get(POOL_PREFIX + key)
            if data is None:
                raise WireError(f"pool {key[:12]} is not in the broker (expired or lost)")
            if pool_key(data) != key:
                raise WireError(f"pool {key[:12]} does not match its hash")
            self._keep(path, data)
            log.info("pool %s read from the broker (%d bytes), cached", key[:12], len(data))
        pool = decode_pool(data, self.max_bytes)
        self.last = (key, pool)
        return pool

    def _keep(self, path: Path, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)
        cached = sorted(self.folder.glob("*.msgpack"), key=lambda p: p.stat().st_mtime)
        for old in cached[:-_POOLS_KEPT]:
            old.unlink(missing_ok=True)


pools = PoolCache(
    settings.pool_cache_path, settings.worker.broker_url, settings.worker.max_message_bytes
)


def run_job(payload: bytes) -> bytes:
    """Train a job's steps in order (a personal step without base weights starts from
    the guild step's result; people in a row train together) and encode their results."""
    steps, face_ids, job_ids = decode_job(payload, settings.worker.max_message_bytes, pools.load)
    deadline = time.monotonic() + settings.worker.task_time_limit_s

    def check_time(epoch: int, epochs: int, loss: float | None) -> None:
        if time.monotonic() > deadline:
            raise TimeLimitReached(
                f"stopped after {settings.worker.task_time_limit_s:.0f} s"
                " ([worker] task_time_limit_s)"
            )

    results: list[TrainingResult] = []
    guild: TrainingResult | None = None
    people: list[TrainingJob] = []  # personal steps in a row: trained together
    for step in [*steps, None]:
        if step is not None and step.kind == ModelKind.PERSONAL:
            if step.base_weights is None:
                step = replace(step, base_weights=guild.weights, base_offsets=guild.offsets)
            people.append(step)
            continue
        if people:
            results += train_personal_batch(people, check_time)
            people = []
        if step is not None:
            guild = train(step, check_time)
            results.append(guild)
    _count_models(len(results))
    return encode_results(steps, results, face_ids, job_ids)


@app.task(name=TASK, bind=True, resultrepr_maxsize=80)  # results are bytes: log little
def train_job(self, payload: bytes) -> bytes:
    """One job's results as msgpack bytes, or its refusal with the reason."""
    started = time.monotonic()
    try:
        data = run_job(payload)
    except (WireError, TimeLimitReached) as error:
        log.warning("job %s refused: %s", self.request.id, error)
        return encode_refusal(str(error))
    if len(data) > settings.worker.max_message_bytes:
        return encode_refusal(f"its result of {len(data):,} bytes is over the limit")
    log.info("job %s trained in %.1f s", self.request.id, time.monotonic() - started)
    return data


_models_trained = 0


def _count_models(count: int) -> None:
    """After `[worker] jobs_per_process` models the worker stops once this task is
    acknowledged (a warm shutdown, exit code 0) and its supervisor (compose's restart
    policy) starts a fresh one: memory grows with every model Keras builds, and
    Celery's max-tasks-per-child does not apply to the solo pool."""
    global _models_trained
    _models_trained += count
    if _models_trained >= settings.worker.jobs_per_process:
        log.info(
            "recycling: %d models trained (resident memory %.0f MB); exiting after this task",
            _models_trained,
            current_rss() / 2**20,
        )
        worker_state.should_stop = EX_OK
