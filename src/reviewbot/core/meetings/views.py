"""Meetings as shown to people: the read models every surface renders, built inside a transaction.

The views are plain frozen data, detached from the database session, so adapters (Slack, the
console) can keep and render them after the transaction has ended. :func:`load_record` gives the
stored minutes as :class:`~reviewbot.core.minutes.MeetingRecord`, the one input of the renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import Session

from reviewbot.core import agenda, notes, roles, timeboxes
from reviewbot.core.minutes import MeetingRecord, NoteRecord, SectionRecord
from reviewbot.store.note_batches import SectionRow
from reviewbot.store.schema import Attendee, Channel, Meeting, MeetingStatus, Note, NoteRevision, Section, SectionVisit


@dataclass(frozen=True)
class SectionView:
    """A section with its outline number, as shown to people."""

    id: int
    number: str
    title: str
    level: int
    planned: bool
    duration_minutes: int | None
    note_count: int | None  # None where the notes were not counted
    current: bool
    meeting_id: int = 0


@dataclass(frozen=True)
class MeetingView:
    """A meeting as shown to people: its state, agenda and attendance."""

    id: int
    status: MeetingStatus
    title: str | None
    started_at: datetime | None
    ended_at: datetime | None
    sections: tuple[SectionView, ...]
    present: tuple[str, ...]
    remote: tuple[str, ...]
    note_count: int
    timezone: str | None
    chairs: tuple[str, ...] = ()
    channel_id: str = ""
    workspace_id: str = ""

    @property
    def current(self) -> SectionView | None:
        """The section the meeting is at, if any."""
        return next((s for s in self.sections if s.current), None)


@dataclass(frozen=True)
class MeetingTally:
    """How much a meeting holds and when it ran: what the one line summing up its minutes says.
    Two counts, much lighter than a :class:`MeetingView`; ``/review end`` answers with it while
    fifty meetings may be ending at once."""

    id: int
    sections: int
    notes: int
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class NoteView:
    """A stored note, as shown back to the person who took it."""

    id: int
    seq: int
    text: str
    depth: int
    kind: str
    speaker: str | None
    section: SectionView | None
    meeting_id: int = 0
    author_id: str = ""
    author_name: str = ""
    deleted: bool = False
    revised_by: str | None = None
    from_message: bool = False  # typed as a message in the channel (scribe mode), not with /note


def sections_of(session: Session, meeting_id: int) -> list[Section]:
    """The meeting's sections in agenda order."""
    return list(session.scalars(select(Section).where(Section.meeting_id == meeting_id).order_by(Section.position)))


def _counting_notes(meeting_id: int) -> Select[tuple[int]]:
    """The query that counts the meeting's notes (not removed)."""
    return select(func.count(Note.id)).where(Note.meeting_id == meeting_id, Note.deleted_at.is_(None))


def note_count(session: Session, meeting_id: int, section_id: int | None = None) -> int:
    """How many notes (not removed) the meeting has, or the section if given."""
    query = _counting_notes(meeting_id)
    if section_id is not None:
        query = query.where(Note.section_id == section_id)
    return session.scalar(query) or 0


def meeting_tally(session: Session, meeting: Meeting) -> MeetingTally:
    """Count the meeting's sections and notes (not removed), in one query: its :class:`MeetingTally`."""
    sections = select(func.count(Section.id)).where(Section.meeting_id == meeting.id).scalar_subquery()
    notes = _counting_notes(meeting.id).scalar_subquery()
    counted_sections, counted_notes = session.execute(select(sections, notes)).one()
    return MeetingTally(meeting.id, counted_sections or 0, counted_notes or 0, meeting.started_at, meeting.ended_at)


def note_counts(session: Session, meeting_id: int) -> dict[int | None, int]:
    """How many notes (not removed) each section of the meeting has, by section id."""
    return dict(
        session.execute(
            select(Note.section_id, func.count(Note.id))
            .where(Note.meeting_id == meeting_id, Note.deleted_at.is_(None))
            .group_by(Note.section_id)
        ).all()
    )


def section_views(
    meeting_id: int,
    current_section_id: int | None,
    sections: Sequence[Section | SectionRow],
    counts: dict[int | None, int] | None = None,
) -> tuple[SectionView, ...]:
    """The sections (models, or rows with the same fields) as shown; counted if *counts* is given."""
    return tuple(
        SectionView(
            id=s.id,
            number=number,
            title=s.title,
            level=s.level,
            planned=s.planned,
            duration_minutes=s.duration_minutes,
            note_count=counts.get(s.id, 0) if counts is not None else None,
            current=s.id == current_section_id,
            meeting_id=meeting_id,
        )
        for s, number in zip(sections, agenda.numbers(sections), strict=True)
    )


def counted_section_views(session: Session, meeting: Meeting) -> tuple[SectionView, ...]:
    """The meeting's sections as shown, with their notes counted."""
    return section_views(
        meeting.id, meeting.current_section_id, sections_of(session, meeting.id), note_counts(session, meeting.id)
    )


