import subprocess
import sys

import pytest

from tests.bot.conftest import run_cli

SUBCOMMANDS = (
    "run",
    "ingest",
    "pool",
    "faces",
    "votes",
    "train",
    "rank",
    "worker",
    "sync",
    "purge",
)


def test_help_lists_the_subcommands():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in SUBCOMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_each_subcommand_has_help(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0 and "--config" in result.stdout


def test_run_without_token_explains_where_to_put_one(tmp_path):
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and "config.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_stops_with_the_key_name(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[worker]\nmax_attempts = 1.5\n")
    result = run_cli("run", "--config", str(config))
    assert result.returncode == 2
    assert "worker.max_attempts" in result.stderr and "Traceback" not in result.stderr


async def test_train_then_rank_from_the_command_line(tmp_path):
    from tests.bot.conftest import ALICE, GUILD, populate, write_config
    from tests.images import astronaut, encode, lfw_crops

    config = write_config(tmp_path)
    await populate(tmp_path / "k.sqlite3")
    result = run_cli("train", "--config", config, "--guild", str(GUILD), "--user", str(ALICE))
    assert result.returncode == 0, result.stderr
    assert '"uses"' in result.stdout and "model v1 for user 42" in result.stdout

    files = []
    for index, crop in enumerate(lfw_crops()[:3]):
        files.append(tmp_path / f"face{index}.png")
        files[-1].write_bytes(encode(crop))
    (tmp_path / "person.jpg").write_bytes(encode(astronaut(), "JPEG"))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    names = [str(f) for f in files] + [str(tmp_path / "person.jpg"), str(tmp_path / "broken.jpg")]
    ranked = run_cli(
        "rank", "--config", config, "--guild", str(GUILD), "--user", str(ALICE), *names
    )
    assert ranked.returncode == 0, ranked.stderr
    lines = ranked.stdout.splitlines()
    assert any("broken.jpg: skipped: this is not an image" in line for line in lines)
    places = [line for line in lines if "P(beats median)=" in line]
    assert len(places) == 4 and places[0].lstrip().startswith("1.")
    assert "model v1" in ranked.stdout


def test_rank_without_any_model_says_so(tmp_path):
    from tests.images import astronaut, encode

    (tmp_path / "a.png").write_bytes(encode(astronaut()))
    config = tmp_path / "c.toml"
    config.write_text('[storage]\ndatabase = "k.sqlite3"\n')
    result = run_cli("rank", "--config", str(config), "--guild", "5", str(tmp_path / "a.png"))
    assert result.returncode == 1 and "no model yet" in result.stderr


async def test_pool_remove_deletes_the_face_and_queues_a_guild_retrain_as_the_command_does(
    tmp_path,
):
    """`python -m bot pool remove` and `/pool remove` share PoolService.remove_face."""
    from storage import open_database
    from tests.bot.conftest import GUILD, populate, write_config

    config = write_config(tmp_path)
    face_ids, _ = await populate(tmp_path / "k.sqlite3", crowd_votes=10, alice_votes=0, faces=8)
    result = run_cli("pool", "remove", str(face_ids[0]), "--guild", str(GUILD), "--config", config)
    assert result.returncode == 0, result.stderr
    assert "retrained" in result.stdout
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        async with db.execute("SELECT COUNT(*) FROM faces WHERE id = ?", (face_ids[0],)) as cursor:
            assert (await cursor.fetchone())[0] == 0
        async with db.execute(
            "SELECT COUNT(*) FROM votes WHERE face_a = ? OR face_b = ?", (face_ids[0],) * 2
        ) as cursor:
            assert (await cursor.fetchone())[0] == 0
        async with db.execute(
            "SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND user_id IS NULL AND state = 'queued'",
            (GUILD,),
        ) as cursor:
            assert (await cursor.fetchone())[0] == 1
    finally:
        await db.close()
    again = run_cli("pool", "remove", str(face_ids[0]), "--guild", str(GUILD), "--config", config)
    assert again.returncode == 1 and "no face" in again.stderr


