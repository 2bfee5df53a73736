"""Action items across meetings: open until someone closes them, carried over to the next meeting.

Action items are notes of kind ``action`` (``/note action Owner: text``). A channel's open items
are listed and closed with ``/review actions``; those still open from the previous meeting appear
in the next meeting's reminders and in a "Previous action items" section at its start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewbot.core.channels import channel_row
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.store.database import Database
from reviewbot.store.schema import Meeting, MeetingStatus, Note, NoteKind

CARRIED_SECTION_TITLE = "Previous action items"


@dataclass(frozen=True)
class ActionItem:
    """An open (or just closed) action item and the meeting it comes from."""

    note_id: int
    text: str
    owner: str | None
    meeting_id: int
    meeting_title: str
    meeting_day: str

    def line(self) -> str:
        """``Owner: text (from July 14, 2016)``: as carried over into the next meeting."""
        return f"{self.text} (from {self.meeting_day})"


def meeting_day(meeting: Meeting) -> str:
    """The day a meeting took place, in its own timezone: ``July 14, 2016``."""
    moment = meeting.started_at or meeting.created_at
    local = moment.astimezone(ZoneInfo(meeting.timezone or "UTC"))
    return f"{local:%B} {local.day}, {local.year}"


def previous_meeting(session: Session, channel_pk: int, exclude_id: int | None = None) -> Meeting | None:
    """The channel's most recently ended meeting (other than *exclude_id*)."""
    query = select(Meeting).where(Meeting.channel_pk == channel_pk, Meeting.status == MeetingStatus.ENDED)
    if exclude_id is not None:
        query = query.where(Meeting.id != exclude_id)
    return session.scalars(query.order_by(Meeting.ended_at.desc(), Meeting.id.desc()).limit(1)).first()


def open_items(session: Session, meetings: Sequence[Meeting]) -> list[ActionItem]:
    """The open action items of *meetings*, in their order and then as they were taken."""
    if not meetings:
        return []
    by_id = {m.id: m for m in meetings}
    notes = session.scalars(
        select(Note).where(
            Note.meeting_id.in_(by_id),
            Note.kind == NoteKind.ACTION,
            Note.deleted_at.is_(None),
            Note.closed_at.is_(None),
        )
    ).all()
    order = {m.id: i for i, m in enumerate(meetings)}
    notes = sorted(notes, key=lambda n: (order[n.meeting_id], n.seq))
    return [_item(n, by_id[n.meeting_id]) for n in notes]


def open_from_previous(session: Session, channel_pk: int, exclude_id: int | None = None) -> list[ActionItem]:
    """The open action items of the channel's previous meeting."""
    previous = previous_meeting(session, channel_pk, exclude_id)
    return open_items(session, [previous]) if previous else []


def _item(note: Note, meeting: Meeting) -> ActionItem:
    return ActionItem(
        note_id=note.id,
        text=note.text,
        owner=note.owner,
        meeting_id=meeting.id,
        meeting_title=meeting.title or "",
        meeting_day=meeting_day(meeting),
    )


class Actions:
    """List and close a channel's action items."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def open(self, caller: Caller) -> list[ActionItem]:
        """Every open action item of the channel, oldest meeting first."""
        with self.db.read() as session:
            return self._open(session, caller, lock=False)

    def close(self, caller: Caller, numbers: Sequence[int]) -> tuple[list[ActionItem], list[ActionItem]]:
        """Close the items numbered as ``/review actions`` lists them; returns (closed, still open)."""
        with self.db.write() as session:
            items = self._open(session, caller, lock=True)
            if not items:
                raise UserError("There are no open action items in this channel.")
            if bad := [n for n in numbers if not 1 <= n <= len(items)]:
                raise UserError(
                    f"There is no open action item {bad[0]}; `/review actions` lists items 1 to {len(items)}."
                )
            chosen = [items[n - 1] for n in dict.fromkeys(numbers)]
            now = self.clock.now()
            for item in chosen:
                note = session.get(Note, item.note_id)
                assert note is not None
                note.closed_at, note.closed_by = now, caller.user_id
            closed_ids = {i.note_id for i in chosen}
            return chosen, [i for i in items if i.note_id not in closed_ids]

    def _open(self, session: Session, caller: Caller, lock: bool) -> list[ActionItem]:
        channel = channel_row(session, caller, self.clock.now(), lock=lock)
        if channel is None:
            return []
        meetings = session.scalars(
            select(Meeting)
            .where(Meeting.channel_pk == channel.id, Meeting.status != MeetingStatus.PLANNED)
            .order_by(Meeting.started_at, Meeting.id)
        ).all()
        return open_items(session, meetings)
