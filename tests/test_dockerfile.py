"""No Docker engine runs here, so the Dockerfile is checked by parsing it."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_python_311_slim_base_non_root_user_and_the_bot_as_command():
    rows = instructions()
    assert rows[0] == ("FROM", "python:3.11-slim")
    keywords = [k for k, _ in rows]
    user_at = keywords.index("USER")
    assert rows[user_at][1] not in ("root", "0")
    assert keywords.index("CMD") > user_at
    assert '"-m", "bot", "run"' in dict(rows)["CMD"]


def test_everything_copied_exists_and_the_database_goes_to_the_volume():
    rows = instructions()
    for keyword, rest in rows:
        if keyword == "COPY":
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), source
    run = " ".join(rest for keyword, rest in rows if keyword == "RUN")
    assert "pip install ." in run and "/data/konomi.sqlite3" in run
    assert any(k == "VOLUME" and "/data" in rest for k, rest in rows)
