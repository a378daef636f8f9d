"""The pool and the guild: adding faces (files, folders, videos, uploads), curating
them, reports from members, the admin's status view, and a guild's lifecycle."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.config import Settings
from bot.i18n import t
from bot.services import render
from bot.services.errors import PoolTooSmall, UnknownFace
from bot.services.imaging import Deadline, ImageHelpers
from bot.services.ingest import IngestSummary, PoolIngester, ingest_paths
from model.archives import is_zip
from model.descriptor import pack_descriptor
from model.expression import pack_expression
from model.images import ImageError, decode_png
from storage import guilds, jobs, models, pool, state
from storage.guilds import GuildSummary
from storage.pool import Face

__all__ = ["Face", "FaceShown", "GuildStatus", "PoolPage", "PoolService", "Report"]

log = logging.getLogger(__name__)

PAGE = 10  # faces per /pool list page


@dataclass(frozen=True)
class PoolPage:
    page: int  # 1-based, clamped to the pages there are
    pages: int
    total: int
    faces: list[Face]
    sheet: bytes  # the page's crops as one image


@dataclass(frozen=True)
class FaceShown:
    face: Face
    crop_png: bytes


@dataclass(frozen=True)
class Report:
    """A recorded report: whether it hid the face, and where the admins hear of it."""

    face_id: int
    hidden: bool  # False: the reporter hit the daily limit of hiding reports
    hide_limit: int
    crop_png: bytes | None
    reports_channel_id: int | None


@dataclass(frozen=True)
class GuildStatus:
    counts: GuildSummary
    guild_model_version: int | None
    scheduled_channels: int
    places_channel_id: int | None  # where private voting threads open (None: not chosen)
    reports_channel_id: int | None


class PoolService:
    def __init__(self, db: aiosqlite.Connection, settings: Settings, images: ImageHelpers) -> None:
        self.db = db
        self.settings = settings
        self.images = images

    # -- adding faces ---------------------------------------------------------------

    async def add_uploads(
        self,
        guild_id: int,
        files: list[tuple[str, bytes]],
        failed: list[tuple[str, object]] = (),
    ) -> IngestSummary:
        """Add the faces of uploaded images and of the images in uploaded zips (each entry
        read as an upload of its own); `failed` are uploads that never arrived."""
        ingester = PoolIngester(
            self.db,
            guild_id,
            self.images,
            near_duplicate_distance=self.settings.ingest.near_duplicate_distance,
            deadline=Deadline(self.settings.limits.answer_within_s),
            describe=self.settings.model.descriptor_size > 0,
        )
        for name, why in failed:
            ingester.summary.refused(name, why)
        images: list[tuple[str, bytes]] = []
        for name, data in files:
            if not is_zip(name, data):
                images.append((name, data))
                continue
            try:
                entries = await self.images.unpack_zip(data)
            except ImageError as error:
                ingester.summary.refused(name, error)
                continue
            for entry, content in entries:
                if isinstance(content, str):
                    ingester.summary.refused(f"{name}/{entry}", content)
                else:
                    images.append((f"{name}/{entry}", content))
        await ingester.add_all(
            (ingester.read_bytes(name, data) for name, data in images), len(images)
        )
        return ingester.summary

    async def add_paths(
        self,
        guild_id: int,
        paths: list[Path],
        video_interval_s: float | None = None,
        progress: bool = False,
    ) -> IngestSummary:
        """Add the faces of local images, folders (recursively) and videos."""
        ingest = self.settings.ingest
        return await ingest_paths(
            self.db,
            guild_id,
            paths,
            self.images,
            video_interval_s=video_interval_s or ingest.video_frame_interval_s,
            near_duplicate_distance=ingest.near_duplicate_distance,
            progress=progress,
            describe=self.settings.model.descriptor_size > 0,
        )

    async def describe_missing(
        self, guild_id: int | None = None, batch: int = 32, progress: bool = False
    ) -> tuple[int, int]:
        """Compute the descriptors and expression HOGs of faces stored without them (all
        guilds when None), a batch at a time, each batch stored as it is done: an
        interrupted run resumes where it stopped. Returns (described, refused by dlib:
        they keep scoring without them and are not retried)."""
        from tqdm import tqdm

        described = refused = 0
        skipped: set[int] = set()
        with tqdm(desc="describe", unit="face", disable=not progress) as bar:
            while True:
                rows = await pool.faces_to_describe(self.db, guild_id, batch + len(skipped))
                rows = [(face_id, png) for face_id, png in rows if face_id not in skipped]
                if not rows:
                    return described, refused
                values = await self.images.describe_crops([png for _, png in rows])
                found = {
                    face_id: (pack_descriptor(value[0]), pack_expression(value[1]))
                    for (face_id, _), value in zip(rows, values, strict=True)
                    if value is not None
                }
                await pool.set_descriptors(self.db, found)
                skipped |= {face_id for face_id, _ in rows} - set(found)
                described += len(found)
                refused += len(rows) - len(found)
                bar.update(len(rows))

    # -- curating -------------------------------------------------------------------

    async def faces(self, guild_id: int, include_hidden: bool = True) -> list[Face]:
        return await pool.list_faces(self.db, guild_id, include_hidden=include_hidden)

    async def page(self, guild_id: int, page: int, locale: object = None) -> PoolPage:
        faces = await pool.list_faces(self.db, guild_id, include_hidden=True)
        if not faces:
            raise PoolTooSmall("errors.pool_page_empty")
        pages = (len(faces) + PAGE - 1) // PAGE
        page = min(max(page, 1), pages)
        shown = faces[(page - 1) * PAGE : page * PAGE]
        crops = await pool.face_crops(self.db, guild_id, [f.id for f in shown])
        shown = [f for f in shown if f.id in crops]  # a face removed meanwhile drops out
        sheet = await asyncio.to_thread(
            lambda: render.ranking_sheet(
                [decode_png(crops[f.id]) for f in shown],
                [
                    t(locale, "image.face_hidden" if f.hidden else "image.face", id=f.id)
                    for f in shown
                ],
            )
        )
        return PoolPage(page, pages, len(faces), shown, sheet)

    async def face(self, guild_id: int, face_id: int) -> FaceShown:
        face = await pool.get_face(self.db, guild_id, face_id)
        if face is None:
            raise UnknownFace(face_id)
        crop = (await pool.face_crops(self.db, guild_id, [face_id]))[face_id]
        return FaceShown(face, crop)

    async def remove_face(self, guild_id: int, face_id: int) -> int:
        """Delete a pool face and the votes naming it, and queue a guild retrain so the
        server's model forgets it too. Returns how many votes named it.
        `/pool remove` and `python -m bot pool remove` both come here."""
        named = await pool.delete_face(self.db, guild_id, face_id)
        if named is None:
            raise UnknownFace(face_id)
        await jobs.enqueue(self.db, guild_id, None)
        return named

    async def set_hidden(self, guild_id: int, face_id: int, hidden: bool) -> None:
        """Hide a face from pairs and rankings, or show it again."""
        if not await pool.set_hidden(self.db, guild_id, face_id, hidden):
            raise UnknownFace(face_id)

    # -- reports ----------------------------------------------------------------------

    async def report(self, guild_id: int, face_id: int, reporter_id: int) -> Report:
        """Hide a reported face at once (unless the reporter already hid the day's limit)."""
        limit = self.settings.limits.reports_hiding_per_day
        hidden = await pool.record_report(self.db, guild_id, face_id, reporter_id, limit)
        if hidden is None:
            raise UnknownFace(face_id)
        log.info(
            "face %s reported in guild %s; %s", face_id, guild_id, "hidden" if hidden else "kept"
        )
        crop = (await pool.face_crops(self.db, guild_id, [face_id])).get(face_id)
        record = await guilds.get_guild(self.db, guild_id)
        channel_id = record.reports_channel_id if record else None
        return Report(face_id, hidden, limit, crop, channel_id)

    async def set_reports_channel(self, guild_id: int, channel_id: int) -> None:
        await guilds.set_reports_channel(self.db, guild_id, channel_id)

    # -- the guild --------------------------------------------------------------------

    async def status(self, guild_id: int) -> GuildStatus:
        guild_model = await models.latest_model(self.db, guild_id, None)
        record = await guilds.get_guild(self.db, guild_id)
        return GuildStatus(
            await guilds.guild_summary(self.db, guild_id),
            guild_model.version if guild_model else None,
            len(await state.vote_channels(self.db, guild_id)),
            record.places_channel_id if record else None,
            record.reports_channel_id if record else None,
        )

    async def guild_left(self, guild_id: int) -> None:
        """The bot left (or was removed): the data goes after the grace period."""
        await guilds.mark_left(self.db, guild_id)

    async def guild_joined(self, guild_id: int) -> bool:
        """The bot joined (or came back within the grace period): whether the admins
        are still to be welcomed (once per server, not again on a return)."""
        await guilds.mark_rejoined(self.db, guild_id)
        return await guilds.claim_welcome(self.db, guild_id)

    async def set_moderators_role(self, guild_id: int, role_id: int) -> None:
        await guilds.set_moderators_role(self.db, guild_id, role_id)

    async def moderator_roles(self) -> dict[int, int]:
        return await guilds.moderator_roles(self.db)

    async def purge_departed(self, still_present: set[int], now: float | None = None) -> None:
        """Purge the guilds left longer than `[privacy] guild_grace_days` ago; a guild the
        bot is in again (`still_present`) is kept."""
        grace = self.settings.privacy.guild_grace_days * 86400
        now = time.time() if now is None else now
        for guild_id in await guilds.due_for_purge(self.db, grace, now):
            if guild_id in still_present:
                await guilds.mark_rejoined(self.db, guild_id)
                continue
            faces = await guilds.purge_guild(self.db, guild_id)
            log.info("purged guild %s after the grace period (%d faces)", guild_id, faces)

    async def purge(self, guild_id: int) -> int:
        """Delete everything konomi holds for a guild, now; returns how many faces went."""
        return await guilds.purge_guild(self.db, guild_id)
