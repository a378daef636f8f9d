"""Guild pools: source images and the face crops taken from them."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from storage.db import transaction
from storage.guilds import ensure_guild

_SIGN_BIT = 1 << 63


def _to_signed(value: int) -> int:
    """SQLite integers are signed 64-bit; hashes are unsigned 64-bit."""
    return value - (1 << 64) if value & _SIGN_BIT else value


def _to_unsigned(value: int) -> int:
    return value & ((1 << 64) - 1)


@dataclass(frozen=True)
class NewFace:
    crop_png: bytes
    box: tuple[int, int, int, int]
    phash: int
    frame_s: float | None = None
    descriptor: bytes | None = None  # model/descriptor.py's packed numbers
    expression: bytes | None = None  # model/expression.py's packed raw HOG


@dataclass(frozen=True)
class Face:
    id: int
    guild_id: int
    source_id: int | None
    box: tuple[int, int, int, int]
    phash: int
    hidden: bool
    origin: str | None


async def source_exists(db: aiosqlite.Connection, guild_id: int, content_hash: str) -> bool:
    async with db.execute(
        "SELECT 1 FROM sources WHERE guild_id = ? AND content_hash = ?", (guild_id, content_hash)
    ) as cursor:
        return await cursor.fetchone() is not None


async def add_source(
    db: aiosqlite.Connection, guild_id: int, content_hash: str, origin: str, faces: list[NewFace]
) -> list[int]:
    """Store a source and its faces in one transaction; returns the new face ids."""
    async with transaction(db):
        await ensure_guild(db, guild_id)
        cursor = await db.execute(
            "INSERT INTO sources (guild_id, content_hash, origin) VALUES (?, ?, ?)",
            (guild_id, content_hash, origin),
        )
        source_id = cursor.lastrowid
        ids = []
        for face in faces:
            cursor = await db.execute(
                "INSERT INTO faces (guild_id, source_id, crop_png, box_x, box_y, box_w, box_h,"
                " frame_s, phash, descriptor, expression)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    guild_id,
                    source_id,
                    face.crop_png,
                    *face.box,
                    face.frame_s,
                    _to_signed(face.phash),
                    face.descriptor,
                    face.expression,
                ),
            )
            ids.append(cursor.lastrowid)
    return ids


async def guild_phashes(db: aiosqlite.Connection, guild_id: int) -> list[int]:
    """Hashes of every face in the pool, hidden ones included (they are still duplicates)."""
    async with db.execute("SELECT phash FROM faces WHERE guild_id = ?", (guild_id,)) as cursor:
        return [_to_unsigned(row[0]) for row in await cursor.fetchall()]


def _face(row: aiosqlite.Row) -> Face:
    return Face(
        id=row["id"],
        guild_id=row["guild_id"],
        source_id=row["source_id"],
        box=(row["box_x"], row["box_y"], row["box_w"], row["box_h"]),
        phash=_to_unsigned(row["phash"]),
        hidden=bool(row["hidden"]),
        origin=row["origin"],
    )


_FACE_COLUMNS = (
    "faces.id, faces.guild_id, faces.source_id, box_x, box_y, box_w, box_h, phash, hidden,"
    " sources.origin"
)


async def list_faces(
    db: aiosqlite.Connection, guild_id: int, *, include_hidden: bool = False
) -> list[Face]:
    sql = (
        f"SELECT {_FACE_COLUMNS} FROM faces LEFT JOIN sources ON sources.id = faces.source_id"
        " WHERE faces.guild_id = ?"
    )
    if not include_hidden:
        sql += " AND hidden = 0"
    async with db.execute(sql + " ORDER BY faces.id", (guild_id,)) as cursor:
        return [_face(row) for row in await cursor.fetchall()]


async def get_face(db: aiosqlite.Connection, guild_id: int, face_id: int) -> Face | None:
    """A face of this guild; another guild's id reads as absent."""
    async with db.execute(
        f"SELECT {_FACE_COLUMNS} FROM faces LEFT JOIN sources ON sources.id = faces.source_id"
        " WHERE faces.guild_id = ? AND faces.id = ?",
        (guild_id, face_id),
    ) as cursor:
        row = await cursor.fetchone()
    return _face(row) if row else None


async def _blobs_by_id(
    db: aiosqlite.Connection, guild_id: int, face_ids: list[int], column: str
) -> dict[int, bytes]:
    """A BLOB column of this guild's faces by id (faces where it is NULL left out),
    read 500 ids at a time (SQLite's bound-parameter limit)."""
    found: dict[int, bytes] = {}
    for start in range(0, len(face_ids), 500):
        chunk = face_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with db.execute(
            f"SELECT id, {column} FROM faces WHERE guild_id = ? AND id IN ({marks})"
            f" AND {column} IS NOT NULL",
            (guild_id, *chunk),
        ) as cursor:
            found.update({row[0]: row[1] for row in await cursor.fetchall()})
    return found


