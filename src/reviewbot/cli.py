"""The ``reviewbot`` command: run the bot, upgrade the database, export and import minutes."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from reviewbot import logs
from reviewbot.config import ConfigError, Settings, load_settings
from reviewbot.core.publishing import WikiError
from reviewbot.store.database import DatabaseUnavailable

log = logging.getLogger("reviewbot")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reviewbot`` console script and of ``bot.py``."""
    parser = argparse.ArgumentParser(prog="reviewbot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (Socket Mode, HTTP or the local console, from the settings)")
    sub.add_parser("console", help="run the local console even if Slack credentials are set")
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="apply every pending migration")
    export = sub.add_parser("export", help="print a past meeting's minutes")
    export.add_argument("meeting", type=int, help="meeting number (see /review history)")
    export.add_argument("--format", choices=["wiki", "markdown"], default="wiki")
    from reviewbot.import_command import add_parser as add_import_parser

    add_import_parser(sub)
    from reviewbot.search_command import add_parser as add_search_parser

    add_search_parser(sub)
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"reviewbot: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    try:
        return _dispatch(args, settings)
    except DatabaseUnavailable as error:
        print(
            f"reviewbot: cannot use the database at {logs.redact(settings.database_url)}: {error}",
            file=sys.stderr,
        )
        return 3
    except WikiError as error:  # the wiki settings are wrong (say, a WIKI_API_URL that is no api.php)
        print(f"reviewbot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from reviewbot.runtime import build_runtime

    command = args.command or "run"
    if command == "db":
        runtime = build_runtime(settings)
        print("database is up to date")
        runtime.close()
        return 0
    if command == "export":
        from reviewbot.core.context import UserError
        from reviewbot.store.schema import MeetingStatus

        runtime = build_runtime(settings)
        try:
            if runtime.meetings.view_by_id(args.meeting).status == MeetingStatus.PLANNED:
                raise UserError(f"Meeting #{args.meeting} has not started yet, so it has no minutes to export.")
            record = runtime.meetings.record(args.meeting)
        except UserError as error:
            print(f"reviewbot: {error}", file=sys.stderr)
            return 1
        sys.stdout.write(runtime.commands.minutes_file(record, args.format).content)
        return 0
    if command == "import":
        from reviewbot.import_command import run_import

        return run_import(args, settings)
    if command == "search":
        from reviewbot.search_command import run_search

        return run_search(args, settings)
    mode = "console" if command == "console" else settings.mode
    if mode == "console":
        return _run_console(settings)
    from reviewbot.slack.server import serve

    return serve(settings)


def _run_console(settings: Settings) -> int:
    from reviewbot.console import BANNER, Console, ConsolePoster, interactive_lines
    from reviewbot.runtime import build_runtime

    runtime = build_runtime(settings)
    log.info("mode: local console (database %s)", logs.redact(settings.database_url))
    console = Console(runtime.commands, publisher=runtime.publisher)
    if sys.stdin.isatty():
        runtime.start_scheduler(ConsolePoster())  # reminders and timebox notices, printed
        print(BANNER)
        console.run(interactive_lines())
    else:
        print(BANNER)
        console.run(sys.stdin, echo=True)
    runtime.close()
    return 0
