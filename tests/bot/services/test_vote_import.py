"""`votes import` trusts nothing in a file: a table of malformed files, each refused with
its line and the database unchanged, beside valid files imported exactly once."""

import hashlib
import time

import pytest

from bot.services.errors import ImportRefused
from bot.services.vote_import import MAX_FIELD_CHARS, snowflake
from tests.bot.conftest import ALICE, GUILD

BOB = 77
NOW = time.time()


async def checksums(db) -> dict[str, str]:
    """A digest of every table's rows: what "the database unchanged" means here."""
    async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
        tables = [row[0] for row in await cursor.fetchall()]
    digests = {}
    for table in tables:
        async with db.execute(f"SELECT * FROM {table} ORDER BY rowid") as cursor:
            rows = await cursor.fetchall()
        digests[table] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return digests


def malformed(a: int, b: int, c: int) -> list[tuple[str, str, str, int | None]]:
    """(what is wrong, the file, what the refusal says, the --user given)."""
    header = "user_id,face_a,face_b,outcome,voted_at\n"
    good = f"{ALICE},{a},{b},1,1700000000\n"
    return [
        (
            "more fields than the header",
            header + good + f"{ALICE},{a},{c},1,1700000001,x\n",
            "line 3: more fields than the header",
            None,
        ),
        (
            "fewer fields than the header",
            header + good + f"{ALICE},{a}\n",
            "line 3: no face_b",
            None,
        ),
        (
            "an outcome column twice",
            "user_id,face_a,face_b,outcome,outcome\n1,2,3,1,0\n",
            "column outcome appears more than once",
            None,
        ),
        (
            "a misspelled optional column",
            "user_id,face_a,face_b,outcome,votedat\n",
            "unknown column 'votedat'",
            None,
        ),
        (
            "a formula in an extra column",
            f'face_a,face_b,outcome,note\n{a},{b},1,=HYPERLINK("x")\n',
            "unknown column 'note'",
            ALICE,
        ),
        ("no outcome column", "user_id,face_a,face_b\n", "no column outcome", None),
        ("no member at all", "face_a,face_b,outcome\n", "no column user_id", None),
        (
            "an underscore in a face id",
            header + f"{ALICE},1_0,{b},1,\n",
            "line 2: face_a '1_0' is not an id",
            None,
        ),
        ("Arabic-Indic digits", header + f"{ALICE},{a},\u0661\u0662,1,\n", "line 2: face_b", None),
        ("a negative face id", header + f"{ALICE},-{a},{b},1,\n", "is not an id", None),
        ("user_id 0", header + f"0,{a},{b},1,\n", "line 2: user_id '0' is not an id", None),
        ("a negative user_id", header + f"-5,{a},{b},1,\n", "user_id '-5' is not an id", None),
        ("a user_id above 64 bits", header + f"{2**64},{a},{b},1,\n", "is not an id", None),
        (
            "a face not in the pool",
            header + f"{ALICE},{a},999999,1,\n",
            "line 2: face 999999 is not in this server's pool",
            None,
        ),
        (
            "a face against itself",
            header + f"{ALICE},{a},{a},1,\n",
            "a face cannot be voted against itself",
            None,
        ),
        ("outcome 2", header + f"{ALICE},{a},{b},2,\n", "outcome '2' is not 1", None),
        ("outcome nan", header + f"{ALICE},{a},{b},nan,\n", "outcome 'nan'", None),
        ("outcome 1e0", header + f"{ALICE},{a},{b},1e0,\n", "outcome '1e0'", None),
        (
            "voted_at in the year 33658",
            header + f"{ALICE},{a},{b},1,1000000000000\n",
            "line 2: voted_at '1000000000000' is in the future",
            None,
        ),
        (
            "voted_at 1e300",
            header + f"{ALICE},{a},{b},1,1e300\n",
            "voted_at '1e300' is not a Unix time",
            None,
        ),
        ("voted_at inf", header + f"{ALICE},{a},{b},1,inf\n", "voted_at 'inf'", None),
        (
            "voted_at a month ahead",
            header + f"{ALICE},{a},{b},1,{NOW + 30 * 86400:.0f}\n",
            "is in the future",
            None,
        ),
        (
            "voted_at before Discord",
            header + f"{ALICE},{a},{b},1,86400\n",
            "before Discord existed",
            None,
        ),
        ("the same vote twice", header + good + good, "line 3: the same vote as line 2", None),
        (
            "the same vote, faces swapped",
            header + good + f"{ALICE},{b},{a},0,1700000000\n",
            "line 3: the same vote as line 2",
            None,
        ),
        (
            "a field over the size limit",
            header + f"{ALICE},{a},{b},1,{'9' * 5000}\n",
            "not valid CSV",
            None,
        ),
        (
            "--user and another member's rows",
            header + f"{BOB},{a},{b},1,\n",
            f"user_id {BOB} is not the member given with --user ({ALICE})",
            ALICE,
        ),
        ("a NUL byte", header + f"{ALICE},{a},{b},1,\0\n", "line 2", None),
        ("only a header", header, "the file has no votes", None),
        ("an empty file", "", "the file is empty", None),
        (
            "one good row, then a bad one",
            header + good + f"{ALICE},{a},{c},3,\n",
            "line 3: outcome '3'",
            None,
        ),
    ]


