"""Meetings as stored: the rules of preparing, running and ending one, in transactions.

Every change to a channel's meetings takes that channel's row lock first, so commands for one
meeting apply one at a time in the order they arrive, on SQLite and PostgreSQL alike, and in
any number of bot processes. A note is committed before its command returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from reviewbot.core import actions, agenda, notes, roles, timeboxes
from reviewbot.core.context import Caller, Clock, SystemClock, UserError
from reviewbot.core.groupcommit import GroupCommit, Pending
from reviewbot.core.minutes import MeetingRecord, NoteRecord, SectionRecord, safe_url
from reviewbot.core.revisions import record_revision
from reviewbot.database import Database
from reviewbot.models import (
    PEOPLE,
    Attendee,
    Channel,
    Meeting,
    MeetingChair,
    MeetingStatus,
    Note,
    NoteKind,
    NoteRevision,
    RevisionAction,
    Section,
    SectionVisit,
    insert_notes,
    note_target,
)

MAX_MEETING_TITLE = 300
MAX_NAME_LENGTH = 100
BOT_AUTHOR = "reviewbot"


class _People:
    """Who counts as a person of a meeting: its attendees and its note authors (name keys).

    Authors are remembered per meeting and read again only from notes newer than those seen
    (by their ``seq``), so a busy meeting does not scan all its notes for every ``Name:`` note;
    the authors of the notes written here are remembered as they are written.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._authors: dict[int, tuple[int, frozenset[str]]] = {}
        self._meeting_of: dict[tuple[str, str], int] = {}  # each channel's last meeting seen

    def people(self, connection: Connection, meeting_id: int) -> set[str]:
        """Name keys of the meeting's attendees and authors, as stored now (one query)."""
        with self._lock:
            seen_seq = self._authors.get(meeting_id, (0, frozenset()))[0]
        return self._merge(meeting_id, PEOPLE.rows(connection, {"meeting_id": meeting_id, "seen_seq": seen_seq}))

    def read_after(self, channel: tuple[str, str]) -> int:
        """The note number after which a batch in *channel* should read authors: those of the
        channel's last meeting up to it are remembered (0: read them all)."""
        with self._lock:
            meeting_id = self._meeting_of.get(channel)
            return self._authors.get(meeting_id, (0, frozenset()))[0] if meeting_id is not None else 0

    def people_of_batch(
        self, connection: Connection, meeting_id: int, channel: tuple[str, str], after: int, rows: list[tuple[Any, ...]]
    ) -> set[str]:
        """Name keys of the meeting's people, from the :data:`reviewbot.models.PEOPLE` *rows* a
        batch in *channel* read after :meth:`read_after` gave it *after* (read again, should the
        running meeting not be the one *after* was for)."""
        with self._lock:
            stale = after and self._meeting_of.get(channel) != meeting_id
        if stale:
            return self.people(connection, meeting_id)
        return self._merge(meeting_id, rows, channel)

    def advance(self, meeting_id: int, after: int, upto: int, authors: set[str]) -> None:
        """Remember *authors* (name keys) as those of the notes ``after`` < seq <= ``upto``, just
        written here, if the authors of every note up to ``after`` are remembered already."""
        with self._lock:
            seen_seq, known = self._authors.get(meeting_id, (0, frozenset()))
            if seen_seq == after < upto:
                self._authors[meeting_id] = (upto, known | authors)

    def _merge(self, meeting_id: int, rows: list[tuple[Any, ...]], channel: tuple[str, str] | None = None) -> set[str]:
        """Name keys of the meeting's people: the attendees and newer authors in *rows*, and the
        authors remembered; *channel* is remembered as the meeting's."""
        names = {name for seq, name in rows if seq == 0}
        newer = [(seq, name) for seq, name in rows if seq != 0]
        with self._lock:
            seen_seq, authors = self._authors.get(meeting_id, (0, frozenset()))
            if newer:
                authors = authors | {notes.name_key(name) for _, name in newer}
                if len(self._authors) > 256:
                    self._authors.clear()
                    self._meeting_of.clear()
                self._authors[meeting_id] = (max(seen_seq, *(seq for seq, _ in newer)), authors)
            if channel is not None:
                self._meeting_of[channel] = meeting_id
        return names | authors


class _NoteTarget(NamedTuple):
    """What a batch of notes needs to know of its meeting (:func:`reviewbot.models.note_target`)."""

    id: int
    current_section_id: int | None
    max_seq: int | None
    last_depth: int | None  # of the last note not removed
    last_section_id: int | None


class _SectionRow(NamedTuple):
    """A section as a batch of notes reads it (:func:`reviewbot.models.note_target`)."""

    id: int
    position: int
    level: int
    title: str
    planned: bool
    duration_minutes: int | None

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> _SectionRow:
        """The section of a row (SQLite gives ``planned`` as 0 or 1)."""
        id_, position, level, title, planned, minutes = row
        return cls(id_, position, level, title, bool(planned), minutes)


