"""The emulated gateway: HELLO, IDENTIFY and RESUME, heartbeats, READY and GUILD_CREATE,
and events dispatched only to sessions whose intents ask for them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from tests.fakediscord.protocol import EVENT_INTENTS, Op
from tests.fakediscord.state import shard_of
from tests.fakediscord.world import World


@dataclass
class Session:
    ws: web.WebSocketResponse
    id: str
    intents: int = 0
    sequence: int = 0
    shard: tuple[int, int] = (0, 1)  # (shard id, shard count), from IDENTIFY


class Gateway(World):
    async def drop_gateway(self, code: int = 4000, shard: int | None = None) -> None:
        """Close the bot's gateway connections (or one shard's) with a close code it may
        resume after (4000: unknown error); their events until it is back go to no one."""
        dropped = [s for s in self._sessions if shard is None or s.shard[0] == shard]
        self._sessions = [s for s in self._sessions if s not in dropped]
        for session in dropped:
            await session.ws.close(code=code)
        self.record("dropped", sessions=len(dropped), shard=shard)

    async def dispatch(
        self, event: str, data: dict, guild_id: int | None = None, only: Session | None = None
    ) -> None:
        """Send an event to the session of the guild's shard (DMs: shard 0), or to `only`."""
        for session in list(self._sessions) if only is None else [only]:
            shard, count = session.shard
            if only is None and shard_of(guild_id, count) != shard:
                continue
            needed = EVENT_INTENTS.get(event)
            if needed is not None:
                intent = needed[0] if guild_id is not None else needed[1]
                if not session.intents & intent:
                    continue
            session.sequence += 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.send_str(
                    json.dumps({"op": Op.DISPATCH, "t": event, "s": session.sequence, "d": data})
                )

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.gateway_down:
            self.record("gateway refused")
            return web.Response(status=503)
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        session = Session(ws, secrets.token_hex(16))
        await ws.send_str(json.dumps({"op": Op.HELLO, "d": {"heartbeat_interval": 41250}}))
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op, data = payload.get("op"), payload.get("d")
            if op == Op.HEARTBEAT:
                await ws.send_str(json.dumps({"op": Op.HEARTBEAT_ACK}))
            elif op == Op.RESUME and self.refuse_resume:
                self.record("resume refused")
                await ws.send_str(json.dumps({"op": Op.INVALID_SESSION, "d": False}))
            elif op == Op.IDENTIFY and self.close_identify_with is not None:
                intents = int(data.get("intents", 0))
                self.record("identify", resumed=False, intents=intents, closed_at=time.monotonic())
                await ws.close(code=self.close_identify_with)
            elif op in (Op.IDENTIFY, Op.RESUME):
                token = data["token"].removeprefix("Bot ")
                self.tokens_seen.add(token)
                if op == Op.IDENTIFY:
                    session.intents = int(data.get("intents", 0))
                    session.shard = tuple(data.get("shard") or (0, 1))
                else:  # a resumed session keeps what it identified with
                    session.id = data["session_id"]
                    resumed = self._identified.get(session.id)
                    if resumed is not None:
                        session.intents, session.shard = resumed.intents, resumed.shard
                self._identified[session.id] = session
                self._sessions.append(session)
                if op == Op.RESUME:
                    session.sequence = int(data.get("seq") or 0)
                    await self.dispatch("RESUMED", {}, only=session)
                else:
                    await self._ready(session)
                self.record(
                    "identify",
                    resumed=op == Op.RESUME,
                    intents=session.intents,
                    shard=session.shard[0],
                )
                self.identified.set()
        if session in self._sessions:
            self._sessions.remove(session)
        self.record("disconnect")
        return ws

    async def _ready(self, session: Session) -> None:
        shard, count = session.shard
        present = [
            g for g in self.guilds.values() if g.bot_present and shard_of(g.id, count) == shard
        ]
        session.sequence += 1
        await session.ws.send_str(
            json.dumps(
                {
                    "op": Op.DISPATCH,
                    "t": "READY",
                    "s": session.sequence,
                    "d": {
                        "v": 10,
                        "user": self.bot_user.to_json(),
                        "session_id": session.id,
                        "resume_gateway_url": self.gateway_url,
                        "private_channels": [],
                        "guilds": [{"id": str(g.id), "unavailable": True} for g in present],
                        "application": {"id": str(self.application_id), "flags": 0},
                        "shard": list(session.shard),
                    },
                }
            )
        )
        for guild in present:
            await self.dispatch("GUILD_CREATE", guild.to_json(), guild.id, only=session)

    def bot_gateway(self) -> dict:
        """GET /gateway/bot: where to connect, how many shards, how many IDENTIFYs are left."""
        return {
            "url": self.gateway_url,
            "shards": self.shard_count,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000 - sum(1 for e in self.events if e.kind == "identify"),
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    # -- the people's side ------------------------------------------------------
    def announce(self, event: str, data: dict, guild_id: int | None) -> None:
        """Dispatch from synchronous scripting code (e.g. a channel created mid-test)."""
        # Without a running loop there is no bot yet: it will get it in GUILD_CREATE.
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self.dispatch(event, data, guild_id))
