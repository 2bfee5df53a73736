"""When a review series meets, and when its reminders are due: pure functions, no storage.

A quarterly series keeps the weekday position of its first meeting in the month (the second
Thursday, or the last Thursday when the first meeting was in a month's fifth week) every third
month, at the same wall-clock time in the series' timezone, whatever daylight saving does.
Meetings are identified by their moment in UTC.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reviewbot.core.context import UserError
from reviewbot.store.schema import Recurrence

LAST = -1
MONTHS_APART = 3
MAX_REMINDERS = 6
MAX_OFFSET_MINUTES = 60 * 24 * 60  # 60 days: well inside one quarter
DEFAULT_OFFSETS = (14 * 24 * 60, 24 * 60, 15)
MIN_YEAR, MAX_YEAR = 2000, 2100
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", LAST: "last"}
_OFFSET = re.compile(r"^(\d{1,4})(w|d|h|m)$")
_UNIT_MINUTES = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Pattern:
    """A series: its first meeting's local date and time, its timezone and how it recurs."""

    first: date
    at: time
    zone: str
    recurrence: Recurrence = Recurrence.QUARTERLY

    @property
    def week(self) -> int:
        """Which weekday of the month it keeps: 1 to 4, or ``LAST`` for a fifth-week first date."""
        return week_of(self.first)

    def describe(self) -> str:
        """The pattern in words, e.g. ``the second Thursday of January, April, July and October``."""
        clock = f"{self.at:%H:%M} ({self.zone})"
        if self.recurrence is Recurrence.ONCE:
            return f"once, on {self.first:%A, %B} {self.first.day}, {self.first.year} at {clock}"
        months = sorted({(self.first.month - 1 + MONTHS_APART * k) % 12 + 1 for k in range(4)})
        names = [calendar.month_name[m] for m in months]
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        weekday = calendar.day_name[self.first.weekday()]
        return f"the {_ORDINALS[self.week]} {weekday} of {listed} at {clock}"


def week_of(day: date) -> int:
    """The weekday position of *day* in its month: 1 to 4, or ``LAST`` in the fifth week."""
    week = (day.day - 1) // 7 + 1
    return LAST if week == 5 else week


def weekday_in_month(year: int, month: int, weekday: int, week: int) -> date:
    """The *week*-th (or ``LAST``) *weekday* (Monday is 0) of a month."""
    if week == LAST:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week - 1))


