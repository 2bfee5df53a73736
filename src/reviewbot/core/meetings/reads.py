"""Reading meetings for people: the current one, past ones, a person's, notes and timeboxes.

Every method here is one read-only transaction that returns plain views
(:mod:`reviewbot.core.meetings.views`); nothing here changes what is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from reviewbot.core import timeboxes
from reviewbot.core.channels import channel_row, latest_meeting
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.core.meetings.views import (
    MeetingTally,
    MeetingView,
    NoteView,
    SectionView,
    counted_section_views,
    load_record,
    load_timeboxes,
    meeting_tally,
    meeting_view,
    note_views,
    section_views,
    sections_of,
)
from reviewbot.core.minutes import MeetingRecord
from reviewbot.store.database import Database
from reviewbot.store.schema import Channel, Meeting, MeetingChair, MeetingStatus, Note

T = TypeVar("T")


class MeetingReads:
    """What people look up about meetings."""

    db: Database
    clock: Clock

    def meeting_view(self, caller: Caller) -> MeetingView | None:
        """The running meeting, or else the next meeting being prepared, or None."""
        with self.db.read() as session:
            # A read takes no lock and creates no channel row: a channel never seen has no meeting.
            channel = channel_row(session, caller, self.clock.now(), lock=False)
            if channel is None:
                return None
            meeting = latest_meeting(session, channel.id, MeetingStatus.RUNNING) or latest_meeting(
                session, channel.id, MeetingStatus.PLANNED
            )
            return None if meeting is None else meeting_view(session, meeting)

    def history(self, caller: Caller, limit: int = 20) -> list[MeetingView]:
        """The channel's ended meetings, newest first."""
        with self.db.read() as session:
            channel = channel_row(session, caller, self.clock.now(), lock=False)
            if channel is None:
                return []
            meetings = session.scalars(
                select(Meeting)
                .where(Meeting.channel_pk == channel.id, Meeting.status == MeetingStatus.ENDED)
                .order_by(Meeting.ended_at.desc(), Meeting.id.desc())
                .limit(limit)
            ).all()
            return [meeting_view(session, m) for m in meetings]

    def tally(self, meeting_id: int) -> MeetingTally:
        """How much the meeting holds and when it ran (:class:`MeetingTally`)."""
        return self._read_meeting(meeting_id, meeting_tally)

    def record(self, meeting_id: int) -> MeetingRecord:
        """The stored meeting as plain data, for rendering its minutes."""
        return self._read_meeting(meeting_id, load_record)

    def _read_meeting(self, meeting_id: int, read: Callable[[Session, Meeting], T]) -> T:
        """*read* of meeting *meeting_id*, in one read transaction; a clear error if there is none."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                raise UserError(f"There is no meeting {meeting_id}.")
            return read(session, meeting)

    def find_meeting(self, caller: Caller, target: str = "") -> int:
        """The id of a meeting of this channel: by id, ``last``/empty for the latest ended one, or
        the running one."""
        with self.db.read() as session:
            channel = channel_row(session, caller, self.clock.now(), lock=False)
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

    def timeboxes(self, caller: Caller) -> list[tuple[SectionView, timeboxes.Timebox]]:
        """The running meeting's sections with their time used against plan."""
        with self.db.read() as session:
            channel = channel_row(session, caller, self.clock.now(), lock=False)
            if channel is None:
                return []
            meeting = latest_meeting(session, channel.id, MeetingStatus.RUNNING)
            if meeting is None:
                return []
            boxes = [box for _, box in load_timeboxes(session, meeting, self.clock.now())]
            return list(zip(counted_section_views(session, meeting), boxes, strict=True))

    def view_by_id(self, meeting_id: int) -> MeetingView:
        """Any meeting by its id, as shown to people."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                raise UserError(f"There is no meeting {meeting_id}.")
            return meeting_view(session, meeting)

    def running_section(self, meeting_id: int) -> SectionView | None:
        """The section a running meeting is at (not counted); None if it is not running or is at
        none. Lighter than :meth:`view_by_id` (no counts, attendance or chairs): a section's
        heading asks it at every move."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None or meeting.status != MeetingStatus.RUNNING or meeting.current_section_id is None:
                return None
            views = section_views(meeting.id, meeting.current_section_id, sections_of(session, meeting.id))
            return next((view for view in views if view.current), None)

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
            return note_views(session, meeting, session.scalars(query.limit(limit)).all())

    def note_of(self, meeting_id: int, note_id: int) -> NoteView | None:
        """One note of a meeting (removed or not), if it is there."""
        with self.db.read() as session:
            meeting = session.get(Meeting, meeting_id)
            note = session.get(Note, note_id)
            if meeting is None or note is None or note.meeting_id != meeting_id:
                return None
            return note_views(session, meeting, [note])[0]

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
            return [meeting_view(session, m) for m in upcoming], [meeting_view(session, m) for m in ended]
