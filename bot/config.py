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
from urllib.parse import urlsplit

from model.descriptor import DESCRIPTOR_SIZE
from model.expression import EXPRESSION_SIZE
from model.settings import (
    DetectorSettings,
    ImageLimits,
    ScorerConfig,
    TrainSettings,
    bounded,
    bounds_of,
)

DEFAULT_CONFIG_PATH = Path("config.toml")


class ConfigError(Exception):
    """A config file that cannot be used; the message names the key."""


@dataclass(frozen=True)
class DiscordSettings:
    token: str = field(default="", repr=False)
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    dev_guild_id: int = bounded(0, at_least=0)
    guild_ready_timeout_s: float = 2.0
    # Gateway shards in this one process; 0: as many as Discord recommends (one per
    # 1,000 servers, required past 2,500).
    shard_count: int = bounded(0, at_least=0)
    # A file the bot rewrites every heartbeat_interval_s while its gateway is connected
    # (relative: to the config file); `python -m bot health` (the container's
    # HEALTHCHECK) fails when it is older than three intervals.
    heartbeat_file: str = "konomi.heartbeat"
    heartbeat_interval_s: float = 15.0
    # With no gateway connection for this long the bot exits (code 3), so that its
    # supervisor starts it afresh; a fresh start costs one of Discord's 1,000 daily
    # IDENTIFYs.
    max_disconnected_s: float = 600.0
    # Load the model library (Keras, TensorFlow: seconds) before connecting (true), or at
    # the first ranking (false: a faster start, and that first ranking waits for it).
    preload_models: bool = True


@dataclass(frozen=True)
class StorageSettings:
    database: str = "konomi.sqlite3"
    # How long a command waits for a lock another process holds before it says the
    # database is busy (and changes nothing).
    busy_timeout_s: float = 5.0


@dataclass(frozen=True)
class HelperSettings:
    """The image helper processes (bot/services/imaging.py) that read every untrusted file."""

    processes: int = 2
    memory_limit_mb: int = 1024
    files_per_process: int = 100
    file_timeout_s: float = 20.0
    video_timeout_s: float = 900.0
    # A helper whose memory peaked above this share of its limit (or that ran out of
    # it) is replaced once its answer is sent: its heap stays fragmented near the
    # limit, and the next file must not be refused for an earlier one.
    replace_above_share: float = bounded(0.5, above=0, at_most=1)


@dataclass(frozen=True)
class IngestSettings:
    video_frame_interval_s: float = 2.0
    near_duplicate_distance: int = bounded(4, at_least=0)


@dataclass(frozen=True)
class WorkerSettings:
    embedded: bool = True
    poll_interval_s: float = 1.0
    max_attempts: int = 3
    guild_retrain_votes: int = 50
    guild_retrain_interval_s: float = 3600.0
    user_retrain_votes: int = 30
    personal_min_votes: int = 10
    retrain_cooldown_s: float = bounded(60.0, at_least=0)
    # The local worker replaces itself (same process id, fresh memory) after this many
    # jobs: memory grows with every model Keras builds, and clear_session does not stop it.
    jobs_per_process: int = 50
    # People of one guild whose queued jobs train together in one pass (a stacked head
    # on the guild's frozen features); each job counts towards jobs_per_process.
    batch_people: int = 200
    # "local": this machine trains (the embedded worker). "celery": jobs go through
    # the broker to Celery workers on any machine (`bot.remote.tasks`).
    backend: str = "local"
    broker_url: str = "redis://127.0.0.1:6379/0"
    # A job's training stops (and fails) after this long on a Celery worker.
    task_time_limit_s: float = 1800.0
    # The broker hands an unacknowledged job to another worker after this long: above
    # task_time_limit_s, or a long job runs twice on two workers.
    visibility_timeout_s: float = 3600.0
    # A job with no result this long after it was sent is sent again (revoking the old
    # one); above visibility_timeout_s + task_time_limit_s and the longest queue wait.
    resend_after_s: float = 7200.0
    # How long the broker keeps results (and the pools jobs name): a result that arrives
    # while the bot is down is stored when it is back within this time.
    result_expires_s: float = 604800.0
    # Largest job and result messages, in bytes, checked on both sides.
    max_message_bytes: int = 200_000_000
    # Where a Celery worker caches pools by content hash (relative: to the config file).
    pool_cache: str = "pool-cache"


@dataclass(frozen=True)
class LimitSettings:
    """Per-member limits against abuse; the limited member is told when to try again."""

    rank_uses: int = 4
    rank_per_s: float = 60.0
    vote_uses: int = 30
    vote_per_s: float = 60.0
    report_uses: int = 5
    report_per_s: float = 60.0
    reports_hiding_per_day: int = 10
    concurrent_ranks: int = 2
    # Every /rank, "Rank these images" and /pool add answers within this: files not
    # read by then get a line each. (Discord keeps a deferred answer open 15 minutes.)
    answer_within_s: float = bounded(120.0, above=0, at_most=840)


@dataclass(frozen=True)
class VotingSettings:
    catch_up_days: float = 3.0
    # Reaction events already waiting are written in one transaction, this many at most
    # (1: one transaction per event).
    write_group: int = 256
    # Pairs chosen uniformly at random (the control arm); the rest are the most
    # informative of `informative_candidates` random unseen pairs.
    random_pair_share: float = bounded(0.2, at_least=0, at_most=1)
    informative_candidates: int = 256
    # Pairs a member may have waiting unanswered at once; /vote points to them beyond.
    open_pairs_per_member: int = bounded(2, at_least=1, at_most=10)
    # Minutes of silence after which a member's private thread archives itself (Discord
    # allows 60, 1440, 4320 or 10080); konomi's next pair opens it again.
    thread_archive_minutes: int = 1440


