"""A channel's row and its meetings, found (and locked) inside a transaction.

Every change to a channel's meetings takes that channel's row lock first, so commands for one
meeting apply one at a time in the order they arrive, on SQLite and PostgreSQL alike, and in any
number of bot processes. These helpers are shared by every core service that changes a channel's
meetings, action items or schedule.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reviewbot.core.context import Caller, UserError
from reviewbot.store.schema import Channel, Meeting, MeetingStatus

ARCHIVE_WORKSPACE = "archive"
"""The workspace id of the archive pseudo-channel, where meetings imported from a wiki without a
channel go. Its minutes were public on the wiki already, so they count as public everywhere."""

ARCHIVE_CHANNEL = "archive"
"""The channel id of the archive pseudo-channel."""


def channel_row(session: Session, caller: Caller, now: datetime, lock: bool = True) -> Channel | None:
    """The caller's channel; with *lock*, created (at *now*) if new and locked for this transaction."""
    query = select(Channel).where(Channel.workspace_id == caller.workspace_id, Channel.channel_id == caller.channel_id)
    if not lock:
        return session.scalars(query).first()
    channel = session.scalars(query.with_for_update()).first()
    if channel is not None:
        return channel
    values = {"workspace_id": caller.workspace_id, "channel_id": caller.channel_id, "created_at": now}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(Channel).values(**values).on_conflict_do_nothing())
    return session.scalars(query.with_for_update()).one()


def latest_meeting(session: Session, channel_pk: int, status: MeetingStatus) -> Meeting | None:
    """The channel's latest meeting in *status*."""
    return session.scalars(
        select(Meeting)
        .where(Meeting.channel_pk == channel_pk, Meeting.status == status)
        .order_by(Meeting.id.desc())
        .limit(1)
    ).first()


def running_meeting(session: Session, caller: Caller, now: datetime) -> Meeting | None:
    """The caller's channel's running meeting, with the channel locked."""
    channel = channel_row(session, caller, now)
    assert channel is not None
    return latest_meeting(session, channel.id, MeetingStatus.RUNNING)


STALE_AGENDA = "That agenda belongs to a meeting that is no longer running."
"""What a click on the agenda message of a meeting that has ended is told."""


def require_running(session: Session, caller: Caller, now: datetime, meeting_id: int | None = None) -> Meeting:
    """The running meeting, or a polite error saying how to start one. With *meeting_id* (a
    click on that meeting's agenda message), only that meeting: a click on the agenda of one
    that has ended is refused, whatever runs in the channel now."""
    meeting = running_meeting(session, caller, now)
    if meeting_id is not None and (meeting is None or meeting.id != meeting_id):
        raise UserError(STALE_AGENDA)
    if meeting is None:
        raise UserError("No meeting is running in this channel. Start one with `/review start <title>`.")
    return meeting


def planned_meeting(session: Session, caller: Caller, now: datetime, create: bool = False) -> Meeting | None:
    """The meeting being prepared in the caller's channel; with *create*, a new one if none is."""
    channel = channel_row(session, caller, now)
    assert channel is not None
    meeting = latest_meeting(session, channel.id, MeetingStatus.PLANNED)
    if meeting is None and create:
        meeting = Meeting(
            channel_pk=channel.id, status=MeetingStatus.PLANNED, created_at=now, created_by=caller.user_id
        )
        session.add(meeting)
        session.flush()
    return meeting


def lock_meeting(session: Session, meeting_id: int) -> Meeting:
    """Take the lock of the meeting's channel (as every change does) and return the meeting."""
    channel_pk = session.scalar(select(Meeting.channel_pk).where(Meeting.id == meeting_id))
    if channel_pk is None:
        raise UserError("That meeting no longer exists.")
    session.scalars(select(Channel).where(Channel.id == channel_pk).with_for_update()).one()
    meeting = session.get(Meeting, meeting_id, populate_existing=True)
    assert meeting is not None
    return meeting
