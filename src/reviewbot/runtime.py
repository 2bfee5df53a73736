"""Wiring: settings, database and core objects, shared by every way of running the bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from reviewbot.config import Settings
from reviewbot.core import Clock, Poster, SystemClock
from reviewbot.core.actions import Actions
from reviewbot.core.commands import CommandHandler
from reviewbot.core.meetings import Meetings
from reviewbot.core.minutes import Wording
from reviewbot.core.notices import Notices
from reviewbot.core.publishing import Publisher, WikiClient
from reviewbot.core.schedules import Schedules
from reviewbot.database import Database
from reviewbot.scheduling import Scheduler

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

    def start_scheduler(self, poster: Poster) -> Scheduler | None:
        """Take part in the election of the process that posts reminders and timebox notices."""
        if self.settings.scheduler_interval <= 0:
            log.info("scheduler off in this process (REVIEWBOT_SCHEDULER_INTERVAL=0)")
            return None
        self.scheduler = Scheduler(
            self.db, lambda: self.notices.sweep(poster), interval=self.settings.scheduler_interval
        )
        self.scheduler.start()
        return self.scheduler

    def close(self) -> None:
        """Stop the scheduler and release the database connections."""
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        self.db.dispose()


def build_runtime(
    settings: Settings, clock: Clock | None = None, migrate: bool = True, wiki: WikiClient | None = None
) -> Runtime:
    """Connect to the database (applying migrations) and build the core.

    Publishing is enabled when the wiki settings are complete (or a *wiki* client is given).
    """
    db = Database(settings.database_url)
    if migrate:
        db.upgrade()
    clock = clock or SystemClock()
    meetings = Meetings(db, settings.timezone, clock)
    schedules = Schedules(meetings, clock)
    wording = Wording(intro=settings.minutes_intro, disclaimer=settings.minutes_disclaimer)
    if wiki is None and settings.wiki_api_url and settings.wiki_username and settings.wiki_password:
        from reviewbot.wiki import MediaWikiClient

        wiki = MediaWikiClient(settings.wiki_api_url, settings.wiki_username, settings.wiki_password)
    publisher = Publisher(db, wiki, settings.wiki_page_title, wording, clock) if wiki is not None else None
    commands = CommandHandler(
        meetings,
        wording,
        settings.wiki_page_title,
        can_publish=publisher is not None,
        schedules=schedules,
        action_items=Actions(meetings, clock),
        fiscal_year_start_month=settings.fiscal_year_start_month,
    )
    notices = Notices(meetings, schedules, clock, fiscal_year_start_month=settings.fiscal_year_start_month)
    return Runtime(
        settings=settings,
        db=db,
        meetings=meetings,
        commands=commands,
        schedules=schedules,
        notices=notices,
        publisher=publisher,
    )
