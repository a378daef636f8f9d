"""Runs the project's real entry point, `python -m bot run`, against the emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakediscord.server import FakeDiscord

BOT_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.GtEsT1.emulated-bot-token-do-not-log-0123456789"


class BotProcess:
    """`python -m bot run --config <temp config>` as a subprocess, with its own database."""

    def __init__(
        self,
        fake: FakeDiscord,
        folder: Path,
        name: str = "bot",
        source: Path | None = None,
        env: dict[str, str] | None = None,
        **sections: dict,
    ) -> None:
        """`name` names the config and log files: several bots may share one folder (and so
        one database), one after the other. `source`: run the bot from another checkout
        (a benchmark's "before") instead of the installed one; `env`: more environment."""
        self.source = source
        self.env = env or {}
        self.fake = fake
        self.folder = folder
        self.log_path = folder / f"{name}.log"
        self.config_path = folder / f"{name}.toml"
        settings = {
            "discord": {
                "api_base_url": fake.api_base_url,
                "gateway_url": fake.gateway_url,
                "guild_ready_timeout_s": 0.1,
                "preload_models": False,  # most tests never rank: start without Keras
            },
            "storage": {"database": "konomi.sqlite3"},
            "training": {"max_epochs": 8, "patience": 3},
            "worker": {"poll_interval_s": 0.2, "retrain_cooldown_s": 0.0},
        }
        for section, values in sections.items():
            settings.setdefault(section, {}).update(values)
        lines = []
        for section, values in settings.items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        self.config_path.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None

    @property
    def database(self) -> Path:
        return self.folder / "konomi.sqlite3"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def start(self, timeout: float = 60.0) -> None:
        """Start and wait until the bot is ready; start-up errors fail with the bot's output."""
        ready_before = self.log().count("konomi is ready")
        environment = {**os.environ, "DISCORD_TOKEN": BOT_TOKEN, "PYTHONUNBUFFERED": "1"}
        if self.source is not None:
            environment["PYTHONPATH"] = str(self.source)
        environment.update(self.env)
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=self.folder,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while self.log().count("konomi is ready") <= ready_before:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the bot exited with {self.process.returncode}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                await self.stop()
                raise AssertionError(f"the bot was not ready within {timeout} s:\n{self.log()}")
            await asyncio.sleep(0.05)

    async def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait, as a service manager would."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the bot did not stop on SIGTERM:\n{self.log()}") from None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the bot and everything it started (its worker too)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
