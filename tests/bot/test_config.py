import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_settings

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_documents_exactly_the_embedded_defaults():
    shipped = load_settings(REPO / "config.toml", environ={})
    assert shipped == Settings()


def test_every_key_in_the_shipped_file_has_a_comment_above_it():
    lines = (REPO / "config.toml").read_text().splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            above = [entry for entry in lines[:index] if entry.strip()]
            assert above[-1].startswith("#") or "=" in above[-1], line


def test_unknown_key_names_its_dotted_path(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[faces]\nscale_factr = 1.2\n")
    with pytest.raises(ConfigError, match=r"unknown key 'faces\.scale_factr'"):
        load_settings(path, environ={})


def test_wrong_type_names_key_and_expectation(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[training]\nmax_epochs = "ten"\n')
    with pytest.raises(ConfigError, match=r"training\.max_epochs: expected an integer"):
        load_settings(path, environ={})


def test_integers_are_accepted_where_numbers_are_expected():
    settings = parse_settings({"faces": {"scale_factor": 2}}, Path("."))
    assert settings.faces.scale_factor == 2.0 and isinstance(settings.faces.scale_factor, float)


def test_booleans_are_not_integers():
    with pytest.raises(ConfigError, match="images.max_bytes"):
        parse_settings({"images": {"max_bytes": True}}, Path("."))


def test_relative_database_path_resolves_against_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "config.toml").write_text('[storage]\ndatabase = "data/k.sqlite3"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(folder / "config.toml", environ={})
    assert settings.database_path == (folder / "data" / "k.sqlite3").resolve()


def test_environment_token_wins_and_never_shows_in_repr(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[discord]\ntoken = "from-file"\n')
    settings = load_settings(path, environ={"DISCORD_TOKEN": "from-env-secret"})
    assert settings.discord.token == "from-env-secret"
    assert "from-env-secret" not in repr(settings)


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_invalid_toml_is_reported(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[faces\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, environ={})


def test_without_a_file_the_embedded_defaults_apply(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, environ={})
    assert settings.storage.database == Settings().storage.database
    assert tomllib.loads((REPO / "config.toml").read_text())["model"]["input_size"] == 80


@pytest.mark.parametrize(
    ("worker", "says"),
    [
        ({"backend": "rabbit"}, "worker.backend"),
        ({"task_time_limit_s": 100.0, "visibility_timeout_s": 90.0}, "twice|second worker"),
        ({"resend_after_s": 10.0}, "resend_after_s must be above"),
    ],
)
def test_worker_settings_that_would_lose_or_double_jobs_are_refused(worker, says):
    with pytest.raises(ConfigError, match=says):
        parse_settings({"worker": worker}, Path("."))


def test_the_broker_url_from_the_environment_wins_and_its_password_is_a_secret(tmp_path):
    url = "redis://:s3cret-broker-pass@127.0.0.1:6380/1"
    settings = load_settings(environ={"KONOMI_BROKER_URL": url, "KONOMI_CONFIG": ""})
    assert settings.worker.broker_url == url
    assert "s3cret-broker-pass" in settings.secrets


def test_konomi_config_names_the_file_when_no_path_is_given(tmp_path):
    path = tmp_path / "elsewhere.toml"
    path.write_text('[worker]\nbackend = "celery"\n')
    assert load_settings(environ={"KONOMI_CONFIG": str(path)}).worker.backend == "celery"


def test_the_images_celery_config_is_the_shipped_one_with_the_celery_backend(tmp_path):
    """The Dockerfile's sed lines, applied to config.toml, give what the compose file runs."""
    import re
    import subprocess

    dockerfile = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    expressions = re.findall(r"-e '([^']+)'", dockerfile)
    assert len(expressions) == 5
    shipped = tmp_path / "config.toml"
    shipped.write_text((REPO / "config.toml").read_text())
    for expression in expressions:
        subprocess.run(["sed", "-i", expression, str(shipped)], check=True)
    settings = load_settings(shipped, environ={})
    assert settings.worker.backend == "celery"
    assert settings.worker.broker_url == "redis://redis:6379/0"
    assert str(settings.database_path) == "/data/konomi.sqlite3"
    assert str(settings.pool_cache_path) == "/cache/pools"
    assert str(settings.heartbeat_path) == "/data/konomi.heartbeat"


def numeric_keys(section=None, prefix=""):
    """(dotted key, field, default) of every number the config holds, found from the
    dataclasses themselves: a key added later is covered without editing this test."""
    import dataclasses

    section = section or Settings()
    for item in dataclasses.fields(section):
        if item.name == "base_dir":
            continue
        value = getattr(section, item.name)
        if dataclasses.is_dataclass(value):
            yield from numeric_keys(value, f"{prefix}{item.name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield f"{prefix}{item.name}", item, value


def nested(key, value):
    data = value
    for part in reversed(key.split(".")):
        data = {part: data}
    return data


def test_every_number_is_refused_outside_the_bounds_beside_its_field(capsys):
    """For each numeric key: NaN, both infinities, and a value just past each declared
    end are refused with the key's name; each end itself, where it is allowed, is
    accepted. The bounds come from the field (model/settings.py `bounded`)."""
    import math

    from model.settings import bounds_of

    refused = accepted = 0
    for key, item, default in numeric_keys():
        bounds = bounds_of(item)
        kind = type(default)
        step = 1 if kind is int else 1e-6
        bad = [math.nan, math.inf, -math.inf] if kind is float else []
        good = []
        for end, past, inclusive in (
            (bounds.above, -step, False),
            (bounds.at_least, -step, True),
            (bounds.below, step, False),
            (bounds.at_most, step, True),
        ):
            if end is None or not math.isfinite(end):
                continue
            bad.append(kind(end + past))
            if inclusive:
                good.append(kind(end))
            if kind is int and not inclusive:  # integers: the end is refused too
                bad.append(int(end))
        for value in bad:
            with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
                parse_settings(nested(key, value), Path("."))
            refused += 1
        for value in good:
            try:
                parse_settings(nested(key, value), Path("."))
            except ConfigError as error:  # a cross-key rule may still refuse; never this one
                assert not str(error).startswith(f"{key}:"), error
            accepted += 1
    print(f"{refused} out-of-bounds values refused, {accepted} boundary values accepted")
    assert refused > 150


def test_the_documented_special_values_are_accepted():
    settings = parse_settings(
        {"model": {"taste_dims": 0}, "voting": {"random_pair_share": 0.0}}, Path(".")
    )
    assert settings.model.taste_dims == 0 and settings.voting.random_pair_share == 0.0


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "http://127.0.0.1:6379/0",
        "redis://127.0.0.1:99999/0",
        "redis://:s3cret@[::1/0",
        "redis:///0",
    ],
)
def test_a_celery_backend_needs_a_broker_url_it_can_use(tmp_path, url):
    """From the file or from KONOMI_BROKER_URL: refused at start, naming the key, never
    echoing the URL (it may hold a password)."""
    path = tmp_path / "konomi.toml"
    path.write_text('[worker]\nbackend = "celery"\n')
    for environ, text in (({"KONOMI_BROKER_URL": url}, ""), ({}, f"broker_url = {url!r}\n")):
        path.write_text('[worker]\nbackend = "celery"\n' + text)
        with pytest.raises(ConfigError, match=r"worker\.broker_url") as refused:
            load_settings(path, environ=environ)
        assert url not in str(refused.value) and "s3cret" not in str(refused.value)
