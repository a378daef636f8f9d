"""Start-up fails fast and clean: one line naming the file or the key, exit code 2."""

import sqlite3
import time

import pytest

from storage import latest_version
from tests.bot.conftest import run_cli
from tests.fakediscord.process import BOT_TOKEN

COMMANDS = [
    ["run"],
    ["sync"],
    ["worker"],
    ["ingest", "--guild", "1", "x.png"],
    ["pool", "list", "--guild", "1"],
    ["train", "--guild", "1"],
    ["rank", "--guild", "1", "x.png"],
    ["purge", "--guild", "1"],
]


def start(tmp_path, config: str, *command: str):
    (tmp_path / "konomi.toml").write_text(config)
    began = time.monotonic()
    result = run_cli(
        *command,
        "--config",
        str(tmp_path / "konomi.toml"),
        env={"DISCORD_TOKEN": BOT_TOKEN},
        timeout=60,
    )
    return result, time.monotonic() - began


def database(tmp_path, name: str, make) -> str:
    make(tmp_path / name)
    return f'[storage]\ndatabase = "{name}"\n'


def corrupt(path):
    path.write_bytes(b"this is no database " * 500)


def half_written(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.executemany("INSERT INTO t VALUES (?)", [(b"x" * 1000,) for _ in range(200)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    path.with_name(path.name + "-wal").unlink(missing_ok=True)


def foreign(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")


def newer(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute(f"PRAGMA user_version = {latest_version() + 1}")


def folder(path):
    path.mkdir()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (corrupt, "not a usable konomi database"),
        (half_written, "not a usable konomi database"),
        (foreign, "another program's SQLite database"),
        (newer, f"schema is version {latest_version() + 1}, newer"),
        (folder, "not a file"),
    ],
)
def test_an_unusable_database_stops_every_command_with_one_line(tmp_path, make, says):
    config = database(tmp_path, "k.sqlite3", make)
    for command in COMMANDS:
        result, seconds = start(tmp_path, config, *command)
        lines = result.stderr.strip().splitlines()
        print(f"{make.__name__} / {command[0]}: exit {result.returncode} in {seconds:.1f} s")
        assert result.returncode == 2, (command, result.stderr)
        assert lines == [lines[0]] and lines[0].startswith("database error:"), result.stderr
        assert str(tmp_path / "k.sqlite3") in lines[0] and says in lines[0]
        assert seconds < 20


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ('[faces]\ncascade = "missing.xml"\n', "faces.cascade: face cascade not found"),
        ('[faces]\ncascade = "broken.xml"\n', "faces.cascade: not a valid OpenCV cascade"),
        ("[faces]\nscale_factor = 1.0\n", "faces.scale_factor: must be above 1"),
        ("[images]\nmax_bytes = -1\n", "images.max_bytes: must be above 0"),
        ("[helpers]\nprocesses = 0\n", "helpers.processes: must be above 0"),
        ("[worker]\npoll_interval_s = 0\n", "worker.poll_interval_s: must be above 0"),
    ],
)
def test_impossible_settings_stop_the_bot_naming_the_key(tmp_path, config, says):
    (tmp_path / "broken.xml").write_text("<opencv_storage><nonsense/></opencv_storage>")
    result, seconds = start(tmp_path, config, "run")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and seconds < 20
    assert len(lines) == 1 and lines[0].startswith(f"config error: {says}"), result.stderr


def test_a_token_of_the_wrong_type_is_not_echoed(tmp_path):
    secret = 98765432109876543210
    result, _ = start(tmp_path, f"[discord]\ntoken = {secret}\n", "run")
    assert result.returncode == 2
    assert "discord.token: expected a string" in result.stderr
    assert str(secret) not in result.stderr + result.stdout


HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "exclusive":  # no other process may even read
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("BEGIN EXCLUSIVE")
    db.execute("DELETE FROM bot_state WHERE 0")
    db.execute("COMMIT")  # the lock stays: exclusive locking mode keeps it
else:  # a writer in the middle of its transaction: readers go on, writers wait
    db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[3]))
"""


@pytest.mark.parametrize("mode", ["exclusive", "write"])
def test_a_locked_database_is_busy_not_broken(tmp_path, mode):
    """Another process holds the database (an exclusive lock, or a write transaction):
    `votes import` waits `[storage] busy_timeout_s` (5 s) and says the database is busy,
    exit 3, nothing changed, no advice to move the file; `health` answers at once."""
    import asyncio
    import contextlib
    import subprocess
    import sys

    from tests.bot.conftest import ALICE, populate

    asyncio.run(populate(tmp_path / "k.sqlite3", crowd_votes=0, alice_votes=0, faces=3))
    with contextlib.closing(sqlite3.connect(tmp_path / "k.sqlite3")) as db:
        a, b = [row[0] for row in db.execute("SELECT id FROM faces ORDER BY id LIMIT 2")]
        before = db.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
    (tmp_path / "votes.csv").write_text(f"face_a,face_b,outcome\n{a},{b},1\n")
    config = '[storage]\ndatabase = "k.sqlite3"\n'
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path / "k.sqlite3"), mode, "40"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        imported, seconds = start(
            tmp_path,
            config,
            "votes",
            "import",
            "--guild",
            "1",
            "--user",
            str(ALICE),
            str(tmp_path / "votes.csv"),
        )
        health, health_seconds = start(tmp_path, config, "health")
    finally:
        holder.kill()
        holder.wait()
    print(
        f"{mode} lock: votes import exit {imported.returncode} in {seconds:.1f} s, "
        f"health exit {health.returncode} in {health_seconds:.1f} s"
    )
    assert imported.returncode == 3 and seconds < 10, imported.stderr
    assert "database busy:" in imported.stderr and "Traceback" not in imported.stderr
    assert "move it away" not in imported.stderr and "restore" not in imported.stderr
    assert health_seconds < 10 and "Traceback" not in health.stderr
    assert health.returncode == 1 and "no heartbeat file" in health.stdout
    with contextlib.closing(sqlite3.connect(tmp_path / "k.sqlite3")) as db:
        assert db.execute("SELECT COUNT(*) FROM votes").fetchone()[0] == before


def test_health_says_starting_until_the_first_heartbeat(tmp_path):
    config = '[storage]\ndatabase = "k.sqlite3"\n'
    (tmp_path / "konomi.heartbeat").write_text(f"starting {time.time():.0f}\n")
    result, _ = start(tmp_path, config, "health")
    assert result.returncode == 1 and result.stdout.startswith("starting:"), result.stdout
    (tmp_path / "konomi.heartbeat").write_text(f"connected {time.time():.0f}\n")
    result, _ = start(tmp_path, config, "health")
    assert result.returncode == 0 and result.stdout.startswith("healthy"), result.stdout