def test_the_users_path_from_the_command_line_ingest_import_train_rank_json(tmp_path):
    """Any benchmark can go ingest -> import votes -> train -> rank without internals:
    a crowd that prefers brighter faces, and rankings that follow it."""
    import csv
    import json

    import numpy as np

    from tests.bot.conftest import write_config
    from tests.images import encode, lfw_faces

    config = write_config(tmp_path)
    faces = lfw_faces()[:16]
    folder = tmp_path / "faces"
    folder.mkdir()
    for index, face in enumerate(faces):
        (folder / f"{index:02}.png").write_bytes(encode(face))
    common = ["--config", config, "--guild", "7"]
    ingested = run_cli("ingest", *common, "--quiet", str(folder))
    assert ingested.returncode == 0, ingested.stderr
    listed = run_cli("pool", "list", *common).stdout.splitlines()
    ids = {  # file name -> face id, for the photos Haar found a face in
        line.split("\t")[1].rsplit("/", 1)[-1]: int(line.split("\t")[0])
        for line in listed
        if "\t" in line
    }
    assert len(ids) >= 10
    brightness = {
        ids[f"{i:02}.png"]: float(f.mean()) for i, f in enumerate(faces) if f"{i:02}.png" in ids
    }
    rng = np.random.default_rng(0)
    table = tmp_path / "votes.csv"
    with table.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["user_id", "face_a", "face_b", "outcome", "voted_at"])
        for index in range(400):
            a, b = rng.choice(sorted(brightness), 2, replace=False)
            outcome = float(brightness[a] > brightness[b])
            writer.writerow([100 + index % 8, a, b, outcome, 1_700_000_000 + index])
    imported = run_cli("votes", "import", *common, str(table))
    assert imported.returncode == 0 and "imported 400 new votes" in imported.stdout, imported.stderr
    again = run_cli("votes", "import", *common, str(table))
    assert "imported 0 new votes" in again.stdout and "(400 already stored)" in again.stdout
    trained = run_cli("train", *common)
    assert trained.returncode == 0, trained.stderr
    ranked = run_cli("rank", *common, "--json", *(str(folder / name) for name in sorted(ids)))
    assert ranked.returncode == 0, ranked.stderr
    result = json.loads(ranked.stdout)
    assert result["model"] == {"version": 1, "personal": False} and not result["skipped"]
    order = [brightness[ids[entry["file"].rsplit("/", 1)[-1]]] for entry in result["ranked"]]
    top, bottom = np.mean(order[:5]), np.mean(order[-5:])
    print(f"mean brightness of the top 5: {top:.0f}, of the bottom 5: {bottom:.0f}")
    assert top > bottom


def test_a_vote_file_with_bad_rows_is_refused_whole_with_each_reason(tmp_path):
    from tests.bot.conftest import write_config

    config = write_config(tmp_path)
    table = tmp_path / "votes.csv"
    table.write_text("face_a,face_b,outcome\n1,2,1\nx,2,1\n")
    result = run_cli("votes", "import", "--config", config, "--guild", "7", str(table))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "user_id" in result.stderr  # no member column and no --user
    result = run_cli(
        "votes", "import", "--config", config, "--guild", "7", "--user", "5", str(table)
    )
    assert result.returncode == 1 and "nothing imported" in result.stderr
    assert "line 2: face 1 is not in this server's pool" in result.stderr
    assert "line 3: face_a 'x' is not an id" in result.stderr


