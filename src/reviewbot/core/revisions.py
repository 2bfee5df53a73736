"""Changing notes after they were taken: edits and deletions, each kept as a revision.

A note may be changed by its author or by a chair of its meeting, while the meeting runs and
after it ended (the draft always shows the current text). Every change is recorded with who
made it, when, and the text before and after, so nothing said is silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewbot.core import notes, roles
from reviewbot.core.channels import lock_meeting, require_running
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.core.meetings.revision_log import record_revision
from reviewbot.core.meetings.views import NoteView, note_views, people_keys
from reviewbot.store.database import Database
from reviewbot.store.schema import Channel, Meeting, MeetingStatus, Note, NoteKind, NoteRevision, RevisionAction


@dataclass(frozen=True)
class RevisionView:
    """One recorded change to a note."""

    action: str
    editor_id: str
    editor_name: str
    at: datetime
    before: str
    after: str | None


class NoteEditor:
    """Edit and delete notes, with the permission rules and the history."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def editable(self, caller: Caller, note_id: int) -> NoteView:
        """The note, if *caller* may change it (as an editor opens); else a polite error."""
        with self.db.read() as session:
            note, meeting = self._find(session, caller, note_id)
            self._check(session, caller, note, meeting)
            return note_views(session, meeting, [note])[0]

    def edit(self, caller: Caller, note_id: int, text: str) -> NoteView:
        """Replace the note's text; the speaker (and an action item's owner) follow the new text."""
        text = text.strip()
        if not text:
            raise UserError("A note can't be empty; to remove it, delete it instead.")
        if len(text) > notes.MAX_NOTE_LENGTH:
            raise UserError(f"That note is {len(text)} characters long; the limit is {notes.MAX_NOTE_LENGTH}.")
        with self.db.write() as session:
            note, meeting = self._find(session, caller, note_id, lock=True)
            self._check(session, caller, note, meeting)
            if text != note.text:
                owner = note.owner
                if note.kind == NoteKind.ACTION:
                    parts = notes.split_speaker(text)
                    if parts is None:
                        raise UserError("An action item starts with its owner: `Owner: what they will do`.")
                    owner = parts[0].lstrip("@").strip()
                people = people_keys(session, meeting.id)
                record_revision(session, note, caller, RevisionAction.EDIT, text, self.clock.now())
                note.text = text
                note.wikitext = False  # typed now: escaped like any typed note, even if it was imported
                if note.kind == NoteKind.RAW:
                    note.kind = NoteKind.NOTE
                note.owner = owner
                note.speaker = notes.speaker_of(text, lambda key: key in people)
                session.flush()
            return note_views(session, meeting, [note])[0]

    def delete(self, caller: Caller, note_id: int) -> NoteView:
        """Delete the note from the minutes (it stays in the history)."""
        with self.db.write() as session:
            note, meeting = self._find(session, caller, note_id, lock=True)
            self._check(session, caller, note, meeting)
            now = self.clock.now()
            record_revision(session, note, caller, RevisionAction.DELETE, None, now)
            note.deleted_at = now
            note.deleted_by = caller.user_id
            session.flush()
            return note_views(session, meeting, [note])[0]

    def undo_last(self, caller: Caller) -> NoteView:
        """Remove the caller's own last note in the running meeting (``/note undo``)."""
        with self.db.write() as session:
            meeting = require_running(session, caller, self.clock.now())
            note = session.scalars(
                select(Note)
                .where(Note.meeting_id == meeting.id, Note.author_id == caller.user_id, Note.deleted_at.is_(None))
                .order_by(Note.seq.desc())
                .limit(1)
            ).first()
            if note is None:
                raise UserError("You have no notes in this meeting to undo.")
            note.deleted_at = self.clock.now()
            note.deleted_by = caller.user_id
            record_revision(session, note, caller, RevisionAction.DELETE, None, note.deleted_at)
            session.flush()
            return note_views(session, meeting, [note])[0]

    def history(self, note_id: int) -> list[RevisionView]:
        """Every change to the note, oldest first."""
        with self.db.read() as session:
            rows = session.scalars(
                select(NoteRevision).where(NoteRevision.note_id == note_id).order_by(NoteRevision.id)
            ).all()
            return [
                RevisionView(
                    action=r.action.value,
                    editor_id=r.editor_id,
                    editor_name=r.editor_name,
                    at=r.at,
                    before=r.before,
                    after=r.after,
                )
                for r in rows
            ]

    def _find(self, session: Session, caller: Caller, note_id: int, lock: bool = False) -> tuple[Note, Meeting]:
        meeting_id = session.scalar(select(Note.meeting_id).where(Note.id == note_id))
        if meeting_id is None:
            raise UserError("That note no longer exists.")
        meeting = lock_meeting(session, meeting_id) if lock else session.get(Meeting, meeting_id)
        note = session.get(Note, note_id, populate_existing=True)
        if note is None or meeting is None:
            raise UserError("That note no longer exists.")
        channel = session.get(Channel, meeting.channel_pk)
        if channel is None or (channel.workspace_id, channel.channel_id) != (caller.workspace_id, caller.channel_id):
            raise UserError("That note belongs to a meeting of another channel.")
        return note, meeting

    @staticmethod
    def _check(session: Session, caller: Caller, note: Note, meeting: Meeting) -> None:
        if meeting.status == MeetingStatus.PLANNED:
            raise UserError("That note belongs to a meeting that has not started.")
        if note.deleted_at is not None:
            raise UserError("That note was already deleted.")
        if not roles.may_change_note(session, meeting, note.author_id, caller.user_id):
            names = ", ".join(roles.chair_names(session, meeting)) or "the chairs"
            raise roles.NotAllowed(
                f"Only {note.author_name}, who took this note, or a chair ({names}) can change it. "
                "To add something, take a new note."
            )
