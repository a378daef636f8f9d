"""Background loops that outlive their errors, their health for /konomi status, and the
long answers in flight when the bot stops.

discord.ext.tasks restarts a loop only after network errors: one Discord 5xx or
one database error would stop scheduled pairs, retrain notices or purges until
the next restart. Each tick of a resilient loop logs its error and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from bot.i18n import t

log = logging.getLogger(__name__)


@dataclass
class LoopHealth:
    """When each loop last finished a tick cleanly, and its last error."""

    last_ok: dict[str, float] = field(default_factory=dict)
    last_error: dict[str, tuple[float, str]] = field(default_factory=dict)

    def lines(self, locale: object = None, now: float | None = None) -> list[str]:
        """One line per loop, in the reader's language (its errors as Python wrote them)."""
        now = time.time() if now is None else now
        text = []
        for name in sorted(set(self.last_ok) | set(self.last_error)):
            ok = self.last_ok.get(name)
            shown = t(locale, f"loops.{name}")
            if ok:
                line = t(locale, "status.loop_ran", name=shown, ago=round(now - ok))
            else:
                line = t(locale, "status.loop_not_yet", name=shown)
            if name in self.last_error:
                at, error = self.last_error[name]
                line = t(locale, "status.loop_error", line=line, ago=round(now - at), error=error)
            text.append(line)
        return text


def resilient(name: str) -> Callable:
    """Decorate a cog's loop body: an exception is logged and recorded, never fatal."""

    def decorate(body: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        @functools.wraps(body)
        async def tick(cog, *args) -> None:
            health: LoopHealth = cog.bot.loop_health
            try:
                await body(cog, *args)
            except Exception as error:
                log.exception("%s: this tick failed; the loop goes on", name)
                health.last_error[name] = (time.time(), f"{type(error).__name__}: {error}"[:200])
            else:
                health.last_ok[name] = time.time()

        return tick

    return decorate


class InFlight:
    """Answers being worked on (a /rank, a /pool add: downloads, helpers, the database).
    When their cog unloads at shutdown they are cancelled and awaited, so none touches
    the database after it closed and no task is left with an error nobody reads."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    async def abandon(self) -> int:
        """Cancel what is in flight and wait for it to end; returns how many there were."""
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            log.info("abandoned %d answers in flight at shutdown", len(tasks))
        return len(tasks)
