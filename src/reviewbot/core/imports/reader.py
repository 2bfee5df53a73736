"""Reading a minutes page: wikitext in, a :class:`~reviewbot.core.minutes.MeetingRecord` out.

The page is read line by line, as MediaWiki reads it: headings (``== Foo ==`` or ``==Foo==``, at
any level) open sections; list lines (``*``, ``**``, ``#``, ``:``, ``*:``) are notes, their reply
depth the length of their prefix; ``'''Action:''' Owner: ...`` and ``'''Decision:''' ...`` are
read as the bot writes them (:mod:`reviewbot.core.minutes`), and ``Name: ...`` names a speaker
when the name is on the attendance (or opens several notes). A template, a tag or a comment that
runs over several lines is one line here (:mod:`.lines`), so nothing is cut in two.

Nothing is dropped: whatever is no note (a paragraph, a table, a ``;`` term) is a ``raw`` note
in its place, and a note keeps the list prefix it had when it is not the bot's ``* ``. Every note
is stored as the wikitext it was. The lines before the first note (intro, disclaimer,
attendance, slides) are read into the meeting's fields; when those fields do not render the very
same lines again, the lines are kept as they were (``header``). The bot's closing "Action items"
and "Decisions" lists are recognised and not read as sections: the minutes make them again.
Reading is pure (no database, no wiki); :mod:`reviewbot.core.imports.importer` stores the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from reviewbot import wikitext
from reviewbot.core import notes
from reviewbot.core.imports import header as top
from reviewbot.core.imports.lines import logical_lines
from reviewbot.core.minutes import MeetingRecord, NoteRecord, SectionRecord, Wording, header_lines, summary_lines
from reviewbot.store.schema import MARKER_LENGTH

_HEADING = re.compile(r"^(?P<open>=+)(?P<title>.*?)(?P<close>=+)\s*$")
_LIST = re.compile(r"^(?P<prefix>[*#:;]+)(?P<space>\s*)(?P<content>.*)$", re.DOTALL)
_MARKED = re.compile(r"^'''(?P<kind>Action|Decision):''' (?P<rest>\S.*)$", re.DOTALL)


@dataclass(frozen=True)
class ReadPage:
    """A page read as minutes: the record to store, and what could not be structured."""

    record: MeetingRecord
    raw_lines: int  # lines kept as raw wikitext (not counting blank ones)

    @property
    def note_count(self) -> int:
        """Notes read (lines kept raw are not counted)."""
        return sum(1 for n in self.record.all_notes() if n.kind != "raw")

    @property
    def is_minutes(self) -> bool:
        """Whether the page has a heading or a note at all (else it is not minutes)."""
        return bool(self.record.sections) or self.note_count > 0


@dataclass
class _Block:
    """A section while it is read: its heading and its lines."""

    title: str
    level: int
    wikitext: bool
    lines: list[str] = field(default_factory=list)


def _heading(line: str) -> tuple[int, str] | None:
    match = _HEADING.match(line)
    if match is None or "\n" in line:
        return None
    opening, closing, title = len(match.group("open")), len(match.group("close")), match.group("title")
    level = min(opening, closing, 6)
    title = "=" * (opening - level) + title + "=" * (closing - level)
    return (level, title.strip()) if title.strip() else None


def _is_list(line: str) -> bool:
    return bool(line) and line[0] in "*#:;"


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


class _Notes:
    """Turns a section's lines into notes; counts what had to stay raw."""

    def __init__(self) -> None:
        self.raw_lines = 0
        self.prefixes: dict[str, int] = {}

    def read(self, lines: list[str]) -> list[NoteRecord]:
        found: list[NoteRecord] = []
        pending: list[str] = []
        # Blank lines at the end go (the minutes put one after each section); those at the start
        # stay, as a raw note, so that a blank line right after a heading comes back too.
        end = len(lines)
        while end and not lines[end - 1].strip():
            end -= 1
        for line in [*lines[:end], None]:
            note = self._note(line) if line is not None else None
            if line is not None and note is None:
                pending.append(line)
                continue
            if pending:  # blank lines too: between a paragraph and a list they matter
                self.raw_lines += sum(1 for piece in pending for row in piece.split("\n") if row.strip())
                found.append(NoteRecord(text="\n".join(pending), kind="raw", wikitext=True))
            pending = []
            if note is not None:
                found.append(note)
        return found

    def _note(self, line: str) -> NoteRecord | None:
        match = _LIST.match(line)
        if match is None or "\n" in line or ";" in match.group("prefix"):
            return None
        prefix, space, content = match.group("prefix"), match.group("space"), match.group("content").rstrip()
        if not content:
            return None
        marker = None if set(prefix) == {"*"} and space == " " else prefix + space
        if marker is not None and len(marker) > MARKER_LENGTH:
            return None  # a prefix the database cannot keep exactly: the line stays raw
        depth, kind, owner = len(prefix) - 1, "note", None
        if marked := _MARKED.match(content):
            rest = marked.group("rest")
            if marked.group("kind") == "Action":
                parts = split_name(rest)
                kind, owner, content = "action", parts[0] if parts else None, rest
            else:
                kind, content = "decision", rest
        if kind == "note" and (parts := split_name(content)):
            key = notes.name_key(_name(parts[0]))
            self.prefixes[key] = self.prefixes.get(key, 0) + 1
        return NoteRecord(text=content, depth=depth, kind=kind, owner=owner, wikitext=True, marker=marker)