def at_local(day: date, at: time, zone: str) -> datetime:
    """The UTC moment of a wall-clock time in *zone*.

    A time that does not exist (skipped when clocks go forward) is read with the offset before
    the change, so it falls an hour later; an ambiguous one (clocks go back) is the first.
    """
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def occurrences(pattern: Pattern, after: datetime) -> Iterator[datetime]:
    """The series' meetings later than *after*, in order (endless for a quarterly series)."""
    if pattern.recurrence is Recurrence.ONCE:
        moment = at_local(pattern.first, pattern.at, pattern.zone)
        if moment > after:
            yield moment
        return
    local_after = after.astimezone(ZoneInfo(pattern.zone)).date()
    months_between = (local_after.year - pattern.first.year) * 12 + local_after.month - pattern.first.month
    start = max(0, months_between // MONTHS_APART - 1)
    for k in count(start):
        index = pattern.first.month - 1 + MONTHS_APART * k
        year, month = pattern.first.year + index // 12, index % 12 + 1
        day = weekday_in_month(year, month, pattern.first.weekday(), pattern.week)
        moment = at_local(day, pattern.at, pattern.zone)
        if moment > after:
            yield moment


def upcoming(pattern: Pattern, after: datetime, limit: int) -> list[datetime]:
    """The next *limit* meetings after *after*."""
    result = []
    for moment in occurrences(pattern, after):
        if len(result) >= limit:
            break
        result.append(moment)
    return result


# -- reminders -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """The reminder sent *offset* minutes before the meeting at *occurrence*."""

    occurrence: datetime
    offset: int

    @property
    def due_at(self) -> datetime:
        """When it is due."""
        return self.occurrence - timedelta(minutes=self.offset)


def reminders_due(
    meetings: Iterable[datetime], offsets: Sequence[int], since: datetime, now: datetime
) -> list[Reminder]:
    """The reminders of *meetings* due from *since* (when they were set) up to *now*."""
    return [
        reminder
        for occurrence in meetings
        for reminder in (Reminder(occurrence, offset) for offset in offsets)
        if since <= reminder.due_at <= now
    ]


@dataclass(frozen=True)
class Triage:
    """What to do with reminders that are due and not yet handled."""

    send: tuple[Reminder, ...]
    past: tuple[Reminder, ...]
    superseded: tuple[Reminder, ...]


def triage(due: Iterable[Reminder], now: datetime) -> Triage:
    """Send a due reminder if its meeting is still ahead, drop it if the meeting is past.

    When several reminders of one meeting are due at once (the bot was down), only the latest
    one is sent: the others are superseded by it.
    """
    send: dict[datetime, Reminder] = {}
    past, superseded = [], []
    for reminder in sorted(due, key=lambda r: r.due_at):
        if reminder.occurrence <= now:
            past.append(reminder)
            continue
        if (earlier := send.get(reminder.occurrence)) is not None:
            superseded.append(earlier)
        send[reminder.occurrence] = reminder
    return Triage(tuple(send.values()), tuple(past), tuple(superseded))


# -- what people type ------------------------------------------------------------------------------


def parse_offsets(words: Sequence[str]) -> tuple[int, ...]:
    """Parse reminder offsets such as ``14d 1d 15m`` (also ``w`` and ``h``) into minutes,
    largest first; ``none`` or ``off`` for no reminders."""
    if len(words) == 1 and words[0].lower() in ("none", "off"):
        return ()
    if not words:
        raise UserError("Give the reminder times, e.g. `/review schedule remind 14d 1d 15m` (or `none`).")
    minutes = set()
    for word in words:
        match = _OFFSET.match(word.lower().strip(","))
        if match is None:
            raise UserError(
                f"“{word}” is not a reminder time: use a number with `w`, `d`, `h` or `m`, "
                "e.g. `/review schedule remind 14d 1d 15m`."
            )
        value = int(match.group(1)) * _UNIT_MINUTES[match.group(2)]
        if not 1 <= value <= MAX_OFFSET_MINUTES:
            raise UserError(f"Reminders can be from 1 minute to {MAX_OFFSET_MINUTES // 1440} days before.")
        minutes.add(value)
    if len(minutes) > MAX_REMINDERS:
        raise UserError(f"At most {MAX_REMINDERS} reminders per meeting.")
    return tuple(sorted(minutes, reverse=True))


def format_offset(minutes: int) -> str:
    """An offset as typed: ``14d``, ``2h``, ``1h30m``, ``15m``."""
    parts = []
    for unit in ("d", "h", "m"):
        value, minutes = divmod(minutes, _UNIT_MINUTES[unit])
        if value:
            parts.append(f"{value}{unit}")
    return "".join(parts) or "0m"


def offsets_text(offsets: Sequence[int]) -> str:
    """``14d, 1d and 15m before``, or ``none``."""
    if not offsets:
        return "none"
    shown = [format_offset(o) for o in offsets]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return f"{listed} before"


def parse_pattern(words: Sequence[str], default_zone: str) -> Pattern:
    """Parse ``<YYYY-MM-DD> <HH:MM> [<IANA timezone>] [quarterly|once]``."""
    usage = (
        "`/review schedule <YYYY-MM-DD> <HH:MM> [<timezone>] [quarterly|once]`, e.g. "
        "`/review schedule 2016-10-13 08:00 America/Los_Angeles`"
    )
    if len(words) < 2:
        raise UserError(f"Give the first meeting's date and time: {usage}.")
    day = _parse_date(words[0])
    at = _parse_time(words[1])
    zone, recurrence = default_zone, Recurrence.QUARTERLY
    for word in words[2:]:
        if word.lower() in (r.value for r in Recurrence):
            recurrence = Recurrence(word.lower())
        else:
            zone = _parse_zone(word)
    if len(words) > 4:
        raise UserError(f"Too many words. {usage}.")
    return Pattern(first=day, at=at, zone=zone, recurrence=recurrence)


def _parse_date(word: str) -> date:
    match = _DATE.match(word)
    try:
        if match is None:
            raise ValueError
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise UserError(f"“{word}” is not a date: write it as YYYY-MM-DD, e.g. `2016-10-13`.") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise UserError(f"Give a date between {MIN_YEAR} and {MAX_YEAR}.")
    return day


def _parse_time(word: str) -> time:
    match = _TIME.match(word)
    try:
        if match is None:
            raise ValueError
        return time(int(match.group(1)), int(match.group(2)))
    except ValueError:
        raise UserError(f"“{word}” is not a time: write it as HH:MM on a 24-hour clock, e.g. `08:00`.") from None


def _parse_zone(word: str) -> str:
    try:
        ZoneInfo(word)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UserError(
            f"“{word}” is not a timezone: use an IANA name such as `America/Los_Angeles` or `Europe/Berlin`."
        ) from None
    return word