@dataclass(frozen=True)
class _NoteRequest:
    """A note waiting to be written: who typed it, what it says, where it goes."""

    caller: Caller
    parsed: notes.ParsedNote
    speaker: str | None
    section_id: int | None
    received: float  # time.monotonic() when it arrived


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


class Meetings:
    """Prepare, run and end meetings; one method per thing people do."""

    def __init__(self, db: Database, timezone: str, clock: Clock | None = None) -> None:
        self._note_batches: GroupCommit[_NoteRequest, NoteView] = GroupCommit(self._write_notes)
        self._authors = _People()
        self.db = db
        self.timezone = timezone
        self.clock = clock or SystemClock()

    # -- agenda -------------------------------------------------------------------------------

    def add_agenda_item(self, caller: Caller, item: agenda.AgendaItem) -> SectionView:
        """Append a section to the running meeting's agenda, or else to the next meeting's."""
        with self.db.write() as session:
            meeting = self._running(session, caller) or self._planned(session, caller, create=True)
            assert meeting is not None
            self._require_agenda_editor(session, meeting, caller)
            sections = self._sections(session, meeting)
            if item.level == 2 and not any(s.level == 1 for s in sections):
                raise UserError(
                    "A subsection goes under a top-level section: add one first with "
                    "`/review agenda add <Title>`."
                )
            section = self._insert_section(session, meeting, len(sections), item, planned=True)
            return self._view_of(session, meeting, section.id)

    def remove_agenda_item(self, caller: Caller, target: str) -> SectionView:
        """Remove a section that has no notes from the agenda."""
        with self.db.write() as session:
            meeting = self._running(session, caller) or self._planned(session, caller)
            if meeting is None:
                raise UserError("There is no agenda yet. Add sections with `/review agenda add <Title>`.")
            self._require_agenda_editor(session, meeting, caller)
            sections = self._sections(session, meeting)
            index = agenda.find(sections, target, self._current_index(meeting, sections))
            section = sections[index]
            if section.id == meeting.current_section_id:
                raise UserError("That is the current section; move to another one before removing it.")
            if self._note_count(session, meeting.id, section.id):
                raise UserError("That section already has notes, so it stays in the minutes.")
            view = self._view_of(session, meeting, section.id)
            session.delete(section)
            session.flush()
            session.execute(
                update(Section)
                .where(Section.meeting_id == meeting.id, Section.position > section.position)
                .values(position=Section.position - 1)
            )
            return view

    def replace_agenda(self, caller: Caller, items: Sequence[agenda.AgendaItem]) -> MeetingView:
        """Make the agenda the given outline, as written in an agenda editor.

        Sections keep their identity (and notes) where a line has the same title; sections that
        are not listed any more are removed, unless they have notes or are the current section.
        """
        with self.db.write() as session:
            meeting = self._running(session, caller) or self._planned(session, caller, create=True)
            assert meeting is not None
            self._require_agenda_editor(session, meeting, caller)
            sections = self._sections(session, meeting)
            counts = self._note_counts(session, meeting)
            unused = list(sections)
            plan: list[tuple[agenda.AgendaItem, Section | None]] = []
            for item in items:
                key = item.title.casefold()
                same = [s for s in unused if s.title.casefold() == key]
                match = next((s for s in same if s.level == item.level), same[0] if same else None)
                if match is not None:
                    unused.remove(match)
                plan.append((item, match))
            for section in unused:
                if section.id == meeting.current_section_id:
                    raise UserError(
                        f"“{section.title}” is the current section, so it must stay on the agenda; "
                        "move to another section first."
                    )
                if counts.get(section.id):
                    raise UserError(
                        f"“{section.title}” already has notes, so it must stay on the agenda "
                        "(it can move or become a subsection, but keep its title)."
                    )
            for section in unused:
                session.delete(section)
            session.flush()
            for position, (item, existing) in enumerate(plan):
                if existing is None:
                    session.add(self._new_section(meeting, position, item, planned=True))
                else:
                    existing.position = position
                    existing.level = item.level
                    existing.title = item.title
                    existing.duration_minutes = item.duration_minutes
            session.flush()
            return self._meeting_view(session, meeting)

    def editable_agenda(self, caller: Caller) -> MeetingView | None:
        """The meeting whose agenda an editor opens (the running one, else the next one), if
        the caller may change it; None when nothing is prepared yet."""
        with self.db.read() as session:
            meeting = self._running(session, caller) or self._planned(session, caller)
            if meeting is None:
                return None
            self._require_agenda_editor(session, meeting, caller)
            return self._meeting_view(session, meeting)

    def meeting_view(self, caller: Caller) -> MeetingView | None:
        """The running meeting, or else the next meeting being prepared, or None."""
        with self.db.read() as session:
            meeting = self._running(session, caller) or self._planned(session, caller)
            return None if meeting is None else self._meeting_view(session, meeting)

    # -- running a meeting --------------------------------------------------------------------

    def start(self, caller: Caller, title: str) -> MeetingView:
        """Start the channel's meeting at the first section of its prepared agenda."""
        title = " ".join(title.split())
        if len(title) > MAX_MEETING_TITLE:
            raise UserError(f"Meeting titles can be at most {MAX_MEETING_TITLE} characters long.")
        with self.db.write() as session:
            running = self._running(session, caller)
            if running is not None:
                raise UserError(
                    f"A meeting is already running here ({running.title}). "
                    "End it with `/review end` before starting another."
                )
            meeting = self._planned(session, caller, create=True)
            assert meeting is not None
            if not title:
                raise UserError("Give the meeting a title: `/review start <title>`.")
            meeting.status = MeetingStatus.RUNNING
            meeting.title = title
            meeting.started_at = self.clock.now()
            meeting.started_by = caller.user_id
            meeting.timezone = self.timezone
            self._carry_over_actions(session, meeting)
            sections = self._sections(session, meeting)
            meeting.current_section_id = sections[0].id if sections else None
            self._enter(session, meeting)
            roles.add_chair(session, meeting, caller.user_id, caller.user_name, caller.user_id, self.clock.now())
            session.flush()
            return self._meeting_view(session, meeting)

    def add_chairs(self, caller: Caller, people: Sequence[tuple[str, str]]) -> tuple[list[str], MeetingView]:
        """Make each ``(user_id, name)`` a chair of the running meeting; only a chair may.

        Returns the names that were added (not those who already chaired) and the meeting.
        """
        with self.db.write() as session:
            meeting = self._running(session, caller)
            if meeting is None:
                raise UserError(
                    "Chairs belong to a running meeting: whoever starts it with `/review start <title>` "
                    "chairs it and can then add others with `/review chair @name`."
                )
            roles.require_chair(session, meeting, caller.user_id, "add chairs")
            added = [
                name
                for user_id, name in people
                if roles.add_chair(session, meeting, user_id, name, caller.user_id, self.clock.now())
            ]
            return added, self._meeting_view(session, meeting)

    def set_attendance(self, caller: Caller, names: Sequence[str], remote: bool) -> MeetingView:
        """Add people to the attendance, in the office or remote (moving them if listed)."""
        cleaned = [" ".join(n.split()).lstrip("@") for n in names]
        cleaned = [n for n in cleaned if n]
        if not cleaned:
            kind = "remote" if remote else "present"
            raise UserError(f"Name the people: `/review {kind} Heather, Gabriel, Ori`.")
        if too_long := [n for n in cleaned if len(n) > MAX_NAME_LENGTH]:
            raise UserError(f"Names can be at most {MAX_NAME_LENGTH} characters (“{too_long[0][:40]}…”).")
        with self.db.write() as session:
            meeting = self._running(session, caller) or self._planned(session, caller, create=True)
            assert meeting is not None
            existing = {
                a.name_key: a
                for a in session.scalars(select(Attendee).where(Attendee.meeting_id == meeting.id))
            }
            seq = max((a.seq for a in existing.values()), default=0)
            for name in cleaned:
                key = notes.name_key(name)
                if key in existing:
                    existing[key].remote = remote
                    continue
                seq += 1
                attendee = Attendee(
                    meeting_id=meeting.id, name=name, name_key=key[:255], remote=remote, seq=seq
                )
                session.add(attendee)
                existing[key] = attendee
            session.flush()
            return self._meeting_view(session, meeting)

    def move(self, caller: Caller, where: str, target: str = "") -> SectionView:
        """Move the running meeting to the ``next``, ``prev`` or a ``goto`` target section."""
        with self.db.write() as session:
            meeting = self._require_running(session, caller)
            roles.require_chair(session, meeting, caller.user_id, "move between sections")
            sections = self._sections(session, meeting)
            if not sections:
                raise UserError("The agenda is empty. Add a section with `/review section <Title>`.")
            index = self._current_index(meeting, sections)
            labels = agenda.numbers(sections)
            if where == "next":
                new = 0 if index is None else index + 1
                if new >= len(sections):
                    raise UserError(
                        f"This is the last section ({labels[index or 0]} {sections[index or 0].title}). "
                        "Add one with `/review section <Title>` or end with `/review end`."
                    )
            elif where == "prev":
                if not index:
                    raise UserError("This is the first section; there is no previous one.")
                new = index - 1
            else:
                new = agenda.find(sections, target, index)
            meeting.current_section_id = sections[new].id
            self._enter(session, meeting)
            session.flush()
            return self._view_of(session, meeting, sections[new].id)

    def insert_section(self, caller: Caller, item: agenda.AgendaItem) -> SectionView:
        """Insert an unplanned section after the current block (or subsection after the current
        section) of the running meeting and move to it."""
        with self.db.write() as session:
            meeting = self._require_running(session, caller)
            roles.require_chair(session, meeting, caller.user_id, "add sections and move between them")
            sections = self._sections(session, meeting)
            index = self._current_index(meeting, sections)
            if item.level == 2:
                if index is None:
                    raise UserError(
                        "There is no section to put a subsection under yet; "
                        "use `/review section <Title>` first."
                    )
                position = index + 1
            else:
                position = len(sections) if index is None else agenda.block_end(sections, index)
            section = self._insert_section(session, meeting, position, item, planned=False)
            meeting.current_section_id = section.id
            self._enter(session, meeting)
            session.flush()
            return self._view_of(session, meeting, section.id)

    def add_note(
        self, caller: Caller, raw: str, *, speaker: str | None = None, section_id: int | None = None
    ) -> NoteView:
        """Record a note in the current section; committed when this returns.

        With *speaker*, *raw* is what that person said, taken as it is (``Speaker: raw``), as
        when a message is added to the minutes; *section_id* puts it in that section of the
        running meeting instead of the current one. Notes that arrive together for a channel are
        committed together (:mod:`reviewbot.core.groupcommit`), in the order they arrived.
        """
        parsed = notes.parse(raw) if speaker is None else notes.quoted(speaker, raw)
        request = _NoteRequest(caller, parsed, speaker, section_id, time.monotonic())
        return self._note_batches.submit((caller.workspace_id, caller.channel_id), request)

    def _write_notes(self, batch: list[Pending[_NoteRequest, NoteView]]) -> None:
        """Store a batch of notes for one channel in one transaction, each checked on its own."""
        caller = batch[0].item.caller
        added: list[tuple[Pending[_NoteRequest, NoteView], dict[str, Any]]] = []
        # Every note-taker must hear back within Slack's 3 seconds, saved or not: the batch is
        # cut short (nothing saved) if the database has not answered by then.
        deadline = min(pending.item.received for pending in batch) + self.db.timeout_ms / 1000
        with self.db.write(deadline=deadline) as session:
            connection = session.connection()  # plain rows: no ORM entities to load
            # Attendees and authors, read with the rest when a note starts with "Name:".
            channel = (caller.workspace_id, caller.channel_id)
            wants_people = any(
                p.item.speaker is None and notes.split_speaker(p.item.parsed.text) is not None for p in batch
            )
            after = self._authors.read_after(channel)
            target, section_rows, people_rows = note_target(
                connection, *channel, authors_after=after if wants_people else None
            )
            if target is None:
                for pending in batch:
                    pending.fail(UserError(
                        "No meeting is running in this channel, so the note was not recorded. "
                        "Start one with `/review start <title>`."
                    ))
                return
            meeting = _NoteTarget(*target)
            sections = [_SectionRow.of(row) for row in section_rows]
            section_ids = {section.id for section in sections}
            seq = meeting.max_seq or 0
            last_depth_section = None if meeting.last_depth is None else (meeting.last_depth, meeting.last_section_id)
            people: set[str] = set()  # attendees and note authors, read when a note may name one
            if people_rows is not None:
                people = self._authors.people_of_batch(connection, meeting.id, channel, after, people_rows)
            batch_authors: set[str] = set()
            now = self.clock.now()
            for pending in batch:
                request = pending.item
                parsed = request.parsed
                section_id = request.section_id if request.section_id in section_ids else None
                section_id = meeting.current_section_id if section_id is None else section_id
                if parsed.depth and (last_depth_section is None or last_depth_section[1] != section_id):
                    pending.fail(UserError("There is no note in this section to reply to yet; drop the `>`."))
                    continue
                if last_depth_section is not None and parsed.depth > last_depth_section[0] + 1:
                    pending.fail(UserError(
                        "A reply can only go one level below the note before it "
                        f"(`{'>' * (last_depth_section[0] + 1)}`)."
                    ))
                    continue
                if request.speaker is None:
                    known = people | batch_authors
                    speaker = notes.speaker_of(parsed.text, known.__contains__)
                else:
                    speaker = " ".join(request.speaker.split()).lstrip("@")
                seq += 1
                row = {
                    "meeting_id": meeting.id,
                    "section_id": section_id,
                    "seq": seq,
                    "depth": parsed.depth,
                    "kind": NoteKind(parsed.kind),
                    "speaker": speaker,
                    "owner": parsed.owner.lstrip("@").strip() if parsed.owner else None,
                    "text": parsed.text,
                    "author_id": request.caller.user_id,
                    "author_name": request.caller.user_name,
                    "created_at": now,
                }
                added.append((pending, row))
                last_depth_section = (parsed.depth, section_id)
                batch_authors.add(notes.name_key(request.caller.user_name))
            if not added:
                return
            ids = insert_notes(connection, [row for _, row in added])
            section_views = {view.id: view for view in self._section_views(session, meeting, sections)}
        # Committed: only now does each note-taker learn that their note is stored.
        self._authors.advance(meeting.id, meeting.max_seq or 0, seq, batch_authors)
        for pending, row in added:
            section = row["section_id"]
            pending.succeed(NoteView(
                id=ids[row["seq"]],
                seq=row["seq"],
                text=row["text"],
                depth=row["depth"],
                kind=row["kind"].value,
                speaker=row["speaker"],
                section=section_views.get(section) if section is not None else None,
                meeting_id=row["meeting_id"],
                author_id=row["author_id"],
                author_name=row["author_name"],
            ))

    def undo_note(self, caller: Caller) -> NoteView:
        """Remove the caller's own last note in the running meeting."""
        with self.db.write() as session:
            meeting = self._require_running(session, caller)
            note = session.scalars(
                select(Note)
                .where(
                    Note.meeting_id == meeting.id, Note.author_id == caller.user_id, Note.deleted_at.is_(None)
                )
                .order_by(Note.seq.desc())
                .limit(1)
            ).first()
            if note is None:
                raise UserError("You have no notes in this meeting to undo.")
            note.deleted_at = self.clock.now()
            note.deleted_by = caller.user_id
            record_revision(session, note, caller, RevisionAction.DELETE, None, note.deleted_at)
            session.flush()
            return self._note_view(session, meeting, note)

    def set_slides(self, caller: Caller, url: str) -> MeetingView:
        """Record the link to the presentation slides."""
        if safe_url(url) is None:
            raise UserError("Give the slides as a web link: `/review slides https://example.org/slides.pdf`.")
        with self.db.write() as session:
            meeting = self._running(session, caller) or self._planned(session, caller, create=True)
            assert meeting is not None
            meeting.slides_url = url.strip()
            session.flush()
            return self._meeting_view(session, meeting)

    def end(self, caller: Caller) -> MeetingView:
        """End the running meeting."""
        with self.db.write() as session:
            meeting = self._require_running(session, caller)
            roles.require_chair(session, meeting, caller.user_id, "end the meeting")
            meeting.status = MeetingStatus.ENDED
            meeting.ended_at = self.clock.now()
            meeting.current_section_id = None
            self._enter(session, meeting)
            session.flush()
            return self._meeting_view(session, meeting)

    # -- past meetings ------------------------------------------------------------------------

    def history(self, caller: Caller, limit: int = 20) -> list[MeetingView]:
        """The channel's ended meetings, newest first."""
        with self.db.read() as session:
            channel = self._channel(session, caller, lock=False)
            if channel is None:
                return []
            meetings = session.scalars(
                select(Meeting)
                .where(Meeting.channel_pk == channel.id, Meeting.status == MeetingStatus.ENDED)
                .order_by(Meeting.ended_at.desc(), Meeting.id.desc())
                .limit(limit)
            ).all()
            return [self._meeting_view(session, m) for m in meetings]

    def record(self, meeting_id: int) -> MeetingRecord:
        """The stored meeting as plain data, for rendering its minutes."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                raise UserError(f"There is no meeting {meeting_id}.")
            return load_record(session, meeting)

    def find_meeting(self, caller: Caller, target: str = "") -> int:
        """The id of a meeting of this channel: by id, ``last``/empty for the latest ended one, or
        the running one."""
        with self.db.read() as session:
            channel = self._channel(session, caller, lock=False)
            if channel is None:
                raise UserError("This channel has no meetings yet.")
            query = select(Meeting).where(Meeting.channel_pk == channel.id)
            target = target.strip().lstrip("#")
            if target.isdigit():
                meeting = session.scalars(query.where(Meeting.id == int(target))).first()
            elif target in ("", "last", "latest"):
                meeting = session.scalars(
                    query.where(Meeting.status != MeetingStatus.PLANNED).order_by(
                        (Meeting.status == MeetingStatus.ENDED).desc(), Meeting.started_at.desc()
                    )
                ).first()
            else:
                raise UserError("Name the meeting by its number (see `/review history`) or `last`.")
            if meeting is None or meeting.status == MeetingStatus.PLANNED:
                raise UserError("No such meeting in this channel; `/review history` lists them.")
            return meeting.id

    # -- timeboxes and the next agenda -------------------------------------------------------

    def timeboxes(self, caller: Caller) -> list[tuple[SectionView, timeboxes.Timebox]]:
        """The running meeting's sections with their time used against plan."""
        with self.db.read() as session:
            channel = self._channel(session, caller, lock=False)
            if channel is None:
                return []
            meeting = _latest(session, channel.id, MeetingStatus.RUNNING)
            if meeting is None:
                return []
            boxes = [box for _, box in load_timeboxes(session, meeting, self.clock.now())]
            return list(zip(self._section_views(session, meeting), boxes, strict=True))

    def next_agenda(self, channel_pk: int) -> MeetingView | None:
        """The agenda prepared so far for the channel's next meeting, if any."""
        with self.db.read() as session:
            meeting = _latest(session, channel_pk, MeetingStatus.PLANNED)
            return None if meeting is None else self._meeting_view(session, meeting)

    def channel_row(self, session: Session, caller: Caller, lock: bool = True) -> Channel | None:
        """The caller's channel; with *lock*, created if new and locked for this transaction."""
        return self._channel(session, caller, lock=lock)

    def view_by_id(self, meeting_id: int) -> MeetingView:
        """Any meeting by its id, as shown to people."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                raise UserError(f"There is no meeting {meeting_id}.")
            return self._meeting_view(session, meeting)

    def notes_of(
        self, meeting_id: int, include_deleted: bool = True, after_seq: int = 0, limit: int | None = None
    ) -> list[NoteView]:
        """A meeting's notes in order, deleted ones included unless asked otherwise; with
        *after_seq* and *limit*, at most *limit* of those numbered after *after_seq*."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                return []
            query = select(Note).where(Note.meeting_id == meeting_id, Note.seq > after_seq).order_by(Note.seq)
            if not include_deleted:
                query = query.where(Note.deleted_at.is_(None))
            return self.note_views(session, meeting, session.scalars(query.limit(limit)).all())

    def note_of(self, meeting_id: int, note_id: int) -> NoteView | None:
        """One note of a meeting (removed or not), if it is there."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            note = session.get(Note, note_id)
            if meeting is None or note is None or note.meeting_id != meeting_id:
                return None
            return self._note_view(session, meeting, note)

    def for_user(
        self, workspace_id: str, user_id: str, recent: int = 10
    ) -> tuple[list[MeetingView], list[MeetingView]]:
        """A person's upcoming (prepared or running) and recent (ended, newest first) meetings.

        A person's meetings are those of every channel where they prepared, started, chaired or
        took notes in a meeting.
        """
        with self.db.read() as session:
            involved = (
                select(Meeting.channel_pk)
                .where(
                    or_(
                        Meeting.started_by == user_id,
                        Meeting.created_by == user_id,
                        Meeting.id.in_(select(MeetingChair.meeting_id).where(MeetingChair.user_id == user_id)),
                        Meeting.id.in_(select(Note.meeting_id).where(Note.author_id == user_id)),
                    )
                )
                .distinct()
            )
            channels = select(Channel.id).where(Channel.workspace_id == workspace_id, Channel.id.in_(involved))
            base = select(Meeting).where(Meeting.channel_pk.in_(channels))
            upcoming = session.scalars(
                base.where(Meeting.status != MeetingStatus.ENDED).order_by(Meeting.status.desc(), Meeting.id)
            ).all()
            ended = session.scalars(
                base.where(Meeting.status == MeetingStatus.ENDED)
                .order_by(Meeting.ended_at.desc(), Meeting.id.desc())
                .limit(recent)
            ).all()
            return [self._meeting_view(session, m) for m in upcoming], [
                self._meeting_view(session, m) for m in ended
            ]

    # -- helpers for other core modules, inside their transactions ------------------------------

    def lock_meeting(self, session: Session, meeting_id: int) -> Meeting:
        """Take the lock of the meeting's channel (as every change does) and return the meeting."""
        channel_pk = session.scalar(select(Meeting.channel_pk).where(Meeting.id == meeting_id))
        if channel_pk is None:
            raise UserError("That meeting no longer exists.")
        session.scalars(select(Channel).where(Channel.id == channel_pk).with_for_update()).one()
        meeting = session.get(Meeting, meeting_id, populate_existing=True)
        assert meeting is not None
        return meeting

    def people(self, session: Session, meeting_id: int) -> set[str]:
        """Name keys of everyone who counts as a speaker in the meeting."""
        return self._authors.people(session.connection(), meeting_id)

    def note_views(self, session: Session, meeting: Meeting, stored: Sequence[Note]) -> list[NoteView]:
        """Stored notes as shown to people, with their sections and last editor."""
        views = self._section_views(session, meeting)
        sections_by_id = {v.id: v for v in views}
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
            )
            for n in stored
        ]

    # -- internals ------------------------------------------------------------------------------

    def _enter(self, session: Session, meeting: Meeting) -> None:
        """Record that the meeting is now at its current section (none once it has ended)."""
        now = self.clock.now()
        visit = session.scalars(
            select(SectionVisit).where(SectionVisit.meeting_id == meeting.id, SectionVisit.ended_at.is_(None))
        ).first()
        if visit is not None and visit.section_id == meeting.current_section_id:
            return
        if visit is not None:
            visit.ended_at = now
        if meeting.current_section_id is not None:
            session.add(SectionVisit(meeting_id=meeting.id, section_id=meeting.current_section_id, started_at=now))

    def _carry_over_actions(self, session: Session, meeting: Meeting) -> None:
        """Open with a "Previous action items" section when the last meeting left open items."""
        items = actions.open_from_previous(session, meeting.channel_pk, exclude_id=meeting.id)
        if not items:
            return
        item = agenda.AgendaItem(level=1, title=actions.CARRIED_SECTION_TITLE)
        section = self._insert_section(session, meeting, 0, item, planned=True)
        seq = session.scalar(select(func.max(Note.seq)).where(Note.meeting_id == meeting.id)) or 0
        now = self.clock.now()
        for offset, carried in enumerate(items, start=1):
            session.add(
                Note(
                    meeting_id=meeting.id,
                    section_id=section.id,
                    seq=seq + offset,
                    depth=0,
                    kind=NoteKind.NOTE,
                    text=carried.line(),
                    author_id=BOT_AUTHOR,
                    author_name=BOT_AUTHOR,
                    created_at=now,
                )
            )
        session.flush()

    def _require_agenda_editor(self, session: Session, meeting: Meeting, caller: Caller) -> None:
        if meeting.status == MeetingStatus.RUNNING:
            roles.require_chair(session, meeting, caller.user_id, "change the agenda of a running meeting")

    def _channel(self, session: Session, caller: Caller, lock: bool = True) -> Channel | None:
        query = select(Channel).where(
            Channel.workspace_id == caller.workspace_id, Channel.channel_id == caller.channel_id
        )
        if not lock:
            return session.scalars(query).first()
        channel = session.scalars(query.with_for_update()).first()
        if channel is not None:
            return channel
        dialect = session.get_bind().dialect.name
        values = {
            "workspace_id": caller.workspace_id,
            "channel_id": caller.channel_id,
            "created_at": self.clock.now(),
        }
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(Channel).values(**values).on_conflict_do_nothing())
        return session.scalars(query.with_for_update()).one()

    def _meeting_query(
        self, session: Session, caller: Caller, status: MeetingStatus
    ) -> Select[tuple[Meeting]]:
        channel = self._channel(session, caller)
        assert channel is not None
        return (
            select(Meeting)
            .where(Meeting.channel_pk == channel.id, Meeting.status == status)
            .order_by(Meeting.id.desc())
            .limit(1)
        )

    def _running(self, session: Session, caller: Caller) -> Meeting | None:
        return session.scalars(self._meeting_query(session, caller, MeetingStatus.RUNNING)).first()

    def _require_running(self, session: Session, caller: Caller) -> Meeting:
        meeting = self._running(session, caller)
        if meeting is None:
            raise UserError("No meeting is running in this channel. Start one with `/review start <title>`.")
        return meeting

    def _planned(self, session: Session, caller: Caller, create: bool = False) -> Meeting | None:
        meeting = session.scalars(self._meeting_query(session, caller, MeetingStatus.PLANNED)).first()
        if meeting is None and create:
            channel = self._channel(session, caller)
            assert channel is not None
            meeting = Meeting(
                channel_pk=channel.id,
                status=MeetingStatus.PLANNED,
                created_at=self.clock.now(),
                created_by=caller.user_id,
            )
            session.add(meeting)
            session.flush()
        return meeting

    def _sections(self, session: Session, meeting: Meeting) -> list[Section]:
        return list(
            session.scalars(
                select(Section).where(Section.meeting_id == meeting.id).order_by(Section.position)
            )
        )

    @staticmethod
    def _current_index(meeting: Meeting, sections: Sequence[Section]) -> int | None:
        for i, section in enumerate(sections):
            if section.id == meeting.current_section_id:
                return i
        return None

    def _insert_section(
        self, session: Session, meeting: Meeting, position: int, item: agenda.AgendaItem, planned: bool
    ) -> Section:
        session.execute(
            update(Section)
            .where(Section.meeting_id == meeting.id, Section.position >= position)
            .values(position=Section.position + 1)
        )
        section = self._new_section(meeting, position, item, planned)
        session.add(section)
        session.flush()
        return section

    def _new_section(self, meeting: Meeting, position: int, item: agenda.AgendaItem, planned: bool) -> Section:
        """A section of *meeting* at *position*, as the agenda item says."""
        return Section(
            meeting_id=meeting.id,
            position=position,
            level=item.level,
            title=item.title,
            planned=planned,
            duration_minutes=item.duration_minutes,
            created_at=self.clock.now(),
        )

    @staticmethod
    def _note_count(session: Session, meeting_id: int, section_id: int | None = None) -> int:
        query = select(func.count(Note.id)).where(Note.meeting_id == meeting_id, Note.deleted_at.is_(None))
        if section_id is not None:
            query = query.where(Note.section_id == section_id)
        return session.scalar(query) or 0

    @staticmethod
    def _note_counts(session: Session, meeting: Meeting) -> dict[int | None, int]:
        return dict(
            session.execute(
                select(Note.section_id, func.count(Note.id))
                .where(Note.meeting_id == meeting.id, Note.deleted_at.is_(None))
                .group_by(Note.section_id)
            ).all()
        )

    def _section_views(
        self, session: Session, meeting: Meeting | _NoteTarget, sections: Sequence[Section | _SectionRow] | None = None
    ) -> tuple[SectionView, ...]:
        """The meeting's sections as shown; with *sections* given (models, or rows of
        :class:`_SectionRow`), without counting notes."""
        counts: dict[int | None, int] | None = None
        if sections is None:
            sections = self._sections(session, meeting)
            counts = self._note_counts(session, meeting)
        return tuple(
            SectionView(
                id=s.id,
                number=number,
                title=s.title,
                level=s.level,
                planned=s.planned,
                duration_minutes=s.duration_minutes,
                note_count=counts.get(s.id, 0) if counts is not None else None,
                current=s.id == meeting.current_section_id,
                meeting_id=meeting.id,
            )
            for s, number in zip(sections, agenda.numbers(sections), strict=True)
        )

    def _view_of(self, session: Session, meeting: Meeting, section_id: int | None) -> SectionView:
        views = self._section_views(session, meeting)
        return next(v for v in views if v.id == section_id)

    def _meeting_view(self, session: Session, meeting: Meeting) -> MeetingView:
        channel = session.get(Channel, meeting.channel_pk)
        attendees = session.scalars(
            select(Attendee).where(Attendee.meeting_id == meeting.id).order_by(Attendee.seq)
        ).all()
        return MeetingView(
            id=meeting.id,
            status=meeting.status,
            title=meeting.title,
            started_at=meeting.started_at,
            ended_at=meeting.ended_at,
            sections=self._section_views(session, meeting),
            present=tuple(a.name for a in attendees if not a.remote),
            remote=tuple(a.name for a in attendees if a.remote),
            note_count=self._note_count(session, meeting.id),
            timezone=meeting.timezone,
            chairs=tuple(roles.chair_names(session, meeting)),
            channel_id=channel.channel_id if channel else "",
            workspace_id=channel.workspace_id if channel else "",
        )

    def _note_view(self, session: Session, meeting: Meeting, note: Note) -> NoteView:
        return self.note_views(session, meeting, [note])[0]


