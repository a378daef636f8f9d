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
