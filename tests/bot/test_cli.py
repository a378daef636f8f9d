import pytest

from tests.bot.conftest import run_cli


def test_help_lists_the_subcommands():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("run", "ingest", "pool", "train", "rank", "worker", "sync", "purge"):
        assert name in result.stdout


@pytest.mark.parametrize(
    "command", ["run", "ingest", "pool", "train", "rank", "worker", "sync", "purge"]
)
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
