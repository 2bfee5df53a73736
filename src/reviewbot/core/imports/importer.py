"""Storing imported minutes: each page one past (ended) meeting, in one transaction of its own.

A meeting is keyed by the wiki and page it came from (``meetings.source_wiki``/``source_page``),
so importing a page again replaces that meeting's sections, notes and attendance with what the
page says now and keeps its number; it never makes a second meeting. A page that is not minutes
(no heading, no note) is reported and skipped; a page that fails leaves nothing half-stored. So
is a page reviewbot published itself (its meeting is stored already) and a ``/reviewbot draft``.

Imported meetings belong to the channel given (``--channel``), or else to the archive's own
pseudo-channel (:data:`reviewbot.core.channels.ARCHIVE_CHANNEL`), whose meetings are public;
importing a page again without a channel leaves its meeting where it is.
Their action items are stored closed: they are history, not open work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reviewbot.core import notes
from reviewbot.core.channels import ARCHIVE_CHANNEL, ARCHIVE_WORKSPACE, channel_row, lock_meeting
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.core.imports.reader import ReadPage, read_minutes
from reviewbot.core.minutes import MeetingRecord, Wording
from reviewbot.core.publishing import DRAFT_SUFFIX
from reviewbot.core.wiki_pages import WikiReader
from reviewbot.store.database import Database
from reviewbot.store.schema import (
    Attendee,
    Channel,
    Meeting,
    MeetingStatus,
    Note,
    NoteKind,
    NoteRevision,
    Publication,
    Section,
)

IMPORT_AUTHOR = "import"
"""The author (user id and name) of imported meetings and notes."""

FILE_SOURCE = "file"
"""``source_wiki`` of a meeting imported from a file (its ``source_page`` is the file's path)."""


@dataclass(frozen=True)
class Source:
    """A page to import: where it comes from (the wiki's API URL, or ``file``) and its text."""

    wiki: str
    page: str
    text: str
    revision: int | None = None
    first_edited: datetime | None = None
    title_hint: str | None = None  # what names the meeting if its intro line does not (page title, file name)


@dataclass
class ImportReport:
    """What a run of the import did, page by page."""

    created: int = 0
    updated: int = 0
    notes: int = 0
    raw_lines: int = 0
    meeting_ids: list[int] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        """``imported 12 meetings, 1,432 notes, 3 lines kept as raw wikitext`` and what was skipped."""
        meetings = self.created + self.updated
        text = f"imported {count(meetings, 'meeting')}"
        if self.updated:
            text += f" ({self.created:,} new, {self.updated:,} updated)"
        text += f", {count(self.notes, 'note')}, {count(self.raw_lines, 'line')} kept as raw wikitext"
        if self.skipped:
            pages = "; ".join(f"{page} ({why})" for page, why in self.skipped)
            text += f"; skipped {count(len(self.skipped), 'page')}: {pages}"
        return text


def count(number: int, noun: str) -> str:
    """``1 note``, ``1,432 notes``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


class Importer:
    """Imports minutes pages as past meetings (see the module's docstring)."""

    def __init__(self, db: Database, wording: Wording, timezone: str, clock: Clock) -> None:
        self.db = db
        self.wording = wording
        self.timezone = timezone
        self.clock = clock

    def channel(self, channel_id: str | None, workspace_id: str | None = None) -> tuple[str, str] | None:
        """The (workspace, channel) to attach meetings to; None when *channel_id* is None (see
        :meth:`import_one`).

        Without *workspace_id*, the channel must be known already (the bot has seen it) in one
        workspace.
        """
        if not channel_id:
            return None
        if workspace_id:
            return workspace_id, channel_id
        with self.db.read() as session:
            workspaces = session.scalars(select(Channel.workspace_id).where(Channel.channel_id == channel_id)).all()
        if len(workspaces) != 1:
            where = "is not known yet" if not workspaces else "is in several workspaces"
            raise UserError(f"Channel {channel_id} {where}: give its workspace too (--workspace T0123).")
        return workspaces[0], channel_id

    def read(self, source: Source) -> ReadPage:
        """The page read as minutes (nothing stored)."""
        return read_minutes(
            source.text,
            page_title=source.title_hint if source.title_hint is not None else source.page,
            first_edited=source.first_edited,
            wording=self.wording,
            timezone=self.timezone,
            today=self.clock.now().date(),
        )

    def import_one(self, source: Source, channel: tuple[str, str] | None, report: ImportReport) -> int | None:
        """Import one page (its meeting's id), or report it skipped (None) when it is not minutes.

        The meeting goes to *channel*; with None, a new meeting goes to the archive and a meeting
        imported before stays where it is (a private channel's never becomes the public archive's
        because a later run forgot ``--channel``).
        """
        if source.page.endswith(DRAFT_SUFFIX):
            report.skipped.append((source.page, "a draft of reviewbot's"))
            return None
        if (published := self._published_from(source)) is not None:
            report.skipped.append((source.page, f"the minutes of meeting #{published}, published by reviewbot"))
            return None
        if "\0" in source.text:
            report.skipped.append((source.page, "not wikitext: it holds NUL characters"))
            return None
        if not source.text.strip():
            report.skipped.append((source.page, "empty"))
            return None
        page = self.read(source)
        if not page.is_minutes:
            report.skipped.append((source.page, "no headings or notes"))
            return None
        try:
            meeting_id, created = self._store(source, page.record, channel)
        except IntegrityError:  # another run stored the page after we looked: now it is an update
            meeting_id, created = self._store(source, page.record, channel)
        report.created += created
        report.updated += not created
        report.notes += page.note_count
        report.raw_lines += page.raw_lines
        report.meeting_ids.append(meeting_id)
        return meeting_id

    def _published_from(self, source: Source) -> int | None:
        """The meeting whose minutes reviewbot published to this page, if it did: not imported again."""
        with self.db.read() as session:
            return session.scalar(
                select(Publication.meeting_id)
                .join(Meeting, Meeting.id == Publication.meeting_id)
                .where(
                    Publication.wiki == source.wiki,
                    Publication.page_title == source.page,
                    Meeting.source_page.is_(None),
                )
                .limit(1)
            )

    def _store(self, source: Source, record: MeetingRecord, channel: tuple[str, str] | None) -> tuple[int, bool]:
        now = self.clock.now()
        with self.db.write() as session:
            existing = session.scalar(
                select(Meeting.id).where(Meeting.source_wiki == source.wiki, Meeting.source_page == source.page)
            )
            meeting = lock_meeting(session, existing) if existing is not None else None
            channel_pk = meeting.channel_pk if meeting is not None and channel is None else None
            if channel_pk is None:
                where = channel or (ARCHIVE_WORKSPACE, ARCHIVE_CHANNEL)
                target = channel_row(session, Caller(*where, IMPORT_AUTHOR, IMPORT_AUTHOR), now)
                assert target is not None
                if where == (ARCHIVE_WORKSPACE, ARCHIVE_CHANNEL):
                    target.private = False  # the archive is public (search finds it from any channel)
                channel_pk = target.id
            if meeting is None:
                meeting = Meeting(status=MeetingStatus.ENDED, created_at=now, created_by=IMPORT_AUTHOR)
                session.add(meeting)
            else:
                _clear(session, meeting.id)
            # A page that gives no date is dated when it was first imported, and stays so.
            started = record.started_at or meeting.started_at or now
            meeting.channel_pk = channel_pk
            meeting.status = MeetingStatus.ENDED
            meeting.title = record.title
            meeting.started_at, meeting.ended_at = started, record.ended_at or started
            meeting.started_by = IMPORT_AUTHOR
            meeting.current_section_id = None
            meeting.slides_url = record.slides_url
            meeting.timezone = record.timezone
            meeting.source_wiki, meeting.source_page = source.wiki, source.page
            meeting.source_revision = source.revision
            meeting.wikitext_header = record.header
            meeting.summaries = record.summaries
            session.flush()
            _insert(session, meeting.id, record, started, now)
            return meeting.id, existing is None


def _clear(session: Session, meeting_id: int) -> None:
    """Remove what an earlier import of the meeting stored (its notes, sections, attendance)."""
    note_ids = select(Note.id).where(Note.meeting_id == meeting_id)
    session.execute(delete(NoteRevision).where(NoteRevision.note_id.in_(note_ids)))
    session.execute(delete(Note).where(Note.meeting_id == meeting_id))
    session.execute(delete(Section).where(Section.meeting_id == meeting_id))
    session.execute(delete(Attendee).where(Attendee.meeting_id == meeting_id))


def _insert(session: Session, meeting_id: int, record: MeetingRecord, started: datetime, now: datetime) -> None:
    """Insert the record's sections, notes and attendees (in few statements: pages can be long)."""
    section_ids: list[int | None] = []
    if record.sections:
        rows = [
            {"meeting_id": meeting_id, "position": position, "level": s.level, "title": s.title,
             "planned": True, "created_at": now, "wikitext": s.wikitext}
            for position, s in enumerate(record.sections)
        ]  # fmt: skip
        section_ids = list(session.scalars(insert(Section).returning(Section.id, sort_by_parameter_order=True), rows))
    placed = [(None, n) for n in record.preamble]
    placed += [(section_id, n) for section_id, s in zip(section_ids, record.sections, strict=True) for n in s.notes]
    note_rows = [
        {
            "meeting_id": meeting_id, "section_id": section_id, "seq": seq, "depth": n.depth,
            "kind": NoteKind(n.kind), "speaker": n.speaker, "owner": n.owner, "text": n.text,
            "author_id": IMPORT_AUTHOR, "author_name": IMPORT_AUTHOR, "created_at": started,
            "closed_at": now if n.kind == "action" else None,
            "closed_by": IMPORT_AUTHOR if n.kind == "action" else None,
            "wikitext": n.wikitext, "marker": n.marker,
        }
        for seq, (section_id, n) in enumerate(placed, start=1)
    ]  # fmt: skip
    if note_rows:
        session.execute(insert(Note), note_rows)
    attendees, seen = [], set()
    for remote, names in ((False, record.present), (True, record.remote)):
        for name in names:
            key = notes.name_key(name)[:255]
            if key and key not in seen:
                seen.add(key)
                attendees.append(
                    {"meeting_id": meeting_id, "name": name, "name_key": key, "remote": remote, "seq": len(seen)}
                )
    if attendees:
        session.execute(insert(Attendee), attendees)


def wiki_source(reader: WikiReader, title: str) -> Source | None:
    """The wiki page called *title* as a page to import (keyed by its title as the wiki gives it,
    after a redirect), or None when there is no such page."""
    page = reader.read_page(title)
    if page is None:
        return None
    return Source(
        wiki=reader.name, page=page.title, text=page.text, revision=page.revision_id, first_edited=page.first_edited
    )
