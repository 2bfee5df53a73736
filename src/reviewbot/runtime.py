"""Wiring: settings, database and core objects, shared by every way of running the bot."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from reviewbot.config import Settings
from reviewbot.core import Clock
from reviewbot.core.commands import CommandHandler
from reviewbot.core.meetings import Meetings
from reviewbot.core.minutes import Wording
from reviewbot.core.publishing import Publisher, WikiClient
from reviewbot.database import Database

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The objects a running bot is made of."""

    settings: Settings
    db: Database
    meetings: Meetings
    commands: CommandHandler
    publisher: Publisher | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def on_close(self, closer: Callable[[], None]) -> None:
        """Call *closer* (e.g. to drain a queue) when the runtime closes, before the database."""
        self.closers.append(closer)

    def close(self) -> None:
        """Run the closers, then release the database connections."""
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")
        self.closers.clear()
        self.db.dispose()


def build_runtime(
    settings: Settings, clock: Clock | None = None, migrate: bool = True, wiki: WikiClient | None = None
) -> Runtime:
    """Connect to the database (applying migrations) and build the core.

    Publishing is enabled when the wiki settings are complete (or a *wiki* client is given).
    """
    db = Database(settings.database_url, settings.db_timeout_ms)
    if migrate:
        db.upgrade()
    meetings = Meetings(db, settings.timezone, clock)
    wording = Wording(intro=settings.minutes_intro, disclaimer=settings.minutes_disclaimer)
    if wiki is None and settings.wiki_api_url and settings.wiki_username and settings.wiki_password:
        from reviewbot.wiki import MediaWikiClient

        wiki = MediaWikiClient(settings.wiki_api_url, settings.wiki_username, settings.wiki_password)
    publisher = Publisher(db, wiki, settings.wiki_page_title, wording, clock) if wiki is not None else None
    commands = CommandHandler(meetings, wording, settings.wiki_page_title, can_publish=publisher is not None)
    return Runtime(settings=settings, db=db, meetings=meetings, commands=commands, publisher=publisher)
