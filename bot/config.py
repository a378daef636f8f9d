"""Typed settings loaded from config.toml.

The defaults below are the embedded defaults: the bot runs without any config
file. `config.toml` at the repository root documents every key with these same
values (a test keeps the two in step). Unknown keys and wrong types stop
start-up with the key's dotted name, because a typo silently ignored is a
setting silently not applied.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from model.settings import DetectorSettings, ImageLimits, ScorerConfig, TrainSettings

DEFAULT_CONFIG_PATH = Path("config.toml")


class ConfigError(Exception):
    """A config file that cannot be used; the message names the key."""


@dataclass(frozen=True)
class DiscordSettings:
    token: str = field(default="", repr=False)
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    dev_guild_id: int = 0
    guild_ready_timeout_s: float = 2.0


@dataclass(frozen=True)
class StorageSettings:
    database: str = "konomi.sqlite3"


@dataclass(frozen=True)
class HelperSettings:
    """The image helper processes (bot/imaging.py) that read every untrusted file."""

    processes: int = 2
    memory_limit_mb: int = 1024
    files_per_process: int = 100
    file_timeout_s: float = 20.0
    video_timeout_s: float = 900.0


@dataclass(frozen=True)
class IngestSettings:
    video_frame_interval_s: float = 2.0
    near_duplicate_distance: int = 4


@dataclass(frozen=True)
class WorkerSettings:
    embedded: bool = True
    poll_interval_s: float = 1.0
    max_attempts: int = 3
    guild_retrain_votes: int = 50
    guild_retrain_interval_s: float = 3600.0
    user_retrain_votes: int = 30
    personal_min_votes: int = 10
    retrain_cooldown_s: float = 60.0


@dataclass(frozen=True)
class VotingSettings:
    catch_up_days: float = 3.0


@dataclass(frozen=True)
class PrivacySettings:
    guild_grace_days: float = 30.0


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"


@dataclass(frozen=True)
class Settings:
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    images: ImageLimits = field(default_factory=ImageLimits)
    helpers: HelperSettings = field(default_factory=HelperSettings)
    faces: DetectorSettings = field(default_factory=DetectorSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    model: ScorerConfig = field(default_factory=ScorerConfig)
    training: TrainSettings = field(default_factory=TrainSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    voting: VotingSettings = field(default_factory=VotingSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    # Folder that relative paths in the file are resolved against.
    base_dir: Path = field(default=Path("."), compare=False)

    @property
    def database_path(self) -> Path:
        return (self.base_dir / self.storage.database).resolve()

    def cascade_path(self) -> str:
        """The configured cascade, relative paths taken from the config's folder."""
        if not self.faces.cascade:
            return ""
        return str((self.base_dir / self.faces.cascade).resolve())


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _check_value(name: str, expected: typing.Any, value: typing.Any) -> typing.Any:
    origin = typing.get_origin(expected)
    if origin is list:
        (item_type,) = typing.get_args(expected)
        if not isinstance(value, list):
            raise ConfigError(f"{name}: expected a list of {_TYPE_NAMES[item_type]}s")
        return [_check_value(f"{name}[{i}]", item_type, v) for i, v in enumerate(value)]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{name}: expected {_TYPE_NAMES[int]}, got {value!r}")
    if not isinstance(value, expected):
        raise ConfigError(f"{name}: expected {_TYPE_NAMES[expected]}, got {value!r}")
    return value


def _build(cls: type, data: dict[str, typing.Any], prefix: str) -> typing.Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.name != "base_dir"}
    values = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"unknown key '{name}' (known: {', '.join(sorted(known))})")
        expected = hints[key]
        if dataclasses.is_dataclass(expected):
            if not isinstance(value, dict):
                raise ConfigError(f"{name}: expected a table [{name}]")
            values[key] = _build(expected, value, f"{name}.")
        else:
            values[key] = _check_value(name, expected, value)
    return cls(**values)


def parse_settings(data: dict[str, typing.Any], base_dir: Path) -> Settings:
    settings = _build(Settings, data, "")
    return dataclasses.replace(settings, base_dir=base_dir)


def load_settings(
    path: Path | None = None, environ: typing.Mapping[str, str] | None = None
) -> Settings:
    """Load `path` (or ./config.toml, or the embedded defaults when it is absent).

    DISCORD_TOKEN from the environment wins over the file, so the token need
    never be written to disk.
    """
    environ = os.environ if environ is None else environ
    explicit = path is not None
    path = Path(path) if explicit else DEFAULT_CONFIG_PATH
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
        settings = parse_settings(data, path.resolve().parent)
    elif explicit:
        raise ConfigError(f"config file not found: {path}")
    else:
        settings = Settings(base_dir=Path.cwd())
    token = environ.get("DISCORD_TOKEN", "").strip()
    if token:
        settings = dataclasses.replace(
            settings, discord=dataclasses.replace(settings.discord, token=token)
        )
    return settings


__all__ = ["ConfigError", "Settings", "load_settings", "parse_settings"]
