import os
import subprocess
import sys

import pytest


def run_cli(*args, env=None, cwd=None):
    environment = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


def test_help_lists_the_subcommands():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("run", "ingest", "pool", "train", "rank", "worker"):
        assert name in result.stdout


@pytest.mark.parametrize("command", ["run", "ingest", "pool", "train", "rank", "worker"])
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