async def test_malformed_vote_files_are_refused_and_change_nothing(service):
    faces = [face.id for face in await service.pool.faces(GUILD)]
    a, b, c = faces[:3]
    before = await checksums(service.db)
    cases = malformed(a, b, c)
    for what, text, says, user in cases:
        with pytest.raises(ImportRefused) as refused:
            await service.voting.import_votes(GUILD, text, user)
        assert says in str(refused.value), (what, str(refused.value))
        assert await checksums(service.db) == before, what
    print(f"{len(cases)} malformed files refused, each with its reason; database unchanged")
    assert len(cases) >= 30


async def test_valid_files_import_exactly_once(service):
    faces = [face.id for face in await service.pool.faces(GUILD)]
    a, b, c = faces[:3]
    valid = [
        (
            "with times",
            "user_id,face_a,face_b,outcome,voted_at\n"
            f"{ALICE},{a},{b},1,1700000000\n{BOB},{b},{c},0.5,1700000001.25\n",
            None,
            2,
        ),
        ("without times, --user", f"face_a,face_b,outcome\n{a},{c},0\n{b},{c},1.0\n", ALICE, 2),
        (
            "columns in any order, spaces, a BOM-free header",
            f" outcome , face_b,face_a\n .5 ,{a},{c}\n",
            BOB,
            1,
        ),
        (
            "--user matching the user_id column",
            f"user_id,face_a,face_b,outcome\n{ALICE},{c},{a},0\n",
            ALICE,
            1,
        ),
    ]
    for what, text, user, count in valid:
        first = await service.voting.import_votes(GUILD, text, user)
        assert (first.stored, first.already_stored) == (count, 0), what
        before = await checksums(service.db)
        again = await service.voting.import_votes(GUILD, text, user)
        assert (again.stored, again.already_stored) == (0, count), what
        assert await checksums(service.db) == before, what
    assert (await service.privacy.stats(GUILD, ALICE)).votes == 4
    print(f"{len(valid)} valid files imported exactly; a second import of each added nothing")


async def test_an_export_imported_back_adds_nothing(service):
    faces = [face.id for face in await service.pool.faces(GUILD)]
    text = "face_a,face_b,outcome,voted_at\n" + "".join(
        f"{faces[i]},{faces[i + 1]},1,{1_700_000_000 + i}.5\n" for i in range(4)
    )
    await service.voting.import_votes(GUILD, text, ALICE)
    exported = await service.privacy.export(GUILD, ALICE)
    again = await service.voting.import_votes(GUILD, exported.votes_csv.decode(), ALICE)
    assert (again.stored, again.already_stored) == (0, 4)


def test_ids_are_snowflakes():
    assert snowflake("1") == 1 and snowflake(str(2**63 - 1)) == 2**63 - 1
    for bad in ("0", "-1", str(2**63), "1_0", "\u0661", "1.0", " ", "0x10"):
        with pytest.raises(ValueError):
            snowflake(bad)
    assert MAX_FIELD_CHARS < 5000
