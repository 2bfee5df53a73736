"""``/review schedule``: setting, showing, skipping and cancelling a channel's review series.

Split from :mod:`reviewbot.core.commands` as the one command with verbs of its own; the series
itself is kept by :mod:`reviewbot.core.schedules`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from reviewbot.core import fiscal, recurrence
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.core.replies import Mark, Moment, Reply, Visibility
from reviewbot.core.schedules import NO_SERIES, Schedules, SeriesView


def _private(text: str) -> Reply:
    return Reply(text, Visibility.PRIVATE)


class ScheduleCommands:
    """The ``/review schedule`` verbs, each answered with a :class:`Reply`."""

    def __init__(self, schedules: Schedules, clock: Clock, timezone: str, fiscal_year_start_month: int = 7) -> None:
        self.schedules = schedules
        self.clock = clock
        self.timezone = timezone
        self.fiscal_year_start_month = fiscal_year_start_month

    def schedule(self, caller: Caller, text: str) -> Reply:
        """``/review schedule [<date> <time> [<timezone>] [quarterly|once] | list | skip | unskip |
        cancel | remind <offsets>]``: the channel's review series."""
        words = text.split()
        verb = words[0].lower() if words else "list"
        now = self.clock.now()
        marks: list[Mark] = []  # the moments written in the reply
        if verb in ("list", "show"):
            series = self.schedules.current(caller)
            if series is None:
                raise UserError(NO_SERIES)
            return Reply(self.format_schedule(series, now, marks), marks=tuple(marks))
        if verb == "cancel":
            series = self.schedules.cancel(caller)
            return Reply(
                f"🗓️ *Review schedule cancelled*: {series.pattern.describe()}. No more reminders from it.",
                Visibility.CHANNEL,
            )
        if verb == "skip":
            series, skipped = self.schedules.skip(caller)
            upcoming = series.next_meeting(now)
            day = self._moment(series, skipped, marks)
            after = f" The next one is {self._when(series, upcoming, marks)}." if upcoming else " No meeting is left."
            return Reply(f"🗓️ The review on {day} is *skipped*.{after}", Visibility.CHANNEL, marks=tuple(marks))
        if verb in ("unskip", "restore"):
            series, restored = self.schedules.unskip(caller)
            when = self._when(series, restored, marks)
            return Reply(f"🗓️ The review on {when} is *back on*.", Visibility.CHANNEL, marks=tuple(marks))
        if verb in ("remind", "reminders", "reminder"):
            series = self.schedules.set_reminders(caller, recurrence.parse_offsets(words[1:]))
            return Reply(
                f"🔔 Reminders of the reviews here: {recurrence.offsets_text(series.offsets)}.", Visibility.CHANNEL
            )
        if not verb[:1].isdigit():
            raise UserError(
                "Use `/review schedule <YYYY-MM-DD> <HH:MM> [<timezone>] [quarterly|once]`, "
                "`/review schedule` to see it, or `skip`, `unskip`, `cancel`, `remind 14d 1d 15m`."
            )
        series = self.schedules.set(caller, recurrence.parse_pattern(words, self.timezone))
        upcoming = series.next_meeting(now)
        return Reply(
            f"🗓️ *Review schedule set*: {series.pattern.describe()}.\n"
            f"Next: {self._when(series, upcoming, marks)}. "
            f"Reminders {recurrence.offsets_text(series.offsets)} (`/review schedule remind` changes them).",
            Visibility.CHANNEL,
            marks=tuple(marks),
        )

    def format_schedule(self, series: SeriesView, now: datetime, marks: list[Mark]) -> str:
        """The series, its next meetings, and the reminders before the next one (the moments
        written are added to *marks*)."""
        count = 1 if series.pattern.recurrence is recurrence.Recurrence.ONCE else 4
        lines = [f"*Review schedule*: {series.pattern.describe()}.", "*Next meetings*"]
        for moment, skipped in series.upcoming(now, count):
            state = "_skipped_" if skipped else f"reviews {self._quarter(series, moment)}"
            lines.append(f"• {self._moment(series, moment, marks)}: {state}")
        upcoming = series.next_meeting(now)
        if upcoming is None:
            lines.append("No meeting is ahead.")
        elif not series.offsets:
            lines.append("No reminders (`/review schedule remind 14d 1d 15m` sets them).")
        else:
            lines.append("*Reminders before the next meeting*")
            for offset in series.offsets:
                due = recurrence.Reminder(upcoming, offset).due_at
                state = "" if due > now else " _(past)_"
                lines.append(f"• {recurrence.format_offset(offset)} before: {self._moment(series, due, marks)}{state}")
        return "\n".join(lines)

    def _quarter(self, series: SeriesView, moment: datetime) -> str:
        local_day = moment.astimezone(ZoneInfo(series.pattern.zone)).date()
        return fiscal.quarter_under_review(local_day, self.fiscal_year_start_month).label

    @staticmethod
    def _moment(series: SeriesView, moment: datetime, marks: list[Mark]) -> Moment:
        """*moment* in the series' timezone, added to *marks*."""
        shown = Moment(moment, series.pattern.zone)
        marks.append(shown)
        return shown

    def _when(self, series: SeriesView, moment: datetime | None, marks: list[Mark]) -> str:
        if moment is None:
            return "none"
        return f"{self._moment(series, moment, marks)}, reviewing {self._quarter(series, moment)}"
