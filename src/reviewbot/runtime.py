"""Wiring: settings, database and core objects, shared by every way of running the bot."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from reviewbot.config import Settings
from reviewbot.core import Clock, Poster, SystemClock
from reviewbot.core.action_items import Actions
from reviewbot.core.commands import CommandHandler
from reviewbot.core.meetings import Meetings
from reviewbot.core.minutes import Wording
from reviewbot.core.notices import Notices
from reviewbot.core.publishing import Publisher, WikiClient, WikiError
from reviewbot.core.schedules import Schedules
from reviewbot.core.wiki_pages import WikiReader
from reviewbot.scheduling import Scheduler
from reviewbot.store.database import Database

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The objects a running bot is made of."""

    settings: Settings
    db: Database
    meetings: Meetings
    commands: CommandHandler
    schedules: Schedules
    notices: Notices
    publisher: Publisher | None = None
    scheduler: Scheduler | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def on_close(self, closer: Callable[[], None]) -> None:
        """Call *closer* (e.g. to drain a queue) when the runtime closes, before the database."""
        self.closers.append(closer)

    def start_scheduler(self, poster: Poster) -> Scheduler | None:
        """Take part in the election of the process that posts reminders and timebox notices
        with *poster*; stopped (before anything registered earlier) when the runtime closes."""
        if self.settings.scheduler_interval <= 0:
            log.info("scheduler off in this process (REVIEWBOT_SCHEDULER_INTERVAL=0)")
            return None
        scheduler = Scheduler(self.db, lambda: self.notices.sweep(poster), interval=self.settings.scheduler_interval)
        self.scheduler = scheduler
        self.on_close(scheduler.stop)
        scheduler.start()
        return scheduler

    def close(self) -> None:
        """Run the closers (the last registered first), then release the database connections."""
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")
        self.closers.clear()
        self.db.dispose()


def build_runtime(
    settings: Settings,
    clock: Clock | None = None,
    migrate: bool = True,
    wiki: WikiClient | None = None,
    wiki_reader: WikiReader | None = None,
) -> Runtime:
    """Connect to the database (applying migrations) and build the core.

    Publishing is enabled when the wiki settings are complete (or a *wiki* client is given);
    reading wiki pages (``/review agenda import``) when a *wiki_reader* is given, or the wiki
    client can also read pages, or ``WIKI_API_URL`` alone is set (a public wiki is read without login).
    """
    db = Database(settings.database_url, settings.db_timeout_ms)
    if migrate:
        db.upgrade()
    clock = clock or SystemClock()
    meetings = Meetings(db, settings.timezone, clock)
    schedules = Schedules(db, clock)
    wording = Wording(intro=settings.minutes_intro, disclaimer=settings.minutes_disclaimer)
    if wiki is None and settings.wiki_api_url and settings.wiki_username and settings.wiki_password:
        from reviewbot.wiki import MediaWikiClient

        wiki = MediaWikiClient(settings.wiki_api_url, settings.wiki_username, settings.wiki_password)
    publisher = Publisher(db, wiki, settings.wiki_page_title, wording, clock) if wiki is not None else None
    if wiki_reader is None and hasattr(wiki, "read_page"):
        wiki_reader = cast(WikiReader, wiki)
    elif wiki_reader is None and settings.wiki_api_url:  # reading needs no login
        from reviewbot.wiki import MediaWikiClient

        try:
            wiki_reader = MediaWikiClient(
                settings.wiki_api_url, settings.wiki_username or "", settings.wiki_password or ""
            )
        except WikiError as error:
            log.warning("wiki pages cannot be read: %s", error)
    commands = CommandHandler(
        meetings,
        wording,
        settings.wiki_page_title,
        can_publish=publisher is not None,
        schedules=schedules,
        action_items=Actions(db, clock),
        fiscal_year_start_month=settings.fiscal_year_start_month,
        wiki_reader=wiki_reader,
    )
    notices = Notices(db, schedules, clock, fiscal_year_start_month=settings.fiscal_year_start_month)
    return Runtime(
        settings=settings,
        db=db,
        meetings=meetings,
        commands=commands,
        schedules=schedules,
        notices=notices,
        publisher=publisher,
    )
