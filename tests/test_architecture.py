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


def modules_imported(path: Path) -> set[str]:
    """Full module names imported by one file (absolute imports only)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_arrows_point_one_way():
    assert not imports("model") & {"bot", "discord", "storage", "aiosqlite", "sqlite3"}
    assert not imports("storage") & {"bot", "discord", "model", "keras", "tensorflow"}


def test_only_the_services_reach_storage():
    """Every module of bot/ outside bot/services (the Discord adapter, the CLI, the
    workers, Celery's side) speaks to storage only through the services, which own the
    rules: the ways in cannot diverge."""
    outside = [
        path
        for path in (REPO / "bot").rglob("*.py")
        if (REPO / "bot" / "services") not in path.parents
    ]
    assert len(outside) > 10  # the adapter, its cogs, the entry points and remote/
    for path in outside:
        assert "storage" not in imports(str(path.relative_to(REPO))), path.relative_to(REPO)
    assert not imports("bot/services") & {"discord"}


def test_the_layers_of_bot_import_one_way():
    """The services know nothing of Discord's adapter or the entry points."""
    for path in (REPO / "bot" / "services").rglob("*.py"):
        found = modules_imported(path)
        assert not {
            m
            for m in found
            if m.startswith(("bot.discord_adapter", "bot.cli", "bot.worker", "bot.remote"))
        }, path


def test_each_module_of_bot_has_a_docstring():
    for path in (REPO / "bot").rglob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), path.relative_to(REPO)


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
