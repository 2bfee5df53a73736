"""Scribe mode: messages typed in the meeting's channel become notes, and follow their edits.

A message is part of the minutes when the running meeting's scribe posts it at the top of the
channel, or when anyone posts it in a section's thread (the adapter says which section). Each
line that is not empty and not an aside (``// ...``) is one note, in the syntax of ``/note``
(:func:`reviewbot.core.notes.parse`), attributed by the same rules (:func:`reviewbot.core.notes.place`).

Notes remember their message by an opaque key from the adapter (Slack's ``ts``) and their line in
it, so a message delivered twice is recorded once, an edit changes, adds or removes its notes
(each change kept as a revision by the message's author), and a deletion deletes them, also after
the meeting ended. Everything else said in the channel is conversation, not minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from reviewbot.core import notes
from reviewbot.core.channels import channel_row, latest_meeting, running_meeting
from reviewbot.core.context import Caller, Clock
from reviewbot.core.meetings.revision_log import record_revision
from reviewbot.core.meetings.scribing import is_scribe
from reviewbot.core.meetings.views import NoteView, note_views, people_keys
from reviewbot.store.database import Database
from reviewbot.store.schema import Meeting, MeetingStatus, Note, NoteKind, RevisionAction, Section

ASIDE = "//"


@dataclass(frozen=True)
class MessageNotes:
    """What became of a message: its notes as they now are (none when it is conversation)."""

    notes: tuple[NoteView, ...] = ()
    changed: bool = False  # False for conversation, and for a message delivered again

    @property
    def recorded(self) -> bool:
        """Whether the message is part of the minutes."""
        return bool(self.notes)


def note_lines(text: str) -> list[str]:
    """The lines of a message that are notes: not empty, and not asides (``// ...``). NUL is
    dropped: PostgreSQL cannot store it, and nobody means to type it."""
    lines = (line.strip() for line in text.replace("\x00", "").splitlines())
    return [line for line in lines if line and not line.startswith(ASIDE)]


class ChannelMessages:
    """Record, edit and delete the notes of messages typed in a meeting's channel."""

    db: Database
    clock: Clock

    def record_message(self, caller: Caller, key: str, text: str, section_id: int | None = None) -> MessageNotes:
        """Record the message *key* that *caller* posted, at the top of the channel (*section_id*
        None) or in that section's thread; a :class:`UserError` says why it cannot be (nothing is
        recorded then)."""
        if not self._may_be_minutes(caller, key, section_id):
            return MessageNotes()
        with self.db.write() as session:
            meeting = running_meeting(session, caller, self.clock.now())
            if meeting is None:
                return MessageNotes()
            stored = self._notes_of(session, meeting.id, key)
            if stored:
                return MessageNotes(tuple(note_views(session, meeting, stored)))
            return self._record(session, meeting, caller, key, text, section_id)

    def edit_message(self, caller: Caller, key: str, text: str, section_id: int | None = None) -> MessageNotes:
        """The message *key* now reads *text*: its notes follow, as revisions by *caller* (its
        author). A message that was not recorded is recorded now, if it would be when posted."""
        if not self._may_be_minutes(caller, key, section_id):
            return MessageNotes()
        with self.db.write() as session:
            channel = channel_row(session, caller, self.clock.now())
            assert channel is not None
            first = session.scalars(_of_message(channel.id, key).limit(1)).first()
            if first is None:
                meeting = running_meeting(session, caller, self.clock.now())
                if meeting is None:
                    return MessageNotes()
                return self._record(session, meeting, caller, key, text, section_id)
            meeting = session.get(Meeting, first.meeting_id)
            assert meeting is not None
            return self._revise(session, meeting, caller, self._notes_of(session, meeting.id, key), text)

    def delete_message(self, caller: Caller, key: str) -> MessageNotes:
        """The message *key* was deleted: so are its notes (kept in their history)."""
        with self.db.read() as session:  # most deleted messages were never minutes: no write for them
            channel = channel_row(session, caller, self.clock.now(), lock=False)
            if channel is None or session.scalars(_of_message(channel.id, key).limit(1)).first() is None:
                return MessageNotes()
        with self.db.write() as session:
            channel = channel_row(session, caller, self.clock.now())
            assert channel is not None
            stored = list(session.scalars(_of_message(channel.id, key).where(Note.deleted_at.is_(None))))
            if not stored:
                return MessageNotes()
            now = self.clock.now()
            for note in stored:
                record_revision(session, note, caller, RevisionAction.DELETE, None, now)
                note.deleted_at, note.deleted_by = now, caller.user_id
            session.flush()
            meeting = session.get(Meeting, stored[0].meeting_id)
            assert meeting is not None
            return MessageNotes(tuple(note_views(session, meeting, stored)), changed=True)

    # -- internals ------------------------------------------------------------------------------

    def _may_be_minutes(self, caller: Caller, key: str, section_id: int | None) -> bool:
        """Whether the message could be (or already is) part of the minutes, read without taking
        the channel's lock: most messages in a channel are conversation, and cost no write."""
        with self.db.read() as session:
            channel = channel_row(session, caller, self.clock.now(), lock=False)
            if channel is None:
                return False
            if session.scalars(_of_message(channel.id, key).limit(1)).first() is not None:
                return True
            meeting = latest_meeting(session, channel.id, MeetingStatus.RUNNING)
            if meeting is None:
                return False
            return section_id is not None or is_scribe(session, meeting.id, caller.user_id)

    def _record(
        self, session: Session, meeting: Meeting, caller: Caller, key: str, text: str, section_id: int | None
    ) -> MessageNotes:
        if section_id is not None:
            in_meeting = session.scalar(
                select(Section.id).where(Section.id == section_id, Section.meeting_id == meeting.id)
            )
            if in_meeting is None:
                return MessageNotes()  # a thread of another meeting's section
        elif not is_scribe(session, meeting.id, caller.user_id):
            return MessageNotes()  # conversation
        lines = note_lines(text)
        if not lines:
            return MessageNotes()
        parsed = [notes.parse(line) for line in lines]
        where = section_id if section_id is not None else meeting.current_section_id
        last = session.execute(
            select(Note.depth, Note.section_id)
            .where(Note.meeting_id == meeting.id, Note.deleted_at.is_(None))
            .order_by(Note.seq.desc())
            .limit(1)
        ).first()
        previous = None if last is None else (last[0], last[1])
        people = people_keys(session, meeting.id)
        added = []
        for line, note in enumerate(parsed):
            placed = notes.place(note, where, previous, people.__contains__)
            added.append(self._new_note(session, meeting, caller, key, line, placed, where))
            previous = (placed.depth, where)
            people.add(notes.name_key(caller.user_name))
        session.flush()
        return MessageNotes(tuple(note_views(session, meeting, added)), changed=True)

    def _revise(
        self, session: Session, meeting: Meeting, caller: Caller, stored: Sequence[Note], text: str
    ) -> MessageNotes:
        parsed = [notes.parse(line) for line in note_lines(text)]
        by_line = {note.message_line: note for note in stored}
        where = stored[0].section_id
        people = people_keys(session, meeting.id)
        now = self.clock.now()
        changed = False
        current: list[Note] = []
        for line, new in enumerate(parsed):
            note = by_line.get(line)
            placed = notes.attribute(new, people.__contains__)
            if note is None:
                note = self._new_note(session, meeting, caller, stored[0].message_key or "", line, placed, where)
                changed = True
            elif note.deleted_at is not None or (note.text, note.depth, note.kind) != (new.text, new.depth, new.kind):
                record_revision(session, note, caller, RevisionAction.EDIT, new.text, now)
                note.text, note.depth, note.kind = placed.text, placed.depth, NoteKind(placed.kind)
                note.speaker, note.owner, note.deleted_at, note.deleted_by = placed.speaker, placed.owner, None, None
                changed = True
            current.append(note)
        for note in stored:
            if (note.message_line or 0) >= len(parsed) and note.deleted_at is None:
                record_revision(session, note, caller, RevisionAction.DELETE, None, now)
                note.deleted_at, note.deleted_by = now, caller.user_id
                changed = True
        session.flush()
        return MessageNotes(tuple(note_views(session, meeting, current)), changed=changed)

    def _new_note(
        self,
        session: Session,
        meeting: Meeting,
        caller: Caller,
        key: str,
        line: int,
        placed: notes.PlacedNote,
        section_id: int | None,
    ) -> Note:
        seq = (session.scalar(select(func.max(Note.seq)).where(Note.meeting_id == meeting.id)) or 0) + 1
        note = Note(
            meeting_id=meeting.id,
            section_id=section_id,
            seq=seq,
            depth=placed.depth,
            kind=NoteKind(placed.kind),
            speaker=placed.speaker,
            owner=placed.owner,
            text=placed.text,
            author_id=caller.user_id,
            author_name=caller.user_name,
            created_at=self.clock.now(),
            message_key=key,
            message_line=line,
        )
        session.add(note)
        session.flush()
        return note

    @staticmethod
    def _notes_of(session: Session, meeting_id: int, key: str) -> list[Note]:
        """The notes of message *key* in the meeting, by line."""
        return list(
            session.scalars(
                select(Note).where(Note.meeting_id == meeting_id, Note.message_key == key).order_by(Note.message_line)
            )
        )


def _of_message(channel_pk: int, key: str) -> Select[tuple[Note]]:
    """The notes of message *key* in any meeting of the channel, in order."""
    return (
        select(Note)
        .join(Meeting, Meeting.id == Note.meeting_id)
        .where(Meeting.channel_pk == channel_pk, Note.message_key == key)
        .order_by(Note.seq)
    )