def load_record(session: Session, meeting: Meeting) -> MeetingRecord:
    """Read a meeting's minutes from the database as a :class:`MeetingRecord`."""
    sections = session.scalars(
        select(Section).where(Section.meeting_id == meeting.id).order_by(Section.position)
    ).all()
    stored = session.scalars(
        select(Note).where(Note.meeting_id == meeting.id, Note.deleted_at.is_(None)).order_by(Note.seq)
    ).all()
    by_section: dict[int | None, list[NoteRecord]] = {}
    for note in stored:
        by_section.setdefault(note.section_id, []).append(
            NoteRecord(
                text=note.text, depth=note.depth, kind=note.kind.value, owner=note.owner, speaker=note.speaker
            )
        )
    attendees = session.scalars(
        select(Attendee).where(Attendee.meeting_id == meeting.id).order_by(Attendee.seq)
    ).all()
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
            SectionRecord(title=s.title, level=s.level, notes=tuple(by_section.get(s.id, [])))
            for s in sections
        ),
    )


def _latest(session: Session, channel_pk: int, status: MeetingStatus) -> Meeting | None:
    """The channel's latest meeting in *status*."""
    return session.scalars(
        select(Meeting)
        .where(Meeting.channel_pk == channel_pk, Meeting.status == status)
        .order_by(Meeting.id.desc())
        .limit(1)
    ).first()


def load_timeboxes(session: Session, meeting: Meeting, now: datetime) -> list[tuple[Section, timeboxes.Timebox]]:
    """Every section of *meeting* with its timebox, in agenda order, as of *now*."""
    sections = session.scalars(
        select(Section).where(Section.meeting_id == meeting.id).order_by(Section.position)
    ).all()
    visits = [
        timeboxes.Visit(v.section_id, v.started_at, v.ended_at)
        for v in session.scalars(select(SectionVisit).where(SectionVisit.meeting_id == meeting.id))
    ]
    boxes = timeboxes.timeboxes(sections, visits, meeting.current_section_id, now)
    return list(zip(sections, boxes, strict=True))
