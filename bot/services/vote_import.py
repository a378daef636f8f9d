"""Reading a vote file strictly: what `python -m bot votes import` accepts.

A file is trusted with nothing. Its columns are a fixed set, each once; ids are ASCII
decimal numbers in Discord's snowflake range; outcomes are 1 (A), 0 (B) or 0.5 (a
tie); times lie between Discord's start and a few minutes from now; the file and its
fields have a size limit and are read as a stream. Every bad row is listed with its
line and reason, and nothing is stored unless every row is good.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from collections.abc import Iterable
from pathlib import Path

from bot.services.errors import ImportRefused
from storage.votes import ImportedVote

REQUIRED_COLUMNS = ("face_a", "face_b", "outcome")
OPTIONAL_COLUMNS = ("voted_at", "user_id")
MAX_FILE_BYTES = 20_000_000  # about 400,000 votes as /export writes them
MAX_FIELD_CHARS = 64  # the longest a good field can be is a 19-digit id or a time
LARGEST_ID = 2**63 - 1  # Discord's ids and SQLite's integers are signed 64-bit
DISCORD_EPOCH = 1_420_070_400.0  # 2015-01-01: no vote on Discord is older
CLOCK_SKEW_S = 300.0  # how far in the future a vote's time may be
SHOWN_PROBLEMS = 20  # bad rows listed in a refusal, then a count of the rest

_DECIMAL_ID = re.compile(r"[0-9]{1,19}")
_OUTCOME = re.compile(r"(?:0|1)(?:\.0*)?|0?\.50*")
_TIME = re.compile(r"[0-9]{1,15}(?:\.[0-9]{0,9})?")


def snowflake(text: str, what: str = "id") -> int:
    """An id as Discord writes it: ASCII digits, 1 to 2**63 - 1; ValueError otherwise."""
    text = text.strip()
    if not _DECIMAL_ID.fullmatch(text) or not 1 <= int(text) <= LARGEST_ID:
        shown = f"{what} {text!r}".lstrip()
        raise ValueError(f"{shown} is not an id (a whole number from 1 to 2^63 - 1)")
    return int(text)


def read_vote_file(path: Path) -> str:
    """The file's text, read up to the size limit (a stream: /dev/zero ends at the limit)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ImportRefused(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(
            f"{path} is larger than {MAX_FILE_BYTES // 1_000_000} MB; split it into smaller "
            "files. Nothing imported."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            f"{path} is not UTF-8 text (byte {error.start}); nothing imported"
        ) from None


def parse_votes(
    text: str, user_id: int | None, pool_faces: set[int], now: float | None = None
) -> list[ImportedVote]:
    """Every row of a CSV vote file, or ImportRefused listing each bad one (with its line)
    and the columns that are wrong."""
    now = time.time() if now is None else now
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0extra")
    try:
        header = reader.fieldnames or []
    except csv.Error as error:
        raise ImportRefused(f"line 1: not valid CSV ({error}); nothing imported") from None
    _check_header(header, user_id)
    rows: list[ImportedVote] = []
    problems: list[str] = []
    seen: dict[tuple, int] = {}
    try:
        for record in _records(reader):
            line = reader.line_num
            try:
                vote = _vote_row(record, user_id, pool_faces, now)
            except ValueError as reason:
                problems.append(f"line {line}: {reason}")
                continue
            key = same_vote_key(vote)
            if key in seen:
                problems.append(f"line {line}: the same vote as line {seen[key]}")
                continue
            seen[key] = line
            rows.append(vote)
    except csv.Error as error:
        problems.append(f"line {reader.line_num}: not valid CSV ({error})")
    if problems:
        shown = problems[:SHOWN_PROBLEMS]
        if len(problems) > SHOWN_PROBLEMS:
            shown.append(f"... and {len(problems) - SHOWN_PROBLEMS} more")
        raise ImportRefused("nothing imported:\n" + "\n".join(shown))
    if not rows:
        raise ImportRefused("the file has no votes; nothing imported")
    return rows


def same_vote_key(vote: ImportedVote) -> tuple:
    """What makes two votes the same: the member, the pair (either order), and the time
    it was cast, or for a vote without one, its outcome."""
    a, b, outcome = vote.face_a, vote.face_b, vote.outcome
    if a > b:
        a, b, outcome = b, a, 1.0 - outcome
    if vote.voted_at is None:
        return (vote.user_id, a, b, None, outcome)
    return (vote.user_id, a, b, round(vote.voted_at, 3), None)


def _records(reader: csv.DictReader) -> Iterable[dict]:
    previous = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        yield from reader
    finally:
        csv.field_size_limit(previous)


def _check_header(header: list[str], user_id: int | None) -> None:
    names = [name.strip() for name in header]
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    problems = []
    if not names:
        raise ImportRefused("the file is empty; nothing imported")
    unknown = [name for name in names if name not in known]
    if unknown:
        problems.append(
            f"unknown column {', '.join(repr(n) for n in unknown)} (the columns are "
            f"{', '.join(known)})"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"column {', '.join(repeated)} appears more than once")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if user_id is None and "user_id" not in names:
        missing.append("user_id (or give the member with --user)")
    if missing:
        problems.append(f"the file has no column {', '.join(missing)}")
    if problems:
        raise ImportRefused("line 1: " + "; ".join(problems) + "; nothing imported")


def _vote_row(record: dict, user_id: int | None, pool_faces: set[int], now: float) -> ImportedVote:
    """One CSV row as a vote; raises ValueError saying what is wrong with it."""
    if record.get("\0extra"):
        raise ValueError("more fields than the header has columns")
    record = {(key or "").strip(): value for key, value in record.items()}
    for column in REQUIRED_COLUMNS:
        if record.get(column) is None:
            raise ValueError(f"no {column} (fewer fields than the header has columns)")
    member = user_id
    given = (record.get("user_id") or "").strip()
    if given:
        member = snowflake(given, "user_id")
        if user_id is not None and member != user_id:
            raise ValueError(f"user_id {member} is not the member given with --user ({user_id})")
    if member is None:
        raise ValueError("no user_id")
    face_a, face_b = snowflake(record["face_a"], "face_a"), snowflake(record["face_b"], "face_b")
    for face in (face_a, face_b):
        if face not in pool_faces:
            raise ValueError(f"face {face} is not in this server's pool")
    if face_a == face_b:
        raise ValueError("a face cannot be voted against itself")
    outcome = record["outcome"].strip()
    if not _OUTCOME.fullmatch(outcome):
        raise ValueError(f"outcome {outcome!r} is not 1 (A), 0 (B) or 0.5 (a tie)")
    voted_at = None
    given = (record.get("voted_at") or "").strip()
    if given:
        if not _TIME.fullmatch(given) or not math.isfinite(float(given)):
            raise ValueError(f"voted_at {given!r} is not a Unix time in seconds")
        voted_at = float(given)
        if voted_at < DISCORD_EPOCH:
            raise ValueError(f"voted_at {given!r} is before Discord existed (2015)")
        if voted_at > now + CLOCK_SKEW_S:
            raise ValueError(f"voted_at {given!r} is in the future")
    return ImportedVote(member, face_a, face_b, float(outcome), voted_at)