async def test_faces_stored_before_the_descriptor_get_one_and_a_rerun_resumes(tmp_path):
    """`python -m bot faces describe`: faces stored without a descriptor (as before it
    existed) get one; an interrupted run is resumed by the next, nothing done twice."""
    from storage import open_database, pool
    from tests.bot.conftest import GUILD, populate, write_config

    config = write_config(tmp_path)
    await populate(tmp_path / "k.sqlite3", faces=12, crowd_votes=0, alice_votes=0)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        ids = [face.id for face in await pool.list_faces(db, GUILD)]
        assert await pool.face_descriptors(db, GUILD, ids) == {}
        stopped_here = (bytes(512), bytes(7416))  # as if a run stopped after this face
        await pool.set_descriptors(db, {ids[0]: stopped_here})
        # a face described before expression HOGs existed: both are taken again
        await db.execute("UPDATE faces SET descriptor = ? WHERE id = ?", (bytes(512), ids[1]))
        await db.commit()
    finally:
        await db.close()
    result = run_cli("faces", "describe", "--config", config, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "faces described: 11" in result.stdout
    again = run_cli("faces", "describe", "--config", config, "--guild", str(GUILD), "--quiet")
    assert "faces described: 0" in again.stdout
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        stored = await pool.face_descriptors(db, GUILD, ids)
        hogs = await pool.face_expressions(db, GUILD, ids)
    finally:
        await db.close()
    assert len(stored) == len(hogs) == 12 and stored[ids[1]] != bytes(512)
    assert (stored[ids[0]], hogs[ids[0]]) == stopped_here  # kept, not recomputed


LOADS_NO_MODEL = [
    ["pool", "list", "--guild", "7"],
    ["votes", "import", "--guild", "7", "--user", "5", "missing.csv"],
    ["faces", "describe", "--guild", "7", "--quiet"],
    ["purge", "--guild", "7"],
    ["health"],
]


@pytest.mark.parametrize("command", LOADS_NO_MODEL, ids=lambda c: " ".join(c[:2]))
def test_commands_that_need_no_model_never_import_tensorflow(tmp_path, command):
    from tests.bot.conftest import write_config

    config = write_config(tmp_path)
    probe = (
        "import sys\nfrom bot.cli import main\ncode = main(sys.argv[1:])\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *command, "--config", config],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.stdout.splitlines()[-1].startswith("False False"), result.stdout
    assert "Traceback" not in result.stderr and "absl" not in result.stderr


def test_a_command_that_loads_a_model_keeps_tensorflows_start_up_lines_out(tmp_path):
    from tests.bot.conftest import write_config

    result = run_cli("rank", "--config", write_config(tmp_path), "--guild", "7", "x.png")
    assert result.returncode == 1 and "x.png" in result.stderr
    assert "absl" not in result.stderr and "cuda" not in result.stderr, result.stderr


def test_vote_import_arguments_and_endless_files_are_refused_without_a_traceback(tmp_path):
    from tests.bot.conftest import write_config

    common = ["votes", "import", "--config", write_config(tmp_path)]
    endless = run_cli(*common, "--guild", "7", "--user", "5", "/dev/zero")
    assert endless.returncode == 1 and "larger than 20 MB" in endless.stderr
    for flag in ("--guild", "--user"):
        values = {"--guild": "7", "--user": "5", flag: str(2**64)}
        huge = run_cli(*common, "--guild", values["--guild"], "--user", values["--user"], "x")
        assert huge.returncode == 2 and f"argument {flag}:" in huge.stderr
        assert "is not an id" in huge.stderr and "Traceback" not in huge.stderr


async def test_a_refused_personal_train_trains_nothing_and_says_what_to_do_here(tmp_path):
    """`train --user` below `[worker] personal_min_votes` stores no model at all (not
    even the guild's it would have needed first), and its advice is for this surface."""
    from storage import open_database, votes
    from tests.bot.conftest import ALICE, GUILD, populate, write_config

    config = write_config(tmp_path)
    face_ids, _ = await populate(tmp_path / "k.sqlite3", crowd_votes=40, alice_votes=0)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        await votes.add_votes(db, GUILD, ALICE, [(face_ids[0], face_ids[1], 1.0)] * 3)
    finally:
        await db.close()
    common = ["--config", config, "--guild", str(GUILD)]
    result = run_cli("train", *common, "--user", str(ALICE))
    print(result.stderr)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        async with db.execute("SELECT COUNT(*) FROM models") as cursor:
            (models,) = await cursor.fetchone()
    finally:
        await db.close()
    assert result.returncode == 1 and models == 0
    assert "this person has 3 votes here; their model needs at least 10" in result.stderr
    assert "python -m bot votes import" in result.stderr and "Nothing was trained" in result.stderr
    assert "/vote" not in result.stderr and "/retrain" not in result.stderr

    missing = run_cli("pool", "hide", "999", *common)
    assert missing.returncode == 1 and "python -m bot pool list" in missing.stderr


async def test_pool_list_as_json_for_scripts(tmp_path):
    import json

    from tests.bot.conftest import GUILD, populate, write_config

    config = write_config(tmp_path)
    face_ids, _ = await populate(tmp_path / "k.sqlite3", faces=6, crowd_votes=0, alice_votes=0)
    run_cli("pool", "hide", str(face_ids[2]), "--config", config, "--guild", str(GUILD))
    result = run_cli("pool", "list", "--json", "--config", config, "--guild", str(GUILD))
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [face["id"] for face in listed["faces"]] == face_ids
    assert [face["hidden"] for face in listed["faces"]] == [i == 2 for i in range(6)]
    assert set(listed["faces"][0]) == {"id", "origin", "box", "hidden"}
    assert listed["guild"] == GUILD


def test_a_model_without_descriptors_ingests_without_describing(tmp_path):
    """`[model] descriptor_size = 0`: ingest stores faces without a descriptor (dlib is
    never run), and `faces describe` says there is nothing to do."""
    import sqlite3

    from tests.bot.conftest import write_config
    from tests.images import encode, lfw_faces

    config = write_config(tmp_path)
    with open(config, "a") as file:
        file.write("[model]\ndescriptor_size = 0\n")
    folder = tmp_path / "faces"
    folder.mkdir()
    for index, face in enumerate(lfw_faces()[:6]):
        (folder / f"{index}.png").write_bytes(encode(face))
    common = ["--config", config, "--guild", "7"]
    assert run_cli("ingest", *common, "--quiet", str(folder)).returncode == 0
    with sqlite3.connect(tmp_path / "k.sqlite3") as db:
        faces, described = db.execute("SELECT COUNT(*), COUNT(descriptor) FROM faces").fetchone()
    print(f"{faces} faces stored, {described} with a descriptor")
    assert faces >= 4 and described == 0
    result = run_cli("faces", "describe", *common, "--quiet")
    assert result.returncode == 0 and "descriptor_size = 0" in result.stdout