@dataclass(frozen=True)
class PrivacySettings:
    guild_grace_days: float = bounded(30.0, at_least=0)


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
    limits: LimitSettings = field(default_factory=LimitSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    # Folder that relative paths in the file are resolved against.
    base_dir: Path = field(default=Path("."), compare=False)

    @property
    def database_path(self) -> Path:
        return (self.base_dir / self.storage.database).resolve()

    @property
    def secrets(self) -> list[str]:
        """What no log may show: the bot token and the broker's password."""
        try:
            password = urlsplit(self.worker.broker_url).password or ""
        except ValueError:  # not a URL (refused for the celery backend): hide it whole
            password = self.worker.broker_url
        return [self.discord.token, password]

    @property
    def heartbeat_path(self) -> Path:
        return (self.base_dir / self.discord.heartbeat_file).resolve()

    @property
    def pool_cache_path(self) -> Path:
        return (self.base_dir / self.worker.pool_cache).resolve()

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
        shown = "a value of another type" if name.endswith("token") else repr(value)
        raise ConfigError(f"{name}: expected {_TYPE_NAMES[expected]}, got {shown}")
    return value


def _check_numbers(section: typing.Any, prefix: str) -> None:
    """Refuse impossible values at start-up, naming the key, not at their first use:
    each number against the bounds declared beside its field (model/settings.py
    `bounded`; above zero where none are)."""
    for item in dataclasses.fields(section):
        value, name = getattr(section, item.name), f"{prefix}{item.name}"
        if dataclasses.is_dataclass(value):
            _check_numbers(value, f"{name}.")
            continue
        for number in value if isinstance(value, list) else [value]:
            is_number = isinstance(number, int | float) and not isinstance(number, bool)
            if is_number and (problem := bounds_of(item).problem(number)):
                raise ConfigError(f"{name}: {problem}")


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
    for section in dataclasses.fields(Settings):
        if section.name != "base_dir":
            _check_numbers(getattr(settings, section.name), f"{section.name}.")
    if settings.model.descriptor_size not in (0, DESCRIPTOR_SIZE):
        raise ConfigError(
            f"model.descriptor_size: {DESCRIPTOR_SIZE} (the face descriptor) or 0 (none), "
            f"got {settings.model.descriptor_size!r}"
        )
    if settings.model.expression_size not in (0, EXPRESSION_SIZE):
        raise ConfigError(
            f"model.expression_size: {EXPRESSION_SIZE} (the expression features) or 0 (none), "
            f"got {settings.model.expression_size!r}"
        )
    if not settings.model.descriptor_size:  # they come with the descriptor's aligned face
        model = dataclasses.replace(settings.model, expression_size=0)
        settings = dataclasses.replace(settings, model=model)
    if settings.voting.thread_archive_minutes not in THREAD_ARCHIVE_MINUTES:
        raise ConfigError(
            "voting.thread_archive_minutes: one of 60, 1440, 4320 or 10080 (what Discord "
            f"allows), got {settings.voting.thread_archive_minutes!r}"
        )
    _check_worker(settings.worker)
    return dataclasses.replace(settings, base_dir=base_dir)


def _check_worker(worker: WorkerSettings) -> None:
    if worker.backend not in ("local", "celery"):
        raise ConfigError(f'worker.backend: "local" or "celery", got {worker.backend!r}')
    if worker.backend == "celery":
        _check_broker_url(worker.broker_url)
    if worker.visibility_timeout_s <= worker.task_time_limit_s:
        raise ConfigError(
            "worker.visibility_timeout_s must be above worker.task_time_limit_s: otherwise "
            "the broker hands a job that is still training to a second worker"
        )
    if worker.resend_after_s <= worker.visibility_timeout_s + worker.task_time_limit_s:
        raise ConfigError(
            "worker.resend_after_s must be above visibility_timeout_s + task_time_limit_s"
        )


BROKER_SCHEMES = ("redis", "rediss")
THREAD_ARCHIVE_MINUTES = (60, 1440, 4320, 10080)


def _check_broker_url(url: str) -> None:
    """The broker a celery backend needs: a redis:// or rediss:// URL with a host and a
    valid port. Checked at start, so no worker dies on it later. The URL may hold a
    password, so it is never echoed."""
    problem = None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port outside 0-65535
        if parts.scheme not in BROKER_SCHEMES:
            problem = f"its scheme must be {' or '.join(BROKER_SCHEMES)}, not {parts.scheme!r}"
        elif not parts.hostname:
            problem = "it names no host"
        elif port is not None and not 1 <= port <= 65535:
            problem = f"port {port} is outside 1-65535"
    except ValueError as error:
        problem = str(error)
    if problem:
        raise ConfigError(
            f"worker.broker_url (or KONOMI_BROKER_URL) is not a broker URL: {problem} "
            "(e.g. redis://127.0.0.1:6379/0, or redis://:PASSWORD@host:6379/0)"
        )


def load_settings(
    path: Path | None = None, environ: typing.Mapping[str, str] | None = None
) -> Settings:
    """Load `path` (or the file KONOMI_CONFIG names, or ./config.toml, or the embedded
    defaults when it is absent).

    DISCORD_TOKEN and KONOMI_BROKER_URL (which may hold the broker's password) from
    the environment win over the file, so neither need be written to disk.
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get("KONOMI_CONFIG") or None
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
    broker_url = environ.get("KONOMI_BROKER_URL", "").strip()
    if broker_url:
        settings = dataclasses.replace(
            settings, worker=dataclasses.replace(settings.worker, broker_url=broker_url)
        )
        _check_worker(settings.worker)
    return settings


__all__ = ["ConfigError", "Settings", "load_settings", "parse_settings"]
