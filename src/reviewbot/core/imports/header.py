"""The top of a minutes page: the intro line's title, date and times, the attendance, the slides.

Pure functions over wikitext lines, used by :mod:`reviewbot.core.imports.reader`. The bot's own
lines (``Wording``: the intro template, ``'''Present (in the office)''': ...``) are read exactly;
the lines people wrote by hand on older pages (``Present: A, B``, ``January 17, 2014, 9:30 AM -
11:00 AM PST``) as well as they can be. A year the intro line does not give comes from the page
title, or else from the page's first revision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import mwparserfromhell

from reviewbot.core.minutes import Wording
from reviewbot.wikitext import plain

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>(?:19|20)\d\d)\b)?",
    re.IGNORECASE,
)
_MERIDIEM = r"(?i:[ap]\.?m\.?)"
_TIMES = re.compile(
    rf"(?P<h1>\d{{1,2}})(?::(?P<m1>\d\d))?\s*(?P<ap1>{_MERIDIEM})?\s*(?:-|–|—|to)\s*"
    rf"(?P<h2>\d{{1,2}})(?::(?P<m2>\d\d))?\s*(?P<ap2>{_MERIDIEM})?(?:\s+(?P<tz>[A-Z]{{2,5}})\b)?"
)
_NAMED = re.compile(r"\b(?:meeting|review) with (?P<title>.+?),?\s*$", re.IGNORECASE)
_FISCAL = re.compile(r"\b((?:19|20)\d\d)[-/–](\d\d)\b")
FISCAL_START_MONTH = 7
"""The first month of a fiscal year written ``2014-15`` in a page title (the Foundation's: July)."""
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
_ZONES = {
    "PT": "America/Los_Angeles", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "MT": "America/Denver", "MST": "America/Denver", "MDT": "America/Denver",
    "CT": "America/Chicago", "CST": "America/Chicago", "CDT": "America/Chicago",
    "ET": "America/New_York", "EST": "America/New_York", "EDT": "America/New_York",
    "UTC": "UTC", "GMT": "UTC", "CET": "Europe/Berlin", "CEST": "Europe/Berlin", "BST": "Europe/London",
}  # fmt: skip
_LOOSE_PRESENT = re.compile(
    r"^\W*(?:present|attendees|attending|participants|in attendance)\b[^:]{0,40}:\W*(?P<names>.*)$", re.IGNORECASE
)
_LOOSE_REMOTE = re.compile(
    r"[;.]?\W*(?:participating remotely|remote(?:ly)?(?: participants)?|via video|on the call)\W*:\W*", re.IGNORECASE
)


@dataclass(frozen=True)
class Intro:
    """When the intro line says the meeting was: start and end, and the timezone (the title is
    :func:`find_intro`'s)."""

    timezone: str
    started_at: datetime | None
    ended_at: datetime | None


def _template_pattern(wording: Wording) -> re.Pattern[str]:
    fields = {
        "title": r"(?P<title>.+)",
        "date": r"(?P<date>[A-Z][a-z]+ \d{1,2})",
        "start": r"(?P<start>\d{1,2}:\d\d(?: [AP]M)?)",
        "end": r"(?P<end>\d{1,2}:\d\d [AP]M)",
        "tz": r"(?P<tz>[A-Z]{2,5})",
        "month": r"[A-Z][a-z]+",
        "year": r"(?P<year>\d{4})",
    }
    parts = re.split(r"(\{\w+\})", wording.intro)
    pattern = "".join(fields.get(p[1:-1], re.escape(p)) if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


def find_intro(lines: list[str], wording: Wording) -> tuple[int, str | None] | None:
    """The index of the intro line among *lines* and the title it names (None for a line that
    only dates the meeting), or None when no line does."""
    template = _template_pattern(wording)
    for index, line in enumerate(lines):
        if match := template.match(line.strip()):
            return index, match.group("title")
    for index, line in enumerate(lines):
        if found := _DATE.search(plain(line)):
            named = _NAMED.search(plain(line)[: found.start()])
            return index, named.group("title") if named else None
    return None


def _hour(hour: int, meridiem: str | None) -> int:
    if not meridiem:
        return hour
    return hour % 12 + (12 if meridiem[0].lower() == "p" else 0)


def year_for(month: int, day: int, titles: list[str], first_edited: datetime | None, today: date) -> int:
    """The year of a meeting on *month*/*day*: from a title, else the page's creation, else today.

    A page is usually written on the day of its meeting or soon after, so a date that would fall
    more than a month after the page's creation is taken to be of the year before.
    """
    for title in titles:
        fiscal = _FISCAL.search(title)  # "Q3 2014-15": a fiscal year from July to June
        if fiscal and int(fiscal.group(2)) == (int(fiscal.group(1)) + 1) % 100:
            return int(fiscal.group(1)) + (month < FISCAL_START_MONTH)
        if match := _YEAR.search(title):
            return int(match.group(1))
    anchor = first_edited.date() if first_edited else today
    year = anchor.year
    try:
        if date(year, month, day) > anchor + timedelta(days=31):
            year -= 1
    except ValueError:
        pass
    return year


def read_intro(line: str, titles: list[str], first_edited: datetime | None, timezone: str, today: date) -> Intro:
    """The date, times and timezone of an intro line such as ``..., July 14, 8:00 - 9:30 AM PT.``"""
    text = plain(line)
    found = _DATE.search(text)
    if found is None:
        return Intro(timezone, None, None)
    month, day = _MONTHS[found.group("month").lower()], int(found.group("day"))
    year = int(found.group("year")) if found.group("year") else year_for(month, day, titles, first_edited, today)
    times = _TIMES.search(text, found.end())
    zone_name = _ZONES.get(times.group("tz") or "", timezone) if times else timezone
    zone = ZoneInfo(zone_name)
    try:
        day_start = datetime(year, month, day, tzinfo=zone)
    except ValueError:
        return Intro(zone_name, None, None)
    if times is None or not (times.group("m2") or times.group("ap2")):
        return Intro(zone_name, day_start, day_start)
    ap1, ap2 = times.group("ap1"), times.group("ap2")
    h1, h2 = int(times.group("h1")), int(times.group("h2"))
    start_hour, end_hour = _hour(h1, ap1 or ap2), _hour(h2, ap2 or ap1)
    m1, m2 = int(times.group("m1") or 0), int(times.group("m2") or 0)
    if not ap1 and ap2 and (start_hour, m1) > (end_hour, m2):
        start_hour = _hour(h1, "am")  # "11:30 - 1:00 PM"
    if start_hour > 23 or end_hour > 23 or m1 > 59 or m2 > 59:
        return Intro(zone_name, day_start, day_start)
    start = datetime.combine(day_start.date(), time(start_hour, m1), tzinfo=zone)
    end = datetime.combine(day_start.date(), time(end_hour, m2), tzinfo=zone)
    if end < start:
        end += timedelta(days=1)
    return Intro(zone_name, start, end)


def title_from_page(page_title: str) -> str:
    """A meeting title from a page title: its last part, less a closing ``, July 2016``."""
    last = page_title.rsplit("/", 1)[-1].replace("_", " ").strip()
    last = re.sub(rf",?\s*(?:(?:{_MONTH})\.?\s+)?(?:Q[1-4]\s+)?(?:19|20)\d\d\s*$", "", last, flags=re.IGNORECASE)
    return last.strip(" ,") or page_title


@dataclass(frozen=True)
class Attendance:
    """The two attendance lists, as names in plain text."""

    present: tuple[str, ...]
    remote: tuple[str, ...]


def _names(text: str) -> tuple[str, ...]:
    names = (plain(part).strip(" .;") for part in re.split(r",|\band\b(?![^\[]*\]\])", text))
    return tuple(name for name in names if name and len(name) <= 100)


def read_attendance(line: str, wording: Wording) -> Attendance | None:
    """The attendance a line gives, or None when it is no attendance line."""
    present, remote = re.escape(wording.present_label), re.escape(wording.remote_label)
    exact = re.match(rf"^'''{present}''': (?P<p>.*?)(?:; '''{remote}''': (?P<r>.*))?$", line)
    if exact is None:
        exact = re.match(rf"^(?P<p>)'''{remote}''': (?P<r>.*)$", line)
    if exact is not None:
        return Attendance(_names(exact.group("p")), _names(exact.group("r") or ""))
    loose = _LOOSE_PRESENT.match(plain(line))
    if loose is None:
        return None
    parts = _LOOSE_REMOTE.split(loose.group("names"), maxsplit=1)
    return Attendance(_names(parts[0]), _names(parts[1] if len(parts) > 1 else ""))


def read_slides(line: str) -> str | None:
    """The address of the slides, when *line* links to them."""
    if "slide" not in line.lower():
        return None
    links = mwparserfromhell.parse(line).filter_external_links()
    return str(links[0].url) if links else None
