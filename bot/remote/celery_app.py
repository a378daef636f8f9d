"""The one Celery configuration the bot and its workers share.

Settings from the field's practice and its pitfalls: a job is acknowledged only
after it finished (`task_acks_late`) and handed back when its worker dies
(`task_reject_on_worker_lost`); a worker takes one job at a time
(`worker_prefetch_multiplier = 1`); the broker's visibility timeout is longer
than a job may run (config checks), or a long job runs twice; msgpack only, so
a pickled message is refused before anything in it is loaded.
"""

from __future__ import annotations

from celery import Celery

from bot.config import WorkerSettings

TASK = "konomi.train"
QUEUE = "train"
POOL_PREFIX = "konomi:pool:"


def make_celery(worker: WorkerSettings) -> Celery:
    app = Celery(
        "konomi", broker=worker.broker_url, backend=worker.broker_url, set_as_current=False
    )
    # Unacknowledged jobs of dead workers are looked for this often (a low visibility
    # timeout needs a short sweep, or a job waits much longer than the timeout says).
    sweep = max(1, min(60, int(worker.visibility_timeout_s / 20)))
    app.conf.update(
        task_serializer="msgpack",
        result_serializer="msgpack",
        accept_content=["msgpack"],
        result_accept_content=["msgpack"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_default_queue=QUEUE,
        task_routes={TASK: {"queue": QUEUE}},
        result_expires=int(worker.result_expires_s),
        broker_transport_options={
            "visibility_timeout": worker.visibility_timeout_s,
            "unacked_restore_interval": sweep,
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        # Publishing blocks its caller; a broker that is down fails the send quickly (the
        # job stays queued in the bot's database and is sent on a later look).
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        redis_socket_timeout=10,
        redis_socket_connect_timeout=5,
        worker_hijack_root_logger=False,
    )
    return app
