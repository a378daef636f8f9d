"""`python -m bot`: the command line. Every subcommand takes --config PATH."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.logs import import_keras_quietly

if TYPE_CHECKING:
    from bot.services.konomi import KonomiService

NO_TOKEN = """\
konomi needs a Discord bot token to start, and none was given.

Create an application and its bot at https://discord.com/developers/applications
(Bot -> Reset Token), invite it with the applications.commands and bot scopes,
then either export it for this shell:

    export DISCORD_TOKEN=your-token

or put it in config.toml under [discord] as token = "your-token" (keep that
file private). The environment variable wins over the file."""


def _add_config(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Subcommands leave it unset unless given, so `--config` works on either side.
    parser.add_argument(
        "--config",
        type=Path,
        default=None if top else argparse.SUPPRESS,
        metavar="PATH",
        help="config file (default: $KONOMI_CONFIG, else ./config.toml, else the defaults)",
    )


def _id_argument(text: str) -> int:
    """--guild and --user: Discord ids, checked before anything else runs."""
    from bot.services.vote_import import snowflake

    try:
        return snowflake(text, what="")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _preflight(settings: Settings, cascade: bool = False) -> None:
    """Fail at once, with one line, on what would otherwise fail later: the database
    (raises DatabaseUnusable) and, where faces are searched, the cascade file."""
    from bot.services import check_database

    asyncio.run(check_database(settings))
    if cascade:
        from bot.services.imaging import ImageHelpers
        from model.faces import check_cascade

        try:
            check_cascade(ImageHelpers.for_settings(settings).detector)
        except (OSError, ValueError) as error:
            raise ConfigError(f"faces.cascade: {error}") from None


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.discord.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.discord_adapter.app import run_bot

    return run_bot(settings, _config_path(args))


def _config_path(args: argparse.Namespace) -> Path | None:
    """The config file in use (for the worker process), or None on the embedded defaults."""
    from bot.config import DEFAULT_CONFIG_PATH

    path = getattr(args, "config", None) or DEFAULT_CONFIG_PATH
    return Path(path).resolve() if Path(path).is_file() else None


def _cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.discord.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.discord_adapter.app import run_bot

    return run_bot(settings, _config_path(args), sync_only=True)


def _service_call(settings: Settings, operation: Callable[[KonomiService], Awaitable[int]]) -> int:
    """Open the service, await `operation(service)` (its exit status), close the service.
    A refusal (UserError) is printed with the command line's advice."""
    from bot.i18n import COMMAND_LINE
    from bot.services import DatabaseBusy, UserError, busy_message, is_busy
    from bot.services.konomi import KonomiService

    async def go() -> int:
        service = await KonomiService.open(settings)
        try:
            return await operation(service)
        except UserError as error:
            print(error.render(COMMAND_LINE), file=sys.stderr)
            return 1
        except sqlite3.OperationalError as error:  # a lock held past the wait, mid-command
            if not is_busy(error):
                raise
            waited = settings.storage.busy_timeout_s
            raise DatabaseBusy(busy_message(settings.database_path, waited)) from None
        finally:
            await service.close()

    return asyncio.run(go())


def _cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    async def ingest(service: KonomiService) -> int:
        summary = await service.pool.add_paths(
            args.guild, [Path(p) for p in args.paths], args.every, progress=not args.quiet
        )
        print("\n".join(summary.lines()))
        return 0

    return _service_call(settings, ingest)


def _cmd_pool(settings: Settings, args: argparse.Namespace) -> int:
    async def curate(service: KonomiService) -> int:
        if args.action == "list" and args.json:
            faces = await service.pool.faces(args.guild)
            listed = [
                {"id": f.id, "origin": f.origin, "box": f.box, "hidden": f.hidden} for f in faces
            ]
            print(json.dumps({"guild": args.guild, "faces": listed}, indent=2))
            return 0
        if args.action == "list":
            faces = await service.pool.faces(args.guild)
            for face in faces:
                flag = " hidden" if face.hidden else ""
                print(f"{face.id}\t{face.origin}\tbox={face.box}{flag}")
            print(f"{len(faces)} faces in guild {args.guild}")
            return 0
        if args.face is None:
            print(f"pool {args.action} needs a face id", file=sys.stderr)
            return 2
        if args.action == "remove":
            await service.pool.remove_face(args.guild, args.face)
        else:
            await service.pool.set_hidden(args.guild, args.face, args.action == "hide")
        print(f"face {args.face}: {args.action} done")
        if args.action == "remove":
            print(f"guild {args.guild}: its model will be retrained without that face")
        return 0

    return _service_call(settings, curate)


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.worker import run_worker

    setup_logging(settings.logging.level, settings.secrets)
    if asyncio.run(run_worker(settings)):
        # A fresh process in this one's place: same pid (the bot's handle and the jobs
        # table stay right), none of the memory the models before it left behind.
        sys.stdout.flush()
        sys.stderr.flush()
        config = getattr(args, "config", None)
        again = ["worker", *(["--config", str(config)] if config else [])]
        os.execv(sys.executable, [sys.executable, "-m", "bot", *again])
    return 0


