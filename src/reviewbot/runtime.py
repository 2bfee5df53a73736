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


def build_runtime(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> Runtime:
    """Connect to the database (applying migrations) and build the core."""
    db = Database(settings.database_url)
    if migrate:
        db.upgrade()
    clock = clock or SystemClock()
    meetings = Meetings(db, settings.timezone, clock)
    schedules = Schedules(meetings, clock)
    wording = Wording(intro=settings.minutes_intro, disclaimer=settings.minutes_disclaimer)
    commands = CommandHandler(
        meetings,
        wording,
        settings.wiki_page_title,
        schedules=schedules,
        action_items=Actions(meetings, clock),
        fiscal_year_start_month=settings.fiscal_year_start_month,
    )
    notices = Notices(meetings, schedules, clock, fiscal_year_start_month=settings.fiscal_year_start_month)
    return Runtime(
        settings=settings, db=db, meetings=meetings, commands=commands, schedules=schedules, notices=notices
    )
