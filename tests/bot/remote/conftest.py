"""A real redis-server and real Celery worker processes, on 127.0.0.1 only.

Without redis-server the fixture installs Debian's package when it can (root and
apt-get); where Redis still cannot start these tests skip with the reason, but
under CI (CI=true) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.bot.conftest import write_config
from tests.fakediscord.process import toml_value


def _redis_binary() -> str | None:
    if shutil.which("redis-server") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "redis-server"], capture_output=True, timeout=600
        )
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: these tests may not skip)")
    pytest.skip(reason)


class RedisServer:
    """redis-server on a free port with an append-only file, so a restart keeps the queue."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary, self.folder, self.port = binary, folder, _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    _unavailable("redis-server did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: redis-server writes its append-only file and exits."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


class CeleryWorker:
    """`celery -A bot.remote.tasks worker -Q train --pool solo --concurrency 1`, as the
    README says to run it, with its log in a file."""

    def __init__(self, config: str, name: str, folder: Path) -> None:
        self.config, self.name, self.log_path = config, name, folder / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> CeleryWorker:
        ready_before = self.log().count(" ready.")
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "bot.remote.tasks",
                    "worker",
                    "-Q",
                    "train",
                    "--pool",
                    "solo",
                    "--concurrency",
                    "1",
                    "-n",
                    f"{self.name}@konomi",
                    "--loglevel",
                    "INFO",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "KONOMI_CONFIG": self.config},
            )
        deadline = time.monotonic() + timeout
        while self.log().count(" ready.") <= ready_before:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"celery worker {self.name} did not start:\n{self.log()}")
            time.sleep(0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def redis_server(tmp_path):
    binary = _redis_binary()
    if binary is None:
        _unavailable("redis-server is not installed and could not be installed")
    server = RedisServer(binary, tmp_path / "redis")
    server.start()
    yield server
    server.stop()


CELERY = {
    "backend": "celery",
    # Short, so that a killed worker's job is handed on within the test.
    "task_time_limit_s": 10,
    "visibility_timeout_s": 12,
    "resend_after_s": 30,
    # Only the jobs a test asks for.
    "user_retrain_votes": 100_000,
    "guild_retrain_votes": 100_000,
    "max_message_bytes": 4_000_000,
}


@pytest.fixture
def celery_config(tmp_path, redis_server):
    """A config for the bot's side and the workers: Celery through the test's Redis."""
    worker = {**CELERY, "broker_url": redis_server.url, "retrain_cooldown_s": 0}
    return write_config(tmp_path, worker={key: toml_value(value) for key, value in worker.items()})


@pytest.fixture
def celery_workers(tmp_path, celery_config):
    """Start workers by name: `celery_workers("w1")`; all are stopped after the test."""
    started: list[CeleryWorker] = []

    def start(name: str) -> CeleryWorker:
        started.append(CeleryWorker(celery_config, name, tmp_path).start())
        return started[-1]

    yield start
    for worker in started:
        worker.stop()
        print(f"--- {worker.name}\n{worker.log()[-4000:]}")