STARTUP_ALLOWANCE_S = 120.0  # from start to the first heartbeat, at most


def _cmd_health(settings: Settings, args: argparse.Namespace) -> int:
    """0 while the running bot's gateway is connected (its heartbeat file is fresh); it
    reads only that file, never the database, so it answers at once even when the
    database is busy."""
    path, allowed = settings.heartbeat_path, 3 * settings.discord.heartbeat_interval_s
    try:
        age = time.time() - path.stat().st_mtime
        state = path.read_text(encoding="utf-8", errors="replace").split(" ")[0]
    except FileNotFoundError:
        print(f"unhealthy: no heartbeat file {path} (the bot is not running, or not connected)")
        return 1
    if state == "starting":
        if age <= STARTUP_ALLOWANCE_S:
            print(f"starting: konomi started {age:.0f} s ago and is connecting to Discord")
        else:
            print(f"unhealthy: konomi started {age:.0f} s ago and has not connected to Discord")
        return 1
    if age > allowed:
        print(f"unhealthy: the last heartbeat is {age:.0f} s old (allowed {allowed:.0f} s)")
        return 1
    print(f"healthy: heartbeat {age:.0f} s ago")
    return 0


def _cmd_faces(settings: Settings, args: argparse.Namespace) -> int:
    if settings.model.descriptor_size == 0:
        print("nothing to describe: the model uses no descriptor ([model] descriptor_size = 0)")
        return 0

    async def describe(service: KonomiService) -> int:
        described, refused = await service.pool.describe_missing(
            args.guild, progress=not args.quiet
        )
        print(
            f"faces described: {described}; refused by the descriptor: {refused} "
            "(they keep scoring without it)"
        )
        return 0

    return _service_call(settings, describe)


