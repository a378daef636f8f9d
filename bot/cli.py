"""`python -m bot`: the command line. Every subcommand takes --config PATH."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings

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
        help="config file (default: ./config.toml, or the embedded defaults without one)",
    )


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.discord.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.app import run_bot

    return run_bot(settings)


def _cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ingest import ingest_paths
    from bot.settings_bridge import detector_settings, image_limits
    from storage import open_database

    async def go() -> int:
        db = await open_database(settings.database_path)
        try:
            summary = await ingest_paths(
                db,
                args.guild,
                [Path(p) for p in args.paths],
                detector=detector_settings(settings),
                limits=image_limits(settings),
                video_interval_s=args.every or settings.ingest.video_frame_interval_s,
                near_duplicate_distance=settings.ingest.near_duplicate_distance,
                progress=not args.quiet,
            )
        finally:
            await db.close()
        print("\n".join(summary.lines()))
        return 0

    return asyncio.run(go())


def _cmd_pool(settings: Settings, args: argparse.Namespace) -> int:
    from storage import open_database, pool

    async def go() -> int:
        db = await open_database(settings.database_path)
        try:
            if args.action == "list":
                faces = await pool.list_faces(db, args.guild, include_hidden=True)
                for face in faces:
                    flag = " hidden" if face.hidden else ""
                    print(f"{face.id}\t{face.origin}\tbox={face.box}{flag}")
                print(f"{len(faces)} faces in guild {args.guild}")
                return 0
            if args.face is None:
                print(f"pool {args.action} needs a face id", file=sys.stderr)
                return 2
            if args.action == "remove":
                done = await pool.delete_face(db, args.guild, args.face)
            else:
                done = await pool.set_hidden(db, args.guild, args.face, args.action == "hide")
            if not done:
                print(f"no face {args.face} in guild {args.guild}", file=sys.stderr)
                return 1
            print(f"face {args.face}: {args.action} done")
            return 0
        finally:
            await db.close()

    return asyncio.run(go())


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
    ingest.add_argument("--guild", type=int, required=True, help="the guild (server) id")
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
    pool_cmd.add_argument("--guild", type=int, required=True)
    pool_cmd.set_defaults(handler=_cmd_pool)

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(settings, args) or 0)
    except KeyboardInterrupt:
        return 130
