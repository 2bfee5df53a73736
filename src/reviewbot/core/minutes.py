"""The minutes of a meeting, rendered as MediaWiki wikitext or Markdown.

Rendering is a pure function of a :class:`MeetingRecord`, the stored meeting as plain data, so
any past meeting renders again to the same text. Everything people typed is escaped; what was
imported from a wiki page (``wikitext`` notes and headings, ``raw`` lines, a kept header) is
already wikitext and comes out as it went in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from reviewbot import wikitext
from reviewbot.config import DEFAULT_DISCLAIMER, DEFAULT_INTRO

# Generic abbreviations, as people write them in minutes ("PT", not "PDT"/"PST").
_GENERIC_ZONES = {
    "America/Los_Angeles": "PT", "US/Pacific": "PT", "America/Vancouver": "PT",
    "America/Denver": "MT", "US/Mountain": "MT", "America/Edmonton": "MT",
    "America/Chicago": "CT", "US/Central": "CT", "America/Winnipeg": "CT",
    "America/New_York": "ET", "US/Eastern": "ET", "America/Toronto": "ET",
}  # fmt: skip


@dataclass(frozen=True)
class NoteRecord:
    """A note as stored: reply depth, kind (note, action, decision, raw), owner and typed text.

    An imported note is ``wikitext`` (its text is shown as it is, not escaped) and may keep the
    list prefix it had (``marker``, such as ``#`` or ``*:``); a ``raw`` one is lines of a page
    that are no note (a paragraph, a table), given back exactly.
    """

    text: str
    depth: int = 0
    kind: str = "note"
    owner: str | None = None
    speaker: str | None = None
    wikitext: bool = False
    marker: str | None = None


@dataclass(frozen=True)
class SectionRecord:
    """A section as stored, with its notes in order."""

    title: str
    level: int = 1
    notes: tuple[NoteRecord, ...] = ()
    wikitext: bool = False  # an imported heading: its title is wikitext


@dataclass(frozen=True)
class MeetingRecord:
    """Everything the minutes are made of."""

    title: str
    timezone: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    present: tuple[str, ...] = ()
    remote: tuple[str, ...] = ()
    slides_url: str | None = None
    preamble: tuple[NoteRecord, ...] = ()
    sections: tuple[SectionRecord, ...] = ()
    meeting_id: int | None = None
    header: str | None = None  # an imported page's lines before its first note, kept as they were
    summaries: bool = True  # end with the action items and decisions

    def all_notes(self) -> Iterable[NoteRecord]:
        """Every note, in the order of the minutes."""
        yield from self.preamble
        for section in self.sections:
            yield from section.notes


@dataclass(frozen=True)
class Wording:
    """The fixed texts of the minutes; the defaults are the seed page's."""

    intro: str = DEFAULT_INTRO
    disclaimer: str = DEFAULT_DISCLAIMER
    present_label: str = "Present (in the office)"
    remote_label: str = "participating remotely"
    slides_label: str = "Slides"
    action_items_heading: str = "Action items"
    decisions_heading: str = "Decisions"


def zone_abbreviation(zone_name: str, moment: datetime) -> str:
    """``PT`` for America/Los_Angeles; otherwise the zone's own abbreviation at *moment*."""
    if zone_name in _GENERIC_ZONES:
        return _GENERIC_ZONES[zone_name]
    return moment.astimezone(ZoneInfo(zone_name)).strftime("%Z") or zone_name


def _clock(moment: datetime, with_meridiem: bool) -> str:
    text = f"{moment.hour % 12 or 12}:{moment.minute:02d}"
    return f"{text} {moment.strftime('%p')}" if with_meridiem else text


def time_fields(record: MeetingRecord) -> dict[str, str]:
    """``date``, ``start``, ``end``, ``tz``, ``month``, ``year`` of the meeting, in its timezone."""
    if record.started_at is None:
        return {"date": "(not started)", "start": "", "end": "", "tz": "", "month": "", "year": ""}
    zone = ZoneInfo(record.timezone)
    start = record.started_at.astimezone(zone)
    end = (record.ended_at or record.started_at).astimezone(zone)
    same_meridiem = start.strftime("%p") == end.strftime("%p") and start.date() == end.date()
    return {
        "date": f"{start:%B} {start.day}",
        "start": _clock(start, with_meridiem=not same_meridiem),
        "end": _clock(end, with_meridiem=True) if record.ended_at else "(in progress)",
        "tz": zone_abbreviation(record.timezone, start),
        "month": f"{start:%B}",
        "year": str(start.year),
    }


def _fill(template: str, fields: dict[str, str]) -> str:
    """Fill ``{name}`` fields of a wording template; unknown fields are left as typed."""
    return re.sub(r"\{(\w+)\}", lambda m: fields.get(m.group(1), m.group(0)), template)


def page_title(record: MeetingRecord, pattern: str) -> str:
    """The wiki page title for the meeting, from a pattern such as the seed's."""
    title = _fill(pattern, {**time_fields(record), "title": wikitext.normalize(record.title)})
    return re.sub(r"[\[\]{}|#<>]", "", title).strip()


def safe_url(url: str) -> str | None:
    """*url* fit for an external link (http or https, no characters that end a link), or None."""
    url = url.strip()
    if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
        return None
    return quote(url, safe="/:?&=%#@!$()*+,;~-._")


def _text(note: NoteRecord, text: str) -> str:
    return text if note.wikitext else wikitext.inline(text)


def _wiki_note(note: NoteRecord, wording: Wording) -> str:
    if note.kind == "raw" and note.wikitext:
        return note.text
    marker = {"action": "'''Action:''' ", "decision": "'''Decision:''' "}.get(note.kind, "")
    prefix = note.marker if note.marker is not None else "*" * (note.depth + 1) + " "
    return prefix + marker + _text(note, note.text)


def header_lines(record: MeetingRecord, wording: Wording) -> list[str]:
    """The lines before the first note: intro, disclaimer, attendance and slides (each block
    followed by a blank line), or an imported page's own header as it was."""
    if record.header is not None:
        return [*record.header.split("\n"), ""] if record.header else []
    fields = {**time_fields(record), "title": wikitext.inline(record.title)}
    lines = [_fill(wording.intro, fields), "", wording.disclaimer, ""]
    attendance = []
    if record.present:
        names = ", ".join(wikitext.inline(n) for n in record.present)
        attendance.append(f"'''{wording.present_label}''': {names}")
    if record.remote:
        names = ", ".join(wikitext.inline(n) for n in record.remote)
        attendance.append(f"'''{wording.remote_label}''': {names}")
    if attendance:
        lines += ["; ".join(attendance), ""]
    if record.slides_url and (url := safe_url(record.slides_url)):
        lines += [f"'''{wording.slides_label}''': [{url} presentation slides]", ""]
    return lines


def summary_lines(record: MeetingRecord, wording: Wording) -> list[str]:
    """The closing "Action items" and "Decisions" sections, gathered from the notes."""
    lines: list[str] = []
    actions = [n for n in record.all_notes() if n.kind == "action"]
    decisions = [n for n in record.all_notes() if n.kind == "decision"]
    if actions:
        lines.append(f"== {wording.action_items_heading} ==")
        for owner, items in _group_by_owner(actions):
            lines.append(f"* {_text(items[0], owner)}")
            lines += [f"** {_text(n, _after_owner(n))}" for n in items]
        lines.append("")
    if decisions:
        lines.append(f"== {wording.decisions_heading} ==")
        lines += [f"* {_text(n, n.text)}" for n in decisions]
        lines.append("")
    return lines


def render_wikitext(record: MeetingRecord, wording: Wording | None = None) -> str:
    """The minutes as MediaWiki wikitext, in the shape of the seed page."""
    wording = wording or Wording()
    lines = header_lines(record, wording)
    lines += [_wiki_note(note, wording) for note in record.preamble]
    if record.preamble:
        lines.append("")
    for section in record.sections:
        marks = "=" * (section.level + 1)
        title = section.title if section.wikitext else wikitext.heading(section.title)
        lines.append(f"{marks} {title} {marks}")
        lines += [_wiki_note(note, wording) for note in section.notes]
        lines.append("")
    if record.summaries:
        lines += summary_lines(record, wording)
    return "\n".join(lines).rstrip("\n") + "\n"


def _group_by_owner(actions: list[NoteRecord]) -> list[tuple[str, list[NoteRecord]]]:
    """Action items by owner, the owner's name as written in the first of them."""
    groups: dict[str, tuple[str, list[NoteRecord]]] = {}
    for note in actions:
        owner = note.owner or "Unassigned"
        key = " ".join(owner.lstrip("@").split()).casefold()
        groups.setdefault(key, (owner.lstrip("@").strip(), []))[1].append(note)
    return list(groups.values())


def _after_owner(note: NoteRecord) -> str:
    """An action item's text after its ``Owner:`` (an imported owner may hold a colon: ``[[User:A|A]]``)."""
    if not note.owner:
        return note.text
    if note.text.startswith(note.owner + ":"):
        return note.text[len(note.owner) + 1 :].strip()
    return note.text.partition(":")[2].strip()


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def md_escape(text: str) -> str:
    """Escape *text* so Markdown shows it literally, on one line."""
    text = wikitext.normalize(text).replace("&", "&amp;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_text(note: NoteRecord, text: str) -> str:
    """What *text* of *note* reads as: imported wikitext with its markup stripped, typed text as is."""
    return wikitext.plain(text) if note.wikitext else text


def render_markdown(record: MeetingRecord, wording: Wording | None = None) -> str:
    """The same minutes as Markdown (CommonMark), for teams that keep notes elsewhere."""
    wording = wording or Wording()
    fields = {**time_fields(record), "title": md_escape(record.title)}
    lines = [_fill(wording.intro, fields), "", md_escape(wording.disclaimer), ""]
    attendance = []
    if record.present:
        attendance.append(f"**{wording.present_label}**: " + ", ".join(md_escape(n) for n in record.present))
    if record.remote:
        attendance.append(f"**{wording.remote_label}**: " + ", ".join(md_escape(n) for n in record.remote))
    if attendance:
        lines += ["; ".join(attendance), ""]
    if record.slides_url and (url := safe_url(record.slides_url)):
        lines += [f"**{wording.slides_label}**: <{url}>", ""]

    def md_note(note: NoteRecord) -> str:
        if note.kind == "raw":
            return md_escape(_md_text(note, note.text))
        marker = {"action": "**Action:** ", "decision": "**Decision:** "}.get(note.kind, "")
        return "  " * note.depth + "- " + marker + md_escape(_md_text(note, note.text))

    lines += [md_note(n) for n in record.preamble]
    if record.preamble:
        lines.append("")
    for section in record.sections:
        title = wikitext.plain(section.title) if section.wikitext else section.title
        lines.append("#" * (section.level + 1) + " " + md_escape(title))
        if section.notes:
            lines.append("")
        lines += [md_note(n) for n in section.notes]
        lines.append("")
    actions = [n for n in record.all_notes() if n.kind == "action" and record.summaries]
    decisions = [n for n in record.all_notes() if n.kind == "decision" and record.summaries]
    if actions:
        lines += [f"## {wording.action_items_heading}", ""]
        for owner, items in _group_by_owner(actions):
            lines.append(f"- {md_escape(_md_text(items[0], owner))}")
            lines += [f"  - {md_escape(_md_text(n, _after_owner(n)))}" for n in items]
        lines.append("")
    if decisions:
        lines += [f"## {wording.decisions_heading}", ""]
        lines += [f"- {md_escape(_md_text(n, n.text))}" for n in decisions]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
