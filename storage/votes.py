"""Posted pairs and the votes cast on them."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

import aiosqlite

from storage.db import NOW, transaction
from storage.guilds import ensure_guild


@dataclass(frozen=True)
class Pair:
    message_id: int
    guild_id: int
    channel_id: int
    face_a: int
    face_b: int
    posted_for: int | None
    created_at: float


_PAIR_COLUMNS = ", ".join(Pair.__dataclass_fields__)


@dataclass(frozen=True)
class Vote:
    user_id: int
    face_a: int
    face_b: int
    outcome: float  # 1: A wins, 0: B wins, 0.5: tie
    voted_at: float


async def record_pair(
    db: aiosqlite.Connection,
    *,
    message_id: int,
    guild_id: int,
    channel_id: int,
    face_a: int,
    face_b: int,
    posted_for: int | None = None,
    chosen_by: str = "random",
) -> None:
    await ensure_guild(db, guild_id)
    await db.execute(
        "INSERT INTO pairs (message_id, guild_id, channel_id, face_a, face_b, posted_for,"
        " chosen_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (message_id, guild_id, channel_id, face_a, face_b, posted_for, chosen_by),
    )


async def pairs_chosen_by(db: aiosqlite.Connection, guild_id: int) -> dict[str, int]:
    """How many of the guild's posted pairs each rule chose (the control arm's size)."""
    async with db.execute(
        "SELECT chosen_by, COUNT(*) FROM pairs WHERE guild_id = ? GROUP BY chosen_by",
        (guild_id,),
    ) as cursor:
        return {row[0]: int(row[1]) for row in await cursor.fetchall()}


async def face_vote_counts(db: aiosqlite.Connection, guild_id: int) -> dict[int, int]:
    """Votes that involve each face of the guild (faces without votes are absent)."""
    async with db.execute(
        "SELECT face, COUNT(*) FROM (SELECT face_a AS face FROM votes WHERE guild_id = ?"
        " UNION ALL SELECT face_b FROM votes WHERE guild_id = ?) GROUP BY face",
        (guild_id, guild_id),
    ) as cursor:
        return {int(row[0]): int(row[1]) for row in await cursor.fetchall()}


async def get_pair(db: aiosqlite.Connection, message_id: int) -> Pair | None:
    async with db.execute(
        f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE message_id = ?",
        (message_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return Pair(*row) if row else None


@dataclass(frozen=True)
class Reconciled:
    """What a catch-up changed on one pair."""

    added: int = 0
    changed: int = 0
    withdrawn: int = 0


@dataclass(frozen=True)
class ReactionEvent:
    """A vote reaction added or removed on Discord, as it arrived."""

    message_id: int
    guild_id: int | None  # None: in a DM (the pair's own guild is used)
    user_id: int
    outcome: float
    added: bool


@dataclass(frozen=True)
class Applied:
    """What one reaction event did: the pair it was on and the member's vote before and
    after it (unchanged for a person forgotten after the pair was posted)."""

    pair: Pair
    before: float | None
    after: float | None


def _marks(count: int) -> str:
    return ", ".join("?" * count)


async def apply_reactions(
    db: aiosqlite.Connection, events: list[ReactionEvent]
) -> list[Applied | None]:
    """Apply reaction events in arrival order, in one transaction with a few statements
    for the whole group (a group of hundreds costs about what one event did). None for
    an event on no pair of its guild."""
    async with transaction(db):
        return await _apply(db, events)


async def _apply(db: aiosqlite.Connection, events: list[ReactionEvent]) -> list[Applied | None]:
    """The vote rule, the one place it is written (live events and the catch-up both
    come here): an added reaction becomes the member's vote; a removed one falls back
    to their latest remaining reaction, or withdraws the vote. A person forgotten after
    the pair was posted is not recorded at all: neither their reactions nor a vote."""
    if not events:
        return []
    messages = sorted({e.message_id for e in events})
    users = sorted({e.user_id for e in events})
    async with db.execute(
        f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE message_id IN ({_marks(len(messages))})",
        messages,
    ) as cursor:
        pairs = {row[0]: Pair(*row) for row in await cursor.fetchall()}
    async with db.execute(
        "SELECT guild_id, user_id, forgotten_at FROM forgotten_users"
        f" WHERE user_id IN ({_marks(len(users))})",
        users,
    ) as cursor:
        forgotten = {(g, u): at for g, u, at in await cursor.fetchall()}
    where = f"message_id IN ({_marks(len(messages))}) AND user_id IN ({_marks(len(users))})"
    reactions = await _stored_reactions(db, where, [*messages, *users])
    async with db.execute(
        f"SELECT message_id, user_id, outcome FROM votes WHERE {where}", [*messages, *users]
    ) as cursor:
        stored = {(m, u): o for m, u, o in await cursor.fetchall()}

    current = dict(stored)
    touched: set[tuple[int, int]] = set()
    results: list[Applied | None] = []
    for event in events:
        pair = pairs.get(event.message_id)
        if pair is None or event.guild_id not in (None, pair.guild_id):
            results.append(None)
            continue
        key = (event.message_id, event.user_id)
        before = current.get(key)
        at = forgotten.get((pair.guild_id, event.user_id))
        if at is not None and at >= pair.created_at:
            results.append(Applied(pair, before, before))
            continue
        kept = reactions.setdefault(key, [])
        if event.outcome in kept:
            kept.remove(event.outcome)
        if event.added:
            kept.append(event.outcome)
        touched.add(key)
        current[key] = kept[-1] if kept else None
        results.append(Applied(pair, before, current[key]))

    await db.executemany(
        "DELETE FROM pair_reactions WHERE message_id = ? AND user_id = ?", sorted(touched)
    )
    await db.executemany(
        "INSERT INTO pair_reactions (message_id, user_id, outcome) VALUES (?, ?, ?)",
        [(m, u, outcome) for (m, u) in sorted(touched) for outcome in reactions[(m, u)]],
    )
    changed = [key for key in sorted(current) if current[key] != stored.get(key)]
    await db.executemany(
        "DELETE FROM votes WHERE message_id = ? AND user_id = ?",
        [key for key in changed if current[key] is None],
    )
    await db.executemany(
        "INSERT INTO votes (guild_id, user_id, message_id, face_a, face_b, outcome,"
        f" recorded_at) VALUES (?, ?, ?, ?, ?, ?, {NOW})"
        " ON CONFLICT (user_id, message_id) DO UPDATE SET outcome = excluded.outcome,"
        " voted_at = excluded.voted_at, recorded_at = excluded.recorded_at",
        [
            (pairs[m].guild_id, u, m, pairs[m].face_a, pairs[m].face_b, current[(m, u)])
            for m, u in changed
            if current[(m, u)] is not None
        ],
    )
    return results


async def _stored_reactions(
    db: aiosqlite.Connection, where: str, args: list[int]
) -> dict[tuple[int, int], list[float]]:
    """(message, user) -> the outcomes they reacted with, oldest first."""
    reactions: dict[tuple[int, int], list[float]] = {}
    async with db.execute(
        f"SELECT message_id, user_id, outcome FROM pair_reactions WHERE {where} ORDER BY id", args
    ) as cursor:
        for message, user, outcome in await cursor.fetchall():
            reactions.setdefault((message, user), []).append(outcome)
    return reactions


async def reconcile(
    db: aiosqlite.Connection,
    pair: Pair,
    on_discord: dict[int, set[float]],
    skip_users: set[int] = frozenset(),
) -> Reconciled:
    """Make the stored reactions of a pair equal those on Discord (user -> outcomes),
    except for `skip_users` (a newer live event already spoke for them): the difference
    becomes reaction events (removals, then additions) applied by the vote rule."""
    async with transaction(db):
        stored = await _stored_reactions(db, "message_id = ?", [pair.message_id])
        events = []
        for user_id in sorted({u for _, u in stored} | set(on_discord)):
            now = on_discord.get(user_id, set())
            was = set(stored.get((pair.message_id, user_id), []))
            if user_id in skip_users or now == was:
                continue
            events += [
                ReactionEvent(pair.message_id, pair.guild_id, user_id, outcome, added=False)
                for outcome in sorted(was - now)
            ]
            events += [
                ReactionEvent(pair.message_id, pair.guild_id, user_id, outcome, added=True)
                for outcome in sorted(now - was, reverse=True)
            ]
        applied = await _apply(db, events)
    first: dict[int, float | None] = {}
    last: dict[int, float | None] = {}
    for event, done in zip(events, applied, strict=True):
        first.setdefault(event.user_id, done.before)
        last[event.user_id] = done.after
    added = sum(first[u] is None and last[u] is not None for u in first)
    withdrawn = sum(first[u] is not None and last[u] is None for u in first)
    changed = sum(None not in (first[u], last[u]) and first[u] != last[u] for u in first)
    return Reconciled(added, changed, withdrawn)


async def recent_pairs(db: aiosqlite.Connection, since: float) -> list[Pair]:
    """Pairs posted at or after `since`, oldest first."""
    async with db.execute(
        f"SELECT {_PAIR_COLUMNS} FROM pairs WHERE created_at >= ? ORDER BY created_at",
        (since,),
    ) as cursor:
        return [Pair(*row) for row in await cursor.fetchall()]


async def add_votes(
    db: aiosqlite.Connection, guild_id: int, user_id: int, votes: list[tuple[int, int, float]]
) -> None:
    """Votes that came without a posted pair (imports, the CLI, benchmarks)."""
    async with transaction(db):
        await ensure_guild(db, guild_id)
        await db.executemany(
            "INSERT INTO votes (guild_id, user_id, message_id, face_a, face_b, outcome,"
            f" recorded_at) VALUES (?, ?, NULL, ?, ?, ?, {NOW})",
            [(guild_id, user_id, a, b, float(o)) for a, b, o in votes],
        )


@dataclass(frozen=True)
class ImportedVote:
    user_id: int
    face_a: int
    face_b: int
    outcome: float
    voted_at: float | None  # None: now


@dataclass(frozen=True)
class ImportResult:
    stored: int  # new votes
    already_stored: int  # the same votes were there: not stored twice
    forgotten_members: set[int]  # rows for them refused: nothing was stored
    unknown_faces: set[int]  # not in this guild's pool: nothing was stored


async def import_votes(
    db: aiosqlite.Connection,
    guild_id: int,
    rows: list[ImportedVote],
    same_vote: Callable[[ImportedVote], Hashable],
) -> ImportResult:
    """All rows in one transaction, or none: nothing is stored when any row names a
    face outside this guild's pool or a member who asked to be forgotten here. A row
    whose `same_vote` key matches a vote already stored is skipped (counted apart)."""
    faces = {face for row in rows for face in (row.face_a, row.face_b)}
    users = sorted({row.user_id for row in rows})
    async with transaction(db):
        await ensure_guild(db, guild_id)
        async with db.execute(
            "SELECT user_id FROM forgotten_users WHERE guild_id = ?", (guild_id,)
        ) as cursor:
            refused = set(users) & {row[0] for row in await cursor.fetchall()}
        async with db.execute("SELECT id FROM faces WHERE guild_id = ?", (guild_id,)) as cursor:
            known = {row[0] for row in await cursor.fetchall()}
        if refused or not faces <= known:
            return ImportResult(0, 0, refused, faces - known)
        stored: set[Hashable] = set()
        for start in range(0, len(users), 500):
            chunk = users[start : start + 500]
            async with db.execute(
                "SELECT user_id, face_a, face_b, outcome, voted_at FROM votes"
                f" WHERE guild_id = ? AND user_id IN ({_marks(len(chunk))})",
                (guild_id, *chunk),
            ) as cursor:
                for row in await cursor.fetchall():
                    timed = ImportedVote(*row)
                    stored |= {same_vote(timed), same_vote(replace(timed, voted_at=None))}
        new = [row for row in rows if same_vote(row) not in stored]
        await db.executemany(
            "INSERT INTO votes (guild_id, user_id, message_id, face_a, face_b, outcome, voted_at,"
            f" recorded_at) VALUES (?, ?, NULL, ?, ?, ?, COALESCE(?, {NOW}), {NOW})",
            [(guild_id, r.user_id, r.face_a, r.face_b, float(r.outcome), r.voted_at) for r in new],
        )
    return ImportResult(len(new), len(rows) - len(new), set(), set())


async def _votes(
    db: aiosqlite.Connection, sql: str, args: tuple, include_hidden: bool = False
) -> list[Vote]:
    hidden = "" if include_hidden else "fa.hidden = 0 AND fb.hidden = 0 AND "
    async with db.execute(
        "SELECT votes.user_id, votes.face_a, votes.face_b, votes.outcome, votes.voted_at"
        " FROM votes JOIN faces fa ON fa.id = votes.face_a JOIN faces fb ON fb.id = votes.face_b"
        f" WHERE {hidden}{sql} ORDER BY votes.id",
        args,
    ) as cursor:
        return [Vote(*row) for row in await cursor.fetchall()]


async def guild_votes(db: aiosqlite.Connection, guild_id: int) -> list[Vote]:
    """Every vote in the guild on faces that are not hidden."""
    return await _votes(db, "votes.guild_id = ?", (guild_id,))


async def user_votes(
    db: aiosqlite.Connection, guild_id: int, user_id: int, *, include_hidden: bool = False
) -> list[Vote]:
    return await _votes(
        db, "votes.guild_id = ? AND votes.user_id = ?", (guild_id, user_id), include_hidden
    )


async def count_votes(
    db: aiosqlite.Connection, guild_id: int, user_id: int | None = None, since: float = 0.0
) -> int:
    """Votes of the guild (or one member) recorded after `since`."""
    sql = "SELECT COUNT(*) FROM votes WHERE guild_id = ? AND recorded_at > ?"
    args: tuple = (guild_id, since)
    if user_id is not None:
        sql += " AND user_id = ?"
        args += (user_id,)
    async with db.execute(sql, args) as cursor:
        (count,) = await cursor.fetchone()
    return int(count)


async def latest_vote_id(db: aiosqlite.Connection) -> int:
    async with db.execute("SELECT IFNULL(MAX(id), 0) FROM votes") as cursor:
        (latest,) = await cursor.fetchone()
    return int(latest)


async def new_vote_counts(
    db: aiosqlite.Connection, voters_after_id: int = 0
) -> list[tuple[int, int | None, int]]:
    """(guild, None, votes since the guild's latest model) for every guild with votes,
    and (guild, user, votes since that user's latest model) for each voter with a vote
    above `voters_after_id` (0: every voter): a person's count grows only with votes,
    so a schedule that remembers the newest vote id it saw reads only new voters."""
    voters = (
        " AND (v.guild_id, v.user_id) IN (SELECT guild_id, user_id FROM votes WHERE id > ?)"
        if voters_after_id
        else ""
    )
    async with db.execute(
        "SELECT g.guild_id, NULL, (SELECT COUNT(*) FROM votes v WHERE v.guild_id = g.guild_id"
        "   AND v.recorded_at > IFNULL((SELECT MAX(created_at) FROM models m"
        "     WHERE m.guild_id = g.guild_id AND m.user_id IS NULL), 0)) AS new"
        " FROM guild_pools g WHERE new > 0"
        " UNION ALL"
        " SELECT v.guild_id, v.user_id, COUNT(*) FROM votes v"
        " WHERE v.recorded_at > IFNULL((SELECT MAX(created_at) FROM models m"
        f"   WHERE m.guild_id = v.guild_id AND m.user_id = v.user_id), 0){voters}"
        " GROUP BY v.guild_id, v.user_id",
        (voters_after_id,) if voters_after_id else (),
    ) as cursor:
        return [(row[0], row[1], int(row[2])) for row in await cursor.fetchall()]


async def skip_pair(db: aiosqlite.Connection, message_id: int, user_id: int) -> Pair | None:
    """Record a member's pass on a pair: no vote, and the pair no longer waits for them.
    The pair, the first time only (None: skipped before, or no konomi pair)."""
    pair = await get_pair(db, message_id)
    if pair is None:
        return None
    cursor = await db.execute(
        "INSERT OR IGNORE INTO pair_skips (message_id, guild_id, user_id) VALUES (?, ?, ?)",
        (message_id, pair.guild_id, user_id),
    )
    return pair if cursor.rowcount else None


async def open_pairs(
    db: aiosqlite.Connection, guild_id: int, user_id: int, since: float
) -> list[Pair]:
    """Pairs posted for a member since `since` that they neither voted on nor skipped,
    oldest first."""
    async with db.execute(
        f"SELECT {_PAIR_COLUMNS} FROM pairs p WHERE guild_id = ? AND posted_for = ?"
        " AND created_at >= ?"
        " AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.message_id = p.message_id"
        "   AND v.user_id = p.posted_for)"
        " AND NOT EXISTS (SELECT 1 FROM pair_skips s WHERE s.message_id = p.message_id"
        "   AND s.user_id = p.posted_for)"
        " ORDER BY created_at",
        (guild_id, user_id, since),
    ) as cursor:
        return [Pair(*row) for row in await cursor.fetchall()]


async def seen_pairs(db: aiosqlite.Connection, guild_id: int, user_id: int) -> set[frozenset[int]]:
    """Face pairs this user already voted on or was shown (posted for them)."""
    async with db.execute(
        "SELECT face_a, face_b FROM votes WHERE guild_id = ? AND user_id = ?"
        " UNION SELECT face_a, face_b FROM pairs WHERE guild_id = ? AND posted_for = ?",
        (guild_id, user_id, guild_id, user_id),
    ) as cursor:
        return {frozenset(row) for row in await cursor.fetchall()}
