"""Who may do what in a meeting: chairs run it, everyone takes notes.

Whoever starts a meeting chairs it, and a chair can add more chairs. Only chairs move between
sections, change the agenda of a running meeting or end it; a note can be changed by its
author or by a chair. These are functions over an open session, called inside the meeting's
transaction, so the check and the change it guards happen together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewbot.core.context import UserError
from reviewbot.store.schema import Meeting, MeetingChair


class NotAllowed(UserError):
    """The person may not do this; the message says politely who may."""


def chairs(session: Session, meeting: Meeting) -> list[MeetingChair]:
    """The meeting's chairs, in the order they were added."""
    return list(
        session.scalars(select(MeetingChair).where(MeetingChair.meeting_id == meeting.id).order_by(MeetingChair.id))
    )


def is_chair(session: Session, meeting: Meeting, user_id: str) -> bool:
    """Whether *user_id* chairs the meeting (its starter always does)."""
    if meeting.started_by is not None and meeting.started_by == user_id:
        return True
    found = session.scalar(
        select(MeetingChair.id).where(MeetingChair.meeting_id == meeting.id, MeetingChair.user_id == user_id)
    )
    return found is not None


def chair_names(session: Session, meeting: Meeting) -> list[str]:
    """The names of the chairs, for messages."""
    return [c.name for c in chairs(session, meeting)]


def require_chair(session: Session, meeting: Meeting, user_id: str, doing: str) -> None:
    """Raise :class:`NotAllowed` unless *user_id* chairs the meeting; *doing* completes
    "Only the chairs can ...", e.g. ``"move between sections"``."""
    if is_chair(session, meeting, user_id):
        return
    names = ", ".join(chair_names(session, meeting)) or "whoever started it"
    raise NotAllowed(
        f"Only the meeting's chairs ({names}) can {doing}. "
        "Ask one of them, or ask them to make you a chair with `/review chair @you`."
    )


def add_chair(session: Session, meeting: Meeting, user_id: str, name: str, by: str, at: datetime) -> bool:
    """Make *user_id* a chair; False if they already were one."""
    existing = session.scalar(
        select(MeetingChair).where(MeetingChair.meeting_id == meeting.id, MeetingChair.user_id == user_id)
    )
    if existing is not None:
        return False
    session.add(MeetingChair(meeting_id=meeting.id, user_id=user_id, name=name, added_by=by, added_at=at))
    session.flush()
    return True


def may_change_note(session: Session, meeting: Meeting, author_id: str, user_id: str) -> bool:
    """Whether *user_id* may edit or delete a note written by *author_id*."""
    return author_id == user_id or is_chair(session, meeting, user_id)
