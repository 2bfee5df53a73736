"""``reviewbot search``: search past minutes from the command line, as ``/review search`` does.

``reviewbot search budget "next quarter" --channel C123 [--all]`` searches as if typed in that
channel (``--all`` adds ``in:all``: every public channel and the archive). Without ``--channel``
it searches as from no channel: only the public channels and the archive. The same query
language, the same privacy rule, the same results (as plain text, a page at a time: ``--offset``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from reviewbot.config import Settings
from reviewbot.core.context import Caller, UserError
from reviewbot.core.search import results_text
from reviewbot.store.schema import Channel


def add_parser(sub: Any) -> None:
    """Add ``search`` to the ``reviewbot`` command's subcommands."""
    search = sub.add_parser("search", help="search past minutes (as /review search does)")
    search.add_argument("words", nargs="+", help='what to find: words, "a phrase", speaker:Name, after:, before:, is:')
    search.add_argument("--channel", help="search as if typed in this channel (its id, e.g. C0123)")
    search.add_argument("--workspace", help="the channel's workspace, when the channel id is in several")
    search.add_argument("--all", action="store_true", help="also every public channel and the archive (in:all)")
    search.add_argument("--offset", type=int, default=0, help="start at this result (10: the second page)")


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    """Print a page of results; 1 (and the reason) for a search that cannot be run."""
    from reviewbot.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        text = " ".join(args.words) + (" in:all" if args.all or not args.channel else "")
        caller = _caller(runtime.db, args.channel, args.workspace)
        results = runtime.commands.search.find(caller, text, max(0, args.offset))
    except UserError as error:
        print(f"reviewbot: {error}", file=sys.stderr)
        return 1
    finally:
        runtime.close()
    print(results_text(replace(results, query=" ".join(args.words))))
    return 0


def _caller(db: Any, channel_id: str | None, workspace_id: str | None) -> Caller:
    """Someone in *channel_id* (found in the database), or nowhere (no channel)."""
    if not channel_id:
        return Caller("", "", "cli", "command line")
    if not workspace_id:
        with db.read() as session:
            workspaces = session.scalars(select(Channel.workspace_id).where(Channel.channel_id == channel_id)).all()
        if len(workspaces) != 1:
            where = "has no meetings" if not workspaces else "is in several workspaces"
            raise UserError(f"Channel {channel_id} {where}: check the id, or give --workspace T0123.")
        workspace_id = workspaces[0]
    return Caller(workspace_id, channel_id, "cli", "command line")
