"""The note write path: ``/note`` and messages added to the minutes, committed in batches.

Notes that arrive together for a channel are committed together, in the order they arrived
(:mod:`reviewbot.core.groupcommit`); each note is still checked on its own against the rules of
:func:`reviewbot.core.notes.place`, and each note-taker hears back only once their note is
committed. The batch's reads and insert are :func:`reviewbot.store.note_batches.write_note_batch`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reviewbot.core import notes
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.core.groupcommit import GroupCommit, Pending
from reviewbot.core.meetings.views import NoteView, section_views
from reviewbot.store.database import Database
from reviewbot.store.note_batches import AuthorCache, BatchTarget, write_note_batch
from reviewbot.store.schema import NoteKind


@dataclass(frozen=True)
class NoteRequest:
    """A note waiting to be written: who typed it, what it says, where it goes."""

    caller: Caller
    parsed: notes.ParsedNote
    speaker: str | None
    section_id: int | None
    received: float  # time.monotonic() when it arrived


class NoteTaking:
    """Record notes in the running meeting of a channel."""

    db: Database
    clock: Clock

    def __init__(self) -> None:
        self._note_batches: GroupCommit[NoteRequest, NoteView] = GroupCommit(self._write_notes)
        self._authors = AuthorCache()

    def add_note(
        self, caller: Caller, raw: str, *, speaker: str | None = None, section_id: int | None = None
    ) -> NoteView:
        """Record a note in the current section; committed when this returns.

        With *speaker*, *raw* is what that person said, taken as it is (``Speaker: raw``), as
        when a message is added to the minutes; *section_id* puts it in that section of the
        running meeting instead of the current one.
        """
        parsed = notes.parse(raw) if speaker is None else notes.quoted(speaker, raw)
        request = NoteRequest(caller, parsed, speaker, section_id, time.monotonic())
        return self._note_batches.submit((caller.workspace_id, caller.channel_id), request)

    def _write_notes(self, batch: list[Pending[NoteRequest, NoteView]]) -> None:
        """Store a batch of notes for one channel in one transaction, each checked on its own."""
        caller = batch[0].item.caller
        placed: list[tuple[Pending[NoteRequest, NoteView], dict[str, Any]]] = []
        wants_people = any(
            p.item.speaker is None and notes.split_speaker(p.item.parsed.text) is not None for p in batch
        )
        now = self.clock.now()

        def place(target: BatchTarget) -> list[Mapping[str, Any]]:
            """The rows of the notes that follow the rules, in order; the others fail."""
            section_ids = {section.id for section in target.sections}
            previous = target.last_note
            known = set(target.people)
            seq = target.last_seq
            for pending in batch:
                request = pending.item
                section_id = request.section_id if request.section_id in section_ids else None
                section_id = target.current_section_id if section_id is None else section_id
                try:
                    note = notes.place(request.parsed, section_id, previous, known.__contains__, request.speaker)
                except UserError as error:
                    pending.fail(error)
                    continue
                seq += 1
                placed.append(
                    (
                        pending,
                        {
                            "meeting_id": target.meeting_id,
                            "section_id": section_id,
                            "seq": seq,
                            "depth": note.depth,
                            "kind": NoteKind(note.kind),
                            "speaker": note.speaker,
                            "owner": note.owner,
                            "text": note.text,
                            "author_id": request.caller.user_id,
                            "author_name": request.caller.user_name,
                            "created_at": now,
                        },
                    )
                )
                previous = (note.depth, section_id)
                known.add(notes.name_key(request.caller.user_name))
            return [row for _, row in placed]

        # Every note-taker must hear back within Slack's 3 seconds, saved or not: the batch is
        # cut short (nothing saved) if the database has not answered by then.
        deadline = min(pending.item.received for pending in batch) + self.db.timeout_ms / 1000
        with self.db.write(deadline=deadline) as session:
            stored = write_note_batch(
                session.connection(), self._authors, caller.workspace_id, caller.channel_id, wants_people, place
            )
            if stored is None:
                for pending in batch:
                    pending.fail(
                        UserError(
                            "No meeting is running in this channel, so the note was not recorded. "
                            "Start one with `/review start <title>`."
                        )
                    )
                return
            if not placed:
                return
        # Committed: only now does each note-taker learn that their note is stored.
        stored.remember()
        target = stored.target
        shown = {view.id: view for view in section_views(target.meeting_id, target.current_section_id, target.sections)}
        for pending, row in placed:
            section = row["section_id"]
            pending.succeed(
                NoteView(
                    id=stored.ids[row["seq"]],
                    seq=row["seq"],
                    text=row["text"],
                    depth=row["depth"],
                    kind=row["kind"].value,
                    speaker=row["speaker"],
                    section=shown.get(section) if section is not None else None,
                    meeting_id=row["meeting_id"],
                    author_id=row["author_id"],
                    author_name=row["author_name"],
                )
            )