async def face_crops(
    db: aiosqlite.Connection, guild_id: int, face_ids: list[int]
) -> dict[int, bytes]:
    """PNG crops by face id, only for faces of this guild."""
    return await _blobs_by_id(db, guild_id, face_ids, "crop_png")


async def face_descriptors(
    db: aiosqlite.Connection, guild_id: int, face_ids: list[int]
) -> dict[int, bytes]:
    """Packed descriptors by face id, for the faces of this guild that have one."""
    return await _blobs_by_id(db, guild_id, face_ids, "descriptor")


async def face_expressions(
    db: aiosqlite.Connection, guild_id: int, face_ids: list[int]
) -> dict[int, bytes]:
    """Packed raw expression HOGs by face id, for the faces of this guild that have one."""
    return await _blobs_by_id(db, guild_id, face_ids, "expression")


async def described_faces(db: aiosqlite.Connection, guild_id: int) -> frozenset[tuple]:
    """(face id, has a descriptor, has an expression HOG) for each face of the guild:
    whether scores taken earlier still hold, without reading the blobs."""
    async with db.execute(
        "SELECT id, descriptor IS NOT NULL, expression IS NOT NULL FROM faces WHERE guild_id = ?",
        (guild_id,),
    ) as cursor:
        return frozenset(tuple(row) for row in await cursor.fetchall())


async def faces_to_describe(
    db: aiosqlite.Connection, guild_id: int | None, limit: int
) -> list[tuple[int, bytes]]:
    """(face id, crop PNG) of faces still without a descriptor or an expression HOG,
    oldest first."""
    sql = "SELECT id, crop_png FROM faces WHERE (descriptor IS NULL OR expression IS NULL)"
    args: tuple = ()
    if guild_id is not None:
        sql += " AND guild_id = ?"
        args = (guild_id,)
    async with db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit)) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def set_descriptors(
    db: aiosqlite.Connection, descriptions: dict[int, tuple[bytes, bytes]]
) -> None:
    """Store computed descriptors and expression HOGs by face id, in one transaction."""
    async with transaction(db):
        await db.executemany(
            "UPDATE faces SET descriptor = ?, expression = ? WHERE id = ?",
            [
                (descriptor, expression, face_id)
                for face_id, (descriptor, expression) in descriptions.items()
            ],
        )


async def count_faces(db: aiosqlite.Connection, guild_id: int) -> int:
    async with db.execute(
        "SELECT COUNT(*) FROM faces WHERE guild_id = ? AND hidden = 0", (guild_id,)
    ) as cursor:
        (count,) = await cursor.fetchone()
    return int(count)


async def set_hidden(db: aiosqlite.Connection, guild_id: int, face_id: int, hidden: bool) -> bool:
    cursor = await db.execute(
        "UPDATE faces SET hidden = ? WHERE guild_id = ? AND id = ?",
        (int(hidden), guild_id, face_id),
    )
    return cursor.rowcount > 0


async def delete_face(db: aiosqlite.Connection, guild_id: int, face_id: int) -> int | None:
    """Delete a face; its pairs and the votes naming it go with it (foreign keys).

    Returns how many votes named it, or None when the guild has no such face."""
    async with transaction(db):
        async with db.execute(
            "SELECT COUNT(*) FROM votes WHERE guild_id = ? AND (face_a = ? OR face_b = ?)",
            (guild_id, face_id, face_id),
        ) as cursor:
            (named,) = await cursor.fetchone()
        cursor = await db.execute(
            "DELETE FROM faces WHERE guild_id = ? AND id = ?", (guild_id, face_id)
        )
    return int(named) if cursor.rowcount > 0 else None


async def record_report(
    db: aiosqlite.Connection, guild_id: int, face_id: int, reporter_id: int, hide_limit: int
) -> bool | None:
    """Record a report, hiding the face unless the reporter already hid `hide_limit`
    faces in the last day. True: hidden; False: recorded without hiding (over the
    limit); None: there is no such face in the guild."""
    async with transaction(db):
        async with db.execute(
            "SELECT 1 FROM faces WHERE guild_id = ? AND id = ?", (guild_id, face_id)
        ) as cursor:
            if await cursor.fetchone() is None:
                return None
        async with db.execute(
            "SELECT COUNT(*) FROM face_reports WHERE guild_id = ? AND reporter_id = ?"
            " AND hid_face = 1 AND reported_at > ?",
            (guild_id, reporter_id, time.time() - 86400),
        ) as cursor:
            (hidden_today,) = await cursor.fetchone()
        hide = hidden_today < hide_limit
        if hide:
            await db.execute(
                "UPDATE faces SET hidden = 1 WHERE guild_id = ? AND id = ?", (guild_id, face_id)
            )
        await db.execute(
            "INSERT INTO face_reports (guild_id, face_id, reporter_id, hid_face)"
            " VALUES (?, ?, ?, ?)",
            (guild_id, face_id, reporter_id, int(hide)),
        )
    return hide
