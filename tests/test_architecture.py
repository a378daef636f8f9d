"""The house rules that keep konomi easy to live in, checked on every run."""

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")


def imports(package: str) -> set[str]:
    """Top-level packages imported anywhere under `package` (a folder or one file)."""
    found = set()
    root = REPO / package
    for path in [root] if root.is_file() else root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_arrows_point_one_way():
    assert not imports("model") & {"bot", "discord", "storage", "aiosqlite", "sqlite3"}
    assert not imports("storage") & {"bot", "discord", "model", "keras", "tensorflow"}


def test_discord_adapters_reach_konomi_only_through_its_services():
    """Cogs, the CLI and the bot speak to storage only through bot/services, which
    own the rules: the two ways in (Discord and the command line) cannot diverge."""
    for adapter in ("bot/cogs", "bot/cli.py", "bot/app.py", "bot/replies.py"):
        assert "storage" not in imports(adapter), adapter
    assert not imports("bot/services") & {"discord"}


def test_only_storage_writes_sql():
    for package in ("bot", "model"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    assert not SQL.search(node.value), f"SQL in {path.relative_to(REPO)}"


def test_model_code_uses_keras_not_tensorflow():
    assert "tensorflow" not in imports("model")


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", str(REPO)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_the_network_guard_refuses_anything_but_loopback():
    import socket

    import pytest

    with socket.socket() as sock, pytest.raises(RuntimeError, match="127.0.0.1"):
        sock.connect(("10.1.2.3", 80))
