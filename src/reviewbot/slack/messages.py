"""Where in Slack the adapter put a meeting's messages (the ``slack_messages`` table).

The live agenda message, each section's thread, each note's echo (one message may echo several
notes: each has its row, with the same ``ts``), messages added with the
shortcut, and the uploaded minutes: their channel and ``ts`` (or file id and permalink), so that
later changes update the same message and a message's thread leads back to its section.

An echo posted through a ``/note`` command's ``response_url`` is recorded with no ``ts``
(:data:`PENDING_TS`: Slack's answer to a ``response_url`` does not say where the message went);
the ``message`` event Slack sends the app for it fills the ``ts`` in (:meth:`MessageStore.learn_ts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from reviewbot.store.database import Database
from reviewbot.store.schema import Note, SlackMessage

AGENDA = "agenda"
SECTION = "section"
NOTE = "note"
SOURCE = "source"
MINUTES = "minutes"
#: The ``ts`` of an echo posted through a ``response_url`` until its ``message`` event tells it.
PENDING_TS = ""


@dataclass(frozen=True)
class Posted:
    """A message (or file) the adapter posted for a meeting."""

    meeting_id: int
    kind: str
    ref_id: int
    channel: str
    ts: str
    url: str | None = None


def _posted(row: SlackMessage) -> Posted:
    return Posted(row.meeting_id, row.kind, row.ref_id, row.channel, row.ts, row.url)


class MessageStore:
    """Reads and writes the coordinates of posted messages."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, meeting_id: int, kind: str, ref_id: int = 0) -> Posted | None:
        """The message of *kind* for the meeting (and section or note *ref_id*), if posted."""
        with self.db.read() as session:
            row = session.scalars(
                select(SlackMessage).where(
                    SlackMessage.meeting_id == meeting_id, SlackMessage.kind == kind, SlackMessage.ref_id == ref_id
                )
            ).first()
            return None if row is None else _posted(row)

    def of_meeting(self, meeting_id: int, kind: str, ref_ids: Iterable[int]) -> dict[int, Posted]:
        """The meeting's messages of *kind* for those of *ref_ids* that have one, by ``ref_id``."""
        query = select(SlackMessage).where(
            SlackMessage.meeting_id == meeting_id, SlackMessage.kind == kind, SlackMessage.ref_id.in_(list(ref_ids))
        )
        with self.db.read() as session:
            return {row.ref_id: _posted(row) for row in session.scalars(query)}

    def last_note_seq(self, meeting_id: int) -> int:
        """The number (``seq``) of the meeting's note with the highest id among those echoed (0
        if none): where its echoes stand, read in one query (each echo job on PostgreSQL reads it)."""
        last = (
            select(func.max(SlackMessage.ref_id))
            .where(SlackMessage.meeting_id == meeting_id, SlackMessage.kind == NOTE)
            .scalar_subquery()
        )
        with self.db.read() as session:
            return session.scalar(select(Note.seq).where(Note.id == last, Note.meeting_id == meeting_id)) or 0

    def find(self, channel: str, ts: str, kinds: Iterable[str] | None = None) -> Posted | None:
        """What the message at *channel*/*ts* is, if the adapter posted or recorded it."""
        query = select(SlackMessage).where(SlackMessage.channel == channel, SlackMessage.ts == ts)
        if kinds is not None:
            query = query.where(SlackMessage.kind.in_(list(kinds)))
        with self.db.read() as session:
            row = session.scalars(query.order_by(SlackMessage.id.desc())).first()
            return None if row is None else _posted(row)

    def minutes(self, meeting_ids: Iterable[int]) -> dict[int, Posted]:
        """The last uploaded minutes of each meeting, by meeting id."""
        ids = list(meeting_ids)
        if not ids:
            return {}
        with self.db.read() as session:
            rows = session.scalars(
                select(SlackMessage).where(SlackMessage.meeting_id.in_(ids), SlackMessage.kind == MINUTES)
            )
            return {row.meeting_id: _posted(row) for row in rows}

    def refs_at(self, meeting_id: int, kind: str, channel: str, ts: str) -> list[int]:
        """The ``ref_id`` of every message of *kind* the meeting has at *channel*/*ts*, in order:
        one echo message may carry several notes."""
        query = select(SlackMessage.ref_id).where(
            SlackMessage.meeting_id == meeting_id,
            SlackMessage.kind == kind,
            SlackMessage.channel == channel,
            SlackMessage.ts == ts,
        )
        with self.db.read() as session:
            return sorted(session.scalars(query))

    def put_many(
        self, meeting_id: int, kind: str, ref_ids: Iterable[int], channel: str, ts: str, section_id: int | None = None
    ) -> None:
        """Remember that one message at *channel*/*ts* shows each of *ref_ids* (new ones: an
        echo that carries several notes), in one transaction; with *section_id*, that the message
        also starts that section's thread (it carries the section's heading)."""
        with self.db.write() as session:
            session.add_all(
                SlackMessage(meeting_id=meeting_id, kind=kind, ref_id=ref_id, channel=channel, ts=ts)
                for ref_id in ref_ids
            )
            if section_id is not None:
                heading = SlackMessage(meeting_id=meeting_id, kind=SECTION, ref_id=section_id, channel=channel, ts=ts)
                session.add(heading)

    def learn_ts(self, learnt: Sequence[tuple[str, Sequence[int], str]]) -> list[bool]:
        """Fill in the ``ts`` of echoes recorded as pending (:data:`PENDING_TS`) from messages
        seen in Slack: each of *learnt* is ``(channel, note ids, ts)`` of one message. For each,
        whether it is settled: its pending echoes now have the ``ts``, or its notes already had
        it (an echo posted with ``chat.postMessage``). One that is not may not be recorded yet.
        One read, and one write only if some echo was pending."""
        ids = {ref for _, refs, _ in learnt for ref in refs}
        channels = {channel for channel, _, _ in learnt}
        if not ids:
            return [True] * len(learnt)
        query = select(SlackMessage.channel, SlackMessage.ref_id, SlackMessage.ts).where(
            SlackMessage.kind == NOTE, SlackMessage.channel.in_(channels), SlackMessage.ref_id.in_(ids)
        )
        with self.db.read() as session:
            known = {(channel, ref): ts for channel, ref, ts in session.execute(query)}
        settled, pending = [], []
        for channel, refs, ts in learnt:
            shown = [known.get((channel, ref)) for ref in refs]
            waiting = [ref for ref, now in zip(refs, shown, strict=True) if now == PENDING_TS]
            settled.append(bool(waiting) or ts in shown)
            if waiting:
                pending.append((channel, waiting, ts))
        if pending:
            with self.db.write() as session:
                for channel, refs, ts in pending:
                    session.execute(
                        update(SlackMessage)
                        .where(
                            SlackMessage.kind == NOTE,
                            SlackMessage.channel == channel,
                            SlackMessage.ts == PENDING_TS,
                            SlackMessage.ref_id.in_(refs),
                        )
                        .values(ts=ts)
                    )
        return settled

    def put(self, meeting_id: int, kind: str, ref_id: int, channel: str, ts: str, url: str | None = None) -> None:
        """Remember where a message was posted (replacing an earlier one of the same kind)."""
        with self.db.write() as session:
            row = session.scalars(
                select(SlackMessage).where(
                    SlackMessage.meeting_id == meeting_id, SlackMessage.kind == kind, SlackMessage.ref_id == ref_id
                )
            ).first()
            if row is None:
                session.add(
                    SlackMessage(meeting_id=meeting_id, kind=kind, ref_id=ref_id, channel=channel, ts=ts, url=url)
                )
            else:
                row.channel, row.ts, row.url = channel, ts, url
