"""Scribes: the note-takers whose messages in the meeting's channel are its notes.

Scribes belong to the channel's running meeting. Anyone may name themselves (``/review scribe
me``); naming others, or taking them off, is for the chairs, as are the other changes to how a
meeting runs (:mod:`reviewbot.core.roles`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reviewbot.core import roles
from reviewbot.core.channels import running_meeting
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.store.database import Database
from reviewbot.store.schema import Meeting, MeetingScribe

NO_MEETING = (
    "Scribes belong to a running meeting: start one with `/review start <title>`, then "
    "`/review scribe me` makes your messages in this channel its notes."
)


def scribe_names(session: Session, meeting_id: int) -> list[str]:
    """The meeting's scribes, in the order they were named."""
    return list(
        session.scalars(
            select(MeetingScribe.name).where(MeetingScribe.meeting_id == meeting_id).order_by(MeetingScribe.id)
        )
    )


def is_scribe(session: Session, meeting_id: int, user_id: str) -> bool:
    """Whether *user_id*'s messages at the top of the channel are the meeting's notes."""
    found = session.scalar(
        select(MeetingScribe.id).where(MeetingScribe.meeting_id == meeting_id, MeetingScribe.user_id == user_id)
    )
    return found is not None


class Scribing:
    """Name, list and take off the running meeting's scribes."""

    db: Database
    clock: Clock

    def add_scribes(self, caller: Caller, people: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """Make each ``(user_id, name)`` a scribe; only a chair may name someone else.

        Returns the names added (not those already scribes) and every scribe's name.
        """
        with self.db.write() as session:
            meeting = self._meeting(session, caller)
            if any(user_id != caller.user_id for user_id, _ in people):
                roles.require_chair(session, meeting, caller.user_id, "name other people scribes")
            known = set(session.scalars(select(MeetingScribe.user_id).where(MeetingScribe.meeting_id == meeting.id)))
            added = []
            for user_id, name in people:
                if user_id in known:
                    continue
                known.add(user_id)
                session.add(
                    MeetingScribe(
                        meeting_id=meeting.id,
                        user_id=user_id,
                        name=name,
                        added_by=caller.user_id,
                        added_at=self.clock.now(),
                    )
                )
                added.append(name)
            session.flush()
            return added, scribe_names(session, meeting.id)

    def remove_scribes(self, caller: Caller, people: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """Take each ``(user_id, name)`` off the scribes; only a chair may take off someone else.

        Returns the names removed and every scribe's name left.
        """
        with self.db.write() as session:
            meeting = self._meeting(session, caller)
            if any(user_id != caller.user_id for user_id, _ in people):
                roles.require_chair(session, meeting, caller.user_id, "take other people off the scribes")
            ids = [user_id for user_id, _ in people]
            removed = list(
                session.scalars(
                    select(MeetingScribe.name)
                    .where(MeetingScribe.meeting_id == meeting.id, MeetingScribe.user_id.in_(ids))
                    .order_by(MeetingScribe.id)
                )
            )
            session.execute(
                delete(MeetingScribe).where(MeetingScribe.meeting_id == meeting.id, MeetingScribe.user_id.in_(ids))
            )
            return removed, scribe_names(session, meeting.id)

    def scribes(self, caller: Caller) -> list[str]:
        """The running meeting's scribes."""
        with self.db.read() as session:
            return scribe_names(session, self._meeting(session, caller).id)

    def _meeting(self, session: Session, caller: Caller) -> Meeting:
        meeting = running_meeting(session, caller, self.clock.now())
        if meeting is None:
            raise UserError(NO_MEETING)
        return meeting