def split_name(text: str) -> tuple[str, str] | None:
    """``Name: text`` split by :func:`reviewbot.core.notes.split_speaker`'s rules, at the first colon
    outside a link or template, so that ``[[User:Ann|Ann]]: text`` is Ann's."""
    masked, depth = [], 0
    for char in text:
        depth = depth + 1 if char in "[{" else max(0, depth - 1) if char in "]}" else depth
        masked.append("\0" if char == ":" and depth else char)  # a colon inside: not the name's end
    if notes.split_speaker("".join(masked)) is None:
        return None
    index = masked.index(":")
    return text[:index].strip(), text[index + 1 :].strip()


def _name(prefix: str) -> str:
    """The name a note's ``Name:`` prefix shows (a bold name too)."""
    return wikitext.plain(prefix).strip("'").strip()


def _speaker(note: NoteRecord, people: set[str]) -> NoteRecord:
    if note.kind != "note" or (parts := split_name(note.text)) is None:
        return note
    name = _name(parts[0])
    if not name or len(name) > notes.MAX_SPEAKER_LENGTH or notes.name_key(name) not in people:
        return note
    return replace(note, speaker=name.lstrip("@").strip())


def _summary_start(blocks: list[_Block], wording: Wording) -> int:
    """Where a closing "Action items"/"Decisions" pair of headings starts (len(blocks) if none)."""
    names = (wording.action_items_heading, wording.decisions_heading)
    cut = len(blocks)
    while cut > 0 and blocks[cut - 1].level == 2 and not blocks[cut - 1].wikitext and blocks[cut - 1].title in names:
        cut -= 1
    return cut


def read_minutes(
    text: str,
    page_title: str | None = None,
    first_edited: datetime | None = None,
    wording: Wording | None = None,
    timezone: str = "UTC",
    today: date | None = None,
) -> ReadPage:
    """Read a minutes page (*text*, wikitext) into a record; see the module's docstring.

    *page_title* (or a file name) names the meeting when the intro line does not, and gives the
    year when the intro line has none; else *first_edited* (the page's first revision) does.
    *timezone* is for times given without one.
    """
    wording = wording or Wording()
    today = today or datetime.now(UTC).date()
    lines = logical_lines(text.replace("\r\n", "\n").rstrip("\n"))
    first_body = next((i for i, line in enumerate(lines) if _is_list(line) or _heading(line)), len(lines))
    head = lines[:first_body]
    while head and not head[-1].strip():
        head.pop()
    preamble: list[str] = []
    blocks: list[_Block] = []
    for line in lines[first_body:]:
        if heading := _heading(line):
            level, title = heading
            blocks.append(_Block(title=title, level=level, wikitext=wikitext.heading(title) != title))
        else:
            (blocks[-1].lines if blocks else preamble).append(line)

    record, recognised = _read_head(head, page_title, first_edited, wording, timezone, today)
    reader = _Notes()
    pre_notes = reader.read(preamble)
    sections = [
        SectionRecord(title=b.title, level=b.level - 1, notes=tuple(reader.read(b.lines)), wikitext=b.wikitext)
        for b in blocks
    ]
    people = {notes.name_key(n) for n in (*record.present, *record.remote)}
    people |= {key for key, count in reader.prefixes.items() if count >= 2}
    record = replace(
        record,
        preamble=tuple(_speaker(n, people) for n in pre_notes),
        sections=tuple(replace(s, notes=tuple(_speaker(n, people) for n in s.notes)) for s in sections),
    )
    # The bot's closing lists are made again from the notes: read them only if they are exactly that.
    cut = _summary_start(blocks, wording)
    tail = [row for b in blocks[cut:] for row in (f"== {b.title} ==", *_trim(b.lines), "")]
    without = replace(record, sections=record.sections[:cut])
    record = without if tail == summary_lines(without, wording) else replace(record, summaries=False)
    raw_head = sum(1 for i, line in enumerate(head) if i not in recognised for row in line.split("\n") if row.strip())
    if header_lines(record, wording)[:-1] != head:
        record = replace(record, header="\n".join(head))
    return ReadPage(record=record, raw_lines=reader.raw_lines + raw_head)


def _read_head(
    head: list[str],
    page_title: str | None,
    first_edited: datetime | None,
    wording: Wording,
    timezone: str,
    today: date,
) -> tuple[MeetingRecord, set[int]]:
    """The meeting's fields from the lines before the first note, and which lines gave them."""
    recognised: set[int] = set()
    titles = [page_title] if page_title else []
    title, intro = None, top.Intro(timezone, None, None)
    if found := top.find_intro(head, wording):
        index, title = found
        recognised.add(index)
        intro = top.read_intro(head[index], [head[index], *titles], first_edited, timezone, today)
    if title is None:
        title = top.title_from_page(page_title) if page_title else "Imported minutes"
    present: tuple[str, ...] = ()
    remote: tuple[str, ...] = ()
    slides = None
    for index, line in enumerate(head):
        if line.strip() == wording.disclaimer:
            recognised.add(index)
        elif index not in recognised and not (present or remote) and (seen := top.read_attendance(line, wording)):
            present, remote = seen.present, seen.remote
            recognised.add(index)
        elif index not in recognised and slides is None and (url := top.read_slides(line)):
            slides = url
            recognised.add(index)
    started = intro.started_at or first_edited
    ended = intro.ended_at or started
    record = MeetingRecord(
        title=wikitext.plain(title) if title else "Imported minutes",
        timezone=intro.timezone,
        started_at=started.astimezone(UTC) if started else None,
        ended_at=ended.astimezone(UTC) if ended else None,
        present=present,
        remote=remote,
        slides_url=slides,
    )
    return record, recognised