def _cmd_votes(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.vote_import import read_vote_file

    async def import_votes(service: KonomiService) -> int:
        result = await service.voting.import_votes(
            args.guild, read_vote_file(Path(args.file)), args.user
        )
        print(
            f"imported {result.stored} new votes into guild {args.guild}"
            + (f" ({result.already_stored} already stored)" if result.already_stored else "")
        )
        return 0

    return _service_call(settings, import_votes)


def _cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    async def train(service: KonomiService) -> int:
        with tqdm(total=settings.training.max_epochs, desc="train", unit="epoch") as bar:

            def progress(epoch: int, total: int, loss: float | None) -> None:
                if epoch == 1:
                    bar.reset(total)
                bar.n = epoch
                bar.set_postfix(held_out_loss=f"{loss:.3f}" if loss is not None else "-")
                bar.refresh()

            model = await service.training.train_now(args.guild, args.user, progress)
        who = f"user {args.user}" if args.user else "the guild"
        print(f"model v{model.version} for {who} in guild {args.guild}")
        print(json.dumps(model.metrics, indent=2))
        return 0

    return _service_call(settings, train)


def _cmd_rank(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.ingest import read_local_file
    from model.images import ImageError

    async def rank(service: KonomiService) -> int:
        files, problems = [], []
        for name in args.files:
            try:
                files.append((name, read_local_file(Path(name), settings.images)))
            except ImageError as error:
                problems.append((name, str(error)))
        ranked = await service.ranking.rank_files(args.guild, args.user, files, problems)
        if args.json:
            print(json.dumps(ranked.to_json(), indent=2))
            return 0
        for name, reason in ranked.problems:
            print(f"{name}: skipped: {reason}")
        print(f"ranked by the {'personal' if ranked.personal else 'guild'} model v{ranked.version}")
        for place, (upload, score, chance) in enumerate(
            zip(ranked.uploads, ranked.scores, ranked.beats_median, strict=True), 1
        ):
            note = "" if upload.face_found else " (no face found: whole image)"
            print(f"{place:>2}. {score:+.3f}  P(beats median)={chance:.2f}  {upload.name}{note}")
        return 0

    return _service_call(settings, rank)


def _cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    async def purge(service: KonomiService) -> int:
        faces = await service.pool.purge(args.guild)
        print(f"guild {args.guild}: deleted its pool ({faces} faces), votes, models and jobs")
        return 0

    return _service_call(settings, purge)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="konomi: a Discord bot that learns your taste in faces."
    )
    _add_config(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the Discord bot (and the local worker)")
    _add_config(run)
    run.set_defaults(handler=_cmd_run)

    ingest = commands.add_parser("ingest", help="add faces from local images, folders and videos")
    _add_config(ingest)
    ingest.add_argument("--guild", type=_id_argument, required=True, help="the guild (server) id")
    ingest.add_argument(
        "--every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between sampled video frames (default from config)",
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.add_argument("paths", nargs="+", help="image files, folders (recursive) or video files")
    ingest.set_defaults(handler=_cmd_ingest)

    pool_cmd = commands.add_parser("pool", help="list, hide, unhide or remove faces of a pool")
    _add_config(pool_cmd)
    pool_cmd.add_argument("action", choices=["list", "hide", "unhide", "remove"])
    pool_cmd.add_argument("face", type=int, nargs="?", help="face id (not for list)")
    pool_cmd.add_argument("--guild", type=_id_argument, required=True)
    pool_cmd.add_argument("--json", action="store_true", help="list: the faces as JSON")
    pool_cmd.set_defaults(handler=_cmd_pool)

    purge = commands.add_parser("purge", help="delete everything konomi holds for a guild, now")
    _add_config(purge)
    purge.add_argument("--guild", type=_id_argument, required=True)
    purge.set_defaults(handler=_cmd_purge)

    sync = commands.add_parser("sync", help="sync the slash commands with Discord now")
    _add_config(sync)
    sync.set_defaults(handler=_cmd_sync)

    worker = commands.add_parser("worker", help="run the training worker alone")
    _add_config(worker)
    worker.set_defaults(handler=_cmd_worker)

    health = commands.add_parser(
        "health", help="exit 0 while the running bot is connected to Discord (HEALTHCHECK)"
    )
    _add_config(health)
    health.set_defaults(handler=_cmd_health)

    faces = commands.add_parser(
        "faces",
        help="compute the descriptors and expression features of faces stored without them"
        " (resumable)",
    )
    _add_config(faces)
    faces.add_argument("action", choices=["describe"])
    faces.add_argument("--guild", type=_id_argument, default=None, help="one guild (default: all)")
    faces.add_argument("--quiet", action="store_true", help="no progress bar")
    faces.set_defaults(handler=_cmd_faces)

    votes_cmd = commands.add_parser("votes", help="import votes from a CSV file")
    _add_config(votes_cmd)
    votes_cmd.add_argument("action", choices=["import"])
    votes_cmd.add_argument(
        "file", help="CSV: face_a, face_b, outcome (1 A, 0 B, 0.5 tie), voted_at, user_id"
    )
    votes_cmd.add_argument("--guild", type=_id_argument, required=True)
    votes_cmd.add_argument(
        "--user", type=_id_argument, default=None, help="the member, for a file without user_id"
    )
    votes_cmd.set_defaults(handler=_cmd_votes)

    train = commands.add_parser("train", help="train a model now, in the foreground")
    _add_config(train)
    train.add_argument("--guild", type=_id_argument, required=True)
    train.add_argument(
        "--user", type=_id_argument, default=None, help="a person (default: the guild model)"
    )
    train.set_defaults(handler=_cmd_train)

    rank = commands.add_parser(
        "rank", help="order image files by a person's (or the guild's) taste"
    )
    _add_config(rank)
    rank.add_argument("--guild", type=_id_argument, required=True)
    rank.add_argument("--user", type=_id_argument, default=None)
    rank.add_argument("--json", action="store_true", help="the ranking as JSON, for scripts")
    rank.add_argument("files", nargs="+")
    rank.set_defaults(handler=_cmd_rank)
    return parser


# Subcommands that load a model first; the others never import Keras (or TensorFlow), and
# `run` loads it beside its start (KonomiBot.models_ready).
NEEDS_KERAS = (_cmd_worker, _cmd_train, _cmd_rank)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    parser = build_parser()
    args = parser.parse_args(argv)
    from bot.services import DatabaseBusy, DatabaseUnusable

    try:
        settings = load_settings(args.config)
        if args.handler is not _cmd_health:  # health reads its file, not the database
            _preflight(settings, cascade=args.handler in (_cmd_run, _cmd_ingest, _cmd_rank))
        if args.handler in NEEDS_KERAS:
            import_keras_quietly()
        return int(args.handler(settings, args) or 0)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except DatabaseBusy as error:
        print(f"database busy: {error}", file=sys.stderr)
        return 3
    except DatabaseUnusable as error:
        print(f"database error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
