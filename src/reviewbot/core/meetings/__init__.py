"""Meetings: preparing and running them, taking notes, and reading them back.

:class:`Meetings` is the one object the adapters call for all of it; its parts live in
:mod:`.lifecycle` (agenda, chairs, attendance, sections, start and end), :mod:`.note_taking` (the
note write path) and :mod:`.reads` (what people look up), with the shared read models in
:mod:`.views`.
"""

from __future__ import annotations

from reviewbot.core.context import Clock, SystemClock
from reviewbot.core.meetings.lifecycle import BOT_AUTHOR, MAX_MEETING_TITLE, MAX_NAME_LENGTH, MeetingLifecycle
from reviewbot.core.meetings.note_taking import NoteTaking
from reviewbot.core.meetings.reads import MeetingReads
from reviewbot.core.meetings.views import MeetingView, NoteView, SectionView, load_record, load_timeboxes
from reviewbot.store.database import Database

__all__ = [
    "BOT_AUTHOR",
    "MAX_MEETING_TITLE",
    "MAX_NAME_LENGTH",
    "MeetingView",
    "Meetings",
    "NoteView",
    "SectionView",
    "load_record",
    "load_timeboxes",
]


class Meetings(MeetingLifecycle, NoteTaking, MeetingReads):
    """Prepare, run and end meetings, take notes in them, and read them back."""

    def __init__(self, db: Database, timezone: str, clock: Clock | None = None) -> None:
        self.db = db
        self.timezone = timezone
        self.clock = clock or SystemClock()
        NoteTaking.__init__(self)
