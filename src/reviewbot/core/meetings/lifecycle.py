"""Preparing and running a meeting: its agenda, chairs, attendance, sections and end.

Each method is one thing people do, in one write transaction that first locks the channel
(:mod:`reviewbot.core.channels`), so a meeting's commands apply one at a time, in order, in any
number of bot processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reviewbot.core import action_items, agenda, notes, roles
from reviewbot.core.channels import planned_meeting, require_running, running_meeting
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.core.meetings.views import (
    MeetingTally,
    MeetingView,
    SectionView,
    meeting_tally,
    meeting_view,
    note_count,
    note_counts,
    section_view,
    sections_of,
)
from reviewbot.core.minutes import safe_url
from reviewbot.store.database import Database
from reviewbot.store.schema import Attendee, Meeting, MeetingStatus, Note, NoteKind, Section, SectionVisit

MAX_MEETING_TITLE = 300
MAX_NAME_LENGTH = 100
BOT_AUTHOR = "reviewbot"


class MeetingLifecycle:
    """Prepare, run and end meetings; one method per thing people do."""

    db: Database
    timezone: str
    clock: Clock

    def add_agenda_item(self, caller: Caller, item: agenda.AgendaItem) -> SectionView:
        """Append a section to the running meeting's agenda, or else to the next meeting's."""
        with self.db.write() as session:
            meeting = self._prepared_or_running(session, caller, create=True)
            self._require_agenda_editor(session, meeting, caller)
            sections = sections_of(session, meeting.id)
            if item.level == 2 and not any(s.level == 1 for s in sections):
                raise UserError(
                    "A subsection goes under a top-level section: add one first with `/review agenda add <Title>`."
                )
            section = self._insert_section(session, meeting, len(sections), item, planned=True)
            return section_view(session, meeting, section.id)

    def remove_agenda_item(self, caller: Caller, target: str) -> SectionView:
        """Remove a section that has no notes from the agenda."""
        with self.db.write() as session:
            meeting = self._prepared_or_running(session, caller)
            if meeting is None:
                raise UserError("There is no agenda yet. Add sections with `/review agenda add <Title>`.")
            self._require_agenda_editor(session, meeting, caller)
            sections = sections_of(session, meeting.id)
            index = agenda.find(sections, target, self._current_index(meeting, sections))
            section = sections[index]
            if section.id == meeting.current_section_id:
                raise UserError("That is the current section; move to another one before removing it.")
            if note_count(session, meeting.id, section.id):
                raise UserError("That section already has notes, so it stays in the minutes.")
            view = section_view(session, meeting, section.id)
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
            meeting = self._prepared_or_running(session, caller, create=True)
            self._require_agenda_editor(session, meeting, caller)
            sections = sections_of(session, meeting.id)
            counts = note_counts(session, meeting.id)
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
                    session.add(new_section(meeting, position, item, True, self.clock.now()))
                else:
                    existing.position = position
                    existing.level = item.level
                    existing.title = item.title
                    existing.duration_minutes = item.duration_minutes
            session.flush()
            return meeting_view(session, meeting)

    def editable_agenda(self, caller: Caller) -> MeetingView | None:
        """The meeting whose agenda an editor opens (the running one, else the next one), if
        the caller may change it; None when nothing is prepared yet."""
        with self.db.read() as session:
            meeting = self._prepared_or_running(session, caller)
            if meeting is None:
                return None
            self._require_agenda_editor(session, meeting, caller)
            return meeting_view(session, meeting)

    def start(self, caller: Caller, title: str) -> MeetingView:
        """Start the channel's meeting at the first section of its prepared agenda."""
        title = " ".join(title.split())
        if len(title) > MAX_MEETING_TITLE:
            raise UserError(f"Meeting titles can be at most {MAX_MEETING_TITLE} characters long.")
        with self.db.write() as session:
            running = running_meeting(session, caller, self.clock.now())
            if running is not None:
                raise UserError(
                    f"A meeting is already running here ({running.title}). "
                    "End it with `/review end` before starting another."
                )
            meeting = planned_meeting(session, caller, self.clock.now(), create=True)
            if not title:
                raise UserError("Give the meeting a title: `/review start <title>`.")
            meeting.status = MeetingStatus.RUNNING
            meeting.title = title
            meeting.started_at = self.clock.now()
            meeting.started_by = caller.user_id
            meeting.timezone = self.timezone
            self._carry_over_actions(session, meeting)
            sections = sections_of(session, meeting.id)
            meeting.current_section_id = sections[0].id if sections else None
            self._enter(session, meeting)
            roles.add_chair(session, meeting, caller.user_id, caller.user_name, caller.user_id, self.clock.now())
            session.flush()
            return meeting_view(session, meeting)

    def add_chairs(self, caller: Caller, people: Sequence[tuple[str, str]]) -> tuple[list[str], MeetingView]:
        """Make each ``(user_id, name)`` a chair of the running meeting; only a chair may.

        Returns the names that were added (not those who already chaired) and the meeting.
        """
        with self.db.write() as session:
            meeting = running_meeting(session, caller, self.clock.now())
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
            return added, meeting_view(session, meeting)

    def set_attendance(
        self, caller: Caller, names: Sequence[str], remote: bool, meeting_id: int | None = None
    ) -> MeetingView:
        """Add people to the attendance, in the office or remote (moving them if listed), of the
        running meeting or else the next one; with *meeting_id*, of that running meeting only."""
        cleaned = [" ".join(n.split()).lstrip("@") for n in names]
        cleaned = [n for n in cleaned if n]
        if not cleaned:
            kind = "remote" if remote else "present"
            raise UserError(f"Name the people: `/review {kind} Heather, Gabriel, Ori`.")
        if too_long := [n for n in cleaned if len(n) > MAX_NAME_LENGTH]:
            raise UserError(f"Names can be at most {MAX_NAME_LENGTH} characters (“{too_long[0][:40]}…”).")
        with self.db.write() as session:
            if meeting_id is None:
                meeting = self._prepared_or_running(session, caller, create=True)
            else:
                meeting = require_running(session, caller, self.clock.now(), meeting_id)
            existing = {
                a.name_key: a for a in session.scalars(select(Attendee).where(Attendee.meeting_id == meeting.id))
            }
            seq = max((a.seq for a in existing.values()), default=0)
            for name in cleaned:
                key = notes.name_key(name)
                if key in existing:
                    existing[key].remote = remote
                    continue
                seq += 1
                attendee = Attendee(meeting_id=meeting.id, name=name, name_key=key[:255], remote=remote, seq=seq)
                session.add(attendee)
                existing[key] = attendee
            session.flush()
            return meeting_view(session, meeting)

    def move(self, caller: Caller, where: str, target: str = "", meeting_id: int | None = None) -> SectionView:
        """Move the running meeting (with *meeting_id*, only if it is that one) to the ``next``,
        ``prev`` or a ``goto`` target section."""
        with self.db.write() as session:
            meeting = require_running(session, caller, self.clock.now(), meeting_id)
            roles.require_chair(session, meeting, caller.user_id, "move between sections")
            sections = sections_of(session, meeting.id)
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
            return section_view(session, meeting, sections[new].id)

    def insert_section(self, caller: Caller, item: agenda.AgendaItem) -> SectionView:
        """Insert an unplanned section after the current block (or subsection after the current
        section) of the running meeting and move to it."""
        with self.db.write() as session:
            meeting = require_running(session, caller, self.clock.now())
            roles.require_chair(session, meeting, caller.user_id, "add sections and move between them")
            sections = sections_of(session, meeting.id)
            index = self._current_index(meeting, sections)
            if item.level == 2:
                if index is None:
                    raise UserError(
                        "There is no section to put a subsection under yet; use `/review section <Title>` first."
                    )
                position = index + 1
            else:
                position = len(sections) if index is None else agenda.block_end(sections, index)
            section = self._insert_section(session, meeting, position, item, planned=False)
            meeting.current_section_id = section.id
            self._enter(session, meeting)
            session.flush()
            return section_view(session, meeting, section.id)

    def set_slides(self, caller: Caller, url: str) -> MeetingView:
        """Record the link to the presentation slides."""
        if safe_url(url) is None:
            raise UserError("Give the slides as a web link: `/review slides https://example.org/slides.pdf`.")
        with self.db.write() as session:
            meeting = self._prepared_or_running(session, caller, create=True)
            meeting.slides_url = url.strip()
            session.flush()
            return meeting_view(session, meeting)

    def end(self, caller: Caller, meeting_id: int | None = None) -> MeetingTally:
        """End the running meeting (with *meeting_id*, only if it is that one); what it holds,
        for the summary of its minutes."""
        with self.db.write() as session:
            meeting = require_running(session, caller, self.clock.now(), meeting_id)
            roles.require_chair(session, meeting, caller.user_id, "end the meeting")
            meeting.status = MeetingStatus.ENDED
            meeting.ended_at = self.clock.now()
            meeting.current_section_id = None
            self._enter(session, meeting)
            # Counted in the same transaction (one short query), not in another one after it.
            return meeting_tally(session, meeting)

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
        items = action_items.open_from_previous(session, meeting.channel_pk, exclude_id=meeting.id)
        if not items:
            return
        item = agenda.AgendaItem(level=1, title=action_items.CARRIED_SECTION_TITLE)
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
        section = new_section(meeting, position, item, planned, self.clock.now())
        session.add(section)
        session.flush()
        return section

    def _prepared_or_running(self, session: Session, caller: Caller, create: bool = False) -> Meeting | None:
        """The running meeting, else the one being prepared (with *create*, a new one if none is)."""
        now = self.clock.now()
        return running_meeting(session, caller, now) or planned_meeting(session, caller, now, create=create)


def new_section(meeting: Meeting, position: int, item: agenda.AgendaItem, planned: bool, now: datetime) -> Section:
    """A section of *meeting* at *position*, as the agenda item says (typed text: not wikitext)."""
    return Section(
        meeting_id=meeting.id,
        position=position,
        level=item.level,
        title=item.title,
        planned=planned,
        duration_minutes=item.duration_minutes,
        created_at=now,
    )
