"""A loopback Discord for the real discord.py client: REST, gateway and CDN on 127.0.0.1.

Rules that bite bots in production are kept, each switchable per test: the 3-second
interaction deadline (404, 10062), dead interaction tokens after 15 minutes (401,
50027), 429 with retry_after on a chosen route, the attachment size limit (413, 40005),
missing bot permissions (403, 50013), and default_member_permissions enforced before a
command reaches the bot.

One class, built by role: world.py (state, record, faults), gateway.py, actions.py
(what people do), rest.py and application.py (the REST routes); protocol.py names
Discord's numbers.
"""

from __future__ import annotations

from aiohttp import web

from tests.fakediscord.application import Application
from tests.fakediscord.rest import Rest
from tests.fakediscord.world import Rules

__all__ = ["FakeDiscord", "Rules"]


class FakeDiscord(Application):
    routes = Application.ROUTES + Rest.ROUTES

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self._gateway)
        app.router.add_route("GET", "/attachments/{path:.*}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for session in list(self._sessions):
            await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
