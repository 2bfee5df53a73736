"""The history of a note: every edit and deletion, recorded with who made it, when, and the text
before and after, so that nothing said is silently lost (read by ``NoteEditor.history``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from reviewbot.core.context import Caller
from reviewbot.store.schema import Note, NoteRevision, RevisionAction


def record_revision(
    session: Session, note: Note, caller: Caller, action: RevisionAction, after: str | None, at: datetime
) -> None:
    """Record that *caller* changed *note* (its current text is the "before")."""
    session.add(
        NoteRevision(
            note_id=note.id,
            action=action,
            editor_id=caller.user_id,
            editor_name=caller.user_name,
            at=at,
            before=note.text,
            after=after,
        )
    )