def section_view(session: Session, meeting: Meeting, section_id: int | None) -> SectionView:
    """One section of the meeting as shown."""
    return next(v for v in counted_section_views(session, meeting) if v.id == section_id)


def meeting_view(session: Session, meeting: Meeting) -> MeetingView:
    """The meeting as shown: state, agenda with note counts, attendance and chairs."""
    channel = session.get(Channel, meeting.channel_pk)
    attendees = session.scalars(select(Attendee).where(Attendee.meeting_id == meeting.id).order_by(Attendee.seq)).all()
    return MeetingView(
        id=meeting.id,
        status=meeting.status,
        title=meeting.title,
        started_at=meeting.started_at,
        ended_at=meeting.ended_at,
        sections=counted_section_views(session, meeting),
        present=tuple(a.name for a in attendees if not a.remote),
        remote=tuple(a.name for a in attendees if a.remote),
        note_count=note_count(session, meeting.id),
        timezone=meeting.timezone,
        chairs=tuple(roles.chair_names(session, meeting)),
        channel_id=channel.channel_id if channel else "",
        workspace_id=channel.workspace_id if channel else "",
    )


def note_views(session: Session, meeting: Meeting, stored: Sequence[Note]) -> list[NoteView]:
    """Stored notes as shown to people, with their sections (not counted: counting every note of
    the meeting for each page of notes read was most of what an echo job cost) and last editor."""
    sections = section_views(meeting.id, meeting.current_section_id, sections_of(session, meeting.id))
    sections_by_id = {v.id: v for v in sections}
    ids = [n.id for n in stored]
    editors: dict[int, str] = {}
    if ids:
        for note_id, name in session.execute(
            select(NoteRevision.note_id, NoteRevision.editor_name)
            .where(NoteRevision.note_id.in_(ids))
            .order_by(NoteRevision.id)
        ):
            editors[note_id] = name
    return [
        NoteView(
            id=n.id,
            seq=n.seq,
            text=n.text,
            depth=n.depth,
            kind=n.kind.value,
            speaker=n.speaker,
            section=sections_by_id.get(n.section_id) if n.section_id is not None else None,
            meeting_id=n.meeting_id,
            author_id=n.author_id,
            author_name=n.author_name,
            deleted=n.deleted_at is not None,
            revised_by=editors.get(n.id),
            from_message=n.message_key is not None,
        )
        for n in stored
    ]


def people_keys(session: Session, meeting_id: int) -> set[str]:
    """Name keys of everyone who counts as a speaker in the meeting: attendees and note authors."""
    rows = session.execute(
        union_all(
            select(Attendee.name_key).where(Attendee.meeting_id == meeting_id),
            select(Note.author_name).where(Note.meeting_id == meeting_id).distinct(),
        )
    ).scalars()
    return {notes.name_key(name) for name in rows}


def load_record(session: Session, meeting: Meeting) -> MeetingRecord:
    """Read a meeting's minutes from the database as a :class:`MeetingRecord`."""
    sections = sections_of(session, meeting.id)
    stored = session.scalars(
        select(Note).where(Note.meeting_id == meeting.id, Note.deleted_at.is_(None)).order_by(Note.seq)
    ).all()
    by_section: dict[int | None, list[NoteRecord]] = {}
    for note in stored:
        by_section.setdefault(note.section_id, []).append(
            NoteRecord(
                text=note.text,
                depth=note.depth,
                kind=note.kind.value,
                owner=note.owner,
                speaker=note.speaker,
                wikitext=note.wikitext,
                marker=note.marker,
            )
        )
    attendees = session.scalars(select(Attendee).where(Attendee.meeting_id == meeting.id).order_by(Attendee.seq)).all()
    return MeetingRecord(
        meeting_id=meeting.id,
        title=meeting.title or "",
        timezone=meeting.timezone or "UTC",
        started_at=meeting.started_at,
        ended_at=meeting.ended_at,
        present=tuple(a.name for a in attendees if not a.remote),
        remote=tuple(a.name for a in attendees if a.remote),
        slides_url=meeting.slides_url,
        preamble=tuple(by_section.get(None, [])),
        sections=tuple(
            SectionRecord(title=s.title, level=s.level, notes=tuple(by_section.get(s.id, [])), wikitext=s.wikitext)
            for s in sections
        ),
        header=meeting.wikitext_header,
        summaries=meeting.summaries is not False,
    )


def load_timeboxes(session: Session, meeting: Meeting, now: datetime) -> list[tuple[Section, timeboxes.Timebox]]:
    """Every section of *meeting* with its timebox, in agenda order, as of *now*."""
    sections = sections_of(session, meeting.id)
    visits = [
        timeboxes.Visit(v.section_id, v.started_at, v.ended_at)
        for v in session.scalars(select(SectionVisit).where(SectionVisit.meeting_id == meeting.id))
    ]
    boxes = timeboxes.timeboxes(sections, visits, meeting.current_section_id, now)
    return list(zip(sections, boxes, strict=True))
