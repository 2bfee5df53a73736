"""Meetings: preparing and running them, taking notes, and reading them back.

:class:`Meetings` is the one object the adapters call for all of it; its parts live in
:mod:`.lifecycle` (agenda, chairs, attendance, sections, start and end), :mod:`.note_taking` (the
note write path), :mod:`.scribing` and :mod:`.channel_messages` (scribe mode: messages typed in the
channel as notes) and :mod:`.reads` (what people look up), with the shared read models in
:mod:`.views`.
"""

from __future__ import annotations

from reviewbot.core.context import Clock, SystemClock
from reviewbot.core.meetings.channel_messages import ChannelMessages, MessageNotes
from reviewbot.core.meetings.lifecycle import BOT_AUTHOR, MAX_MEETING_TITLE, MAX_NAME_LENGTH, MeetingLifecycle
from reviewbot.core.meetings.note_taking import NoteTaking
from reviewbot.core.meetings.reads import MeetingReads
from reviewbot.core.meetings.scribing import Scribing
from reviewbot.core.meetings.views import MeetingTally, MeetingView, NoteView, SectionView, load_record, load_timeboxes
from reviewbot.store.database import Database

__all__ = [
    "BOT_AUTHOR",
    "MAX_MEETING_TITLE",
    "MAX_NAME_LENGTH",
    "MeetingTally",
    "MeetingView",
    "Meetings",
    "MessageNotes",
    "NoteView",
    "SectionView",
    "load_record",
    "load_timeboxes",
]


class Meetings(MeetingLifecycle, NoteTaking, Scribing, ChannelMessages, MeetingReads):
    """Prepare, run and end meetings, take notes in them (by command or as scribes), read them back."""

    def __init__(self, db: Database, timezone: str, clock: Clock | None = None) -> None:
        self.db = db
        self.timezone = timezone
        self.clock = clock or SystemClock()
        NoteTaking.__init__(self)
