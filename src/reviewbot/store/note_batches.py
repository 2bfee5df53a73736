"""Storing a batch of notes: the one hot path, on fixed SQL run on the driver's cursor.

A note-taker waits for their note to be committed before Slack hears back, and notes arrive in
bursts, so a channel's notes are written in batches (:mod:`reviewbot.core.groupcommit`), each in
one transaction. For that path SQLAlchemy's own work per statement (cache key, parameters, result
wrapping; 60-90 µs) costs more than the database's, so the batch's reads and its insert run here
as fixed SQL on the DBAPI cursor; on PostgreSQL the reads travel in one round trip (psycopg's
pipeline mode). Everything else in reviewbot uses the ORM.

:func:`write_note_batch` is this module's one entry point; the rules that decide where each note
goes and how it is attributed stay in the core (:func:`reviewbot.core.notes.place`), handed in as
a callback. The SQL is built once, at import, from constants of this module and the schema; no
user value is ever part of it.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

from reviewbot.core.notes import name_key
from reviewbot.store.schema import MeetingStatus, Note

NOTE_INSERT_COLUMNS = (
    "meeting_id", "section_id", "seq", "depth", "kind", "speaker", "owner", "text", "author_id", "author_name",
    "created_at",
)  # fmt: skip


class _DriverStatement:
    """A fixed SQL statement run straight on a connection's DBAPI cursor, for the note path.

    Storing a batch of notes is the one hot path: there SQLAlchemy's own work for each statement
    (cache key, parameters, result wrapping; 60-90 µs) costs more than the database's. The SQL is
    written with ``:name`` parameters and turned into the driver's style once per dialect; values
    go to the driver as they are (ints, strings, lists), so they must need no type conversion.
    Driver errors are raised as SQLAlchemy's (a lost connection is invalidated, as SQLAlchemy
    would), so callers handle them like any other.
    """

    _PARAM = re.compile(r":(\w+)")

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._forms: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement in *connection*'s transaction; every row it returns."""
        return _run_together(connection, [(self, params)])[0]

    def bound(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL for *dialect* and its parameters as the driver takes them."""
        form = self._forms.get(dialect.name)
        if form is None:
            form = self._forms[dialect.name] = self._form(dialect)
        sql, order = form
        return sql, params if order is None else tuple(params[name] for name in order)

    def _form(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
        """The SQL in *dialect*'s parameter style, and the order of positional parameters."""
        sql = self.sql
        style = dialect.paramstyle
        if style == "qmark":
            return self._PARAM.sub("?", sql), tuple(self._PARAM.findall(sql))
        if style == "pyformat":
            return self._PARAM.sub(r"%(\1)s", sql), None
        if style == "named":
            return sql, None
        raise NotImplementedError(f"parameter style {style}")


def _run_together(
    connection: Connection, statements: Sequence[tuple[_DriverStatement, Mapping[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """Run *statements* in order in *connection*'s transaction; the rows of each.

    With psycopg they are sent together (pipeline mode): one round trip to the server instead of
    one each, and the server still runs each one after the one before (a statement after a
    ``FOR UPDATE`` sees what the lock's previous holder committed).
    """
    dialect = connection.dialect
    fairy = connection.connection
    driver = fairy.dbapi_connection
    bound = [statement.bound(dialect, params) for statement, params in statements]
    cursors: list[Any] = []
    try:
        if dialect.driver == "psycopg" and len(bound) > 1:
            with driver.pipeline():  # type: ignore[union-attr]
                for sql, values in bound:
                    cursors.append(fairy.cursor())
                    cursors[-1].execute(sql, values)
        else:
            for sql, values in bound:
                cursors.append(fairy.cursor())
                cursors[-1].execute(sql, values)
        return [cursor.fetchall() if cursor.description is not None else [] for cursor in cursors]
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, driver, cursors[-1] if cursors else None)
        if lost:
            connection.invalidate(error)
        sql, values = bound[len(cursors) - 1] if cursors else bound[0]
        raise DBAPIError.instance(
            sql, values, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from error
    finally:
        for cursor in cursors:
            cursor.close()


_LAST_NOTE = "FROM notes n WHERE n.meeting_id = m.id AND n.deleted_at IS NULL ORDER BY n.seq DESC LIMIT 1"
_NOTE_TARGET = (
    "SELECT m.id, m.current_section_id,"
    " (SELECT max(n.seq) FROM notes n WHERE n.meeting_id = m.id),"
    f" (SELECT n.depth {_LAST_NOTE}),"
    f" (SELECT n.section_id {_LAST_NOTE})"
    " FROM meetings m WHERE m.channel_pk = {channel}"
    f" AND m.status = '{MeetingStatus.RUNNING.value}' ORDER BY m.id DESC LIMIT 1"
)
_CHANNEL = "SELECT id FROM channels WHERE workspace_id = :workspace_id AND channel_id = :channel_id"
_RUNNING = (
    f"SELECT id FROM meetings WHERE channel_pk = ({_CHANNEL}) AND status = '{MeetingStatus.RUNNING.value}'"
    " ORDER BY id DESC LIMIT 1"
)
#: PostgreSQL: the channel's row, locked until the transaction ends (its commands are serial).
_LOCK_CHANNEL = _DriverStatement(_CHANNEL + " FOR UPDATE")
_NOTE_TARGET_OF_CHANNEL = _DriverStatement(_NOTE_TARGET.format(channel=f"({_CHANNEL})"))
_SECTIONS_OF_RUNNING = _DriverStatement(
    "SELECT id, position, level, title, planned, duration_minutes FROM sections"
    f" WHERE meeting_id = ({_RUNNING}) ORDER BY position"
)


def _read_target(
    connection: Connection, workspace_id: str, channel_id: str, authors_after: int | None = None
) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]], list[tuple[Any, ...]] | None]:
    """What a batch of notes in a channel needs, read with the channel's commands held off until
    the transaction ends:

    - its running meeting's ``id`` and ``current_section_id``, its highest note number, and the
      depth and section of its last note not removed (None if no meeting is running there);
    - the meeting's sections in agenda order (``id``, ``position``, ``level``, ``title``,
      ``planned``, ``duration_minutes``);
    - with *authors_after*, the rows of :data:`_PEOPLE_OF_MEETING` for the meeting from that note number on.

    On SQLite a write transaction holds the database's one write lock from its ``BEGIN``; on
    PostgreSQL the channel's row is locked first, in the same round trip.
    """
    channel = {"workspace_id": workspace_id, "channel_id": channel_id}
    reads = [(_NOTE_TARGET_OF_CHANNEL, channel), (_SECTIONS_OF_RUNNING, channel)]
    if connection.dialect.name != "sqlite":
        reads.insert(0, (_LOCK_CHANNEL, channel))
    if authors_after is not None:
        reads.append((_PEOPLE_OF_RUNNING, {**channel, "seen_seq": authors_after}))
    results = _run_together(connection, reads)
    people = results.pop() if authors_after is not None else None
    *_, target, sections = results
    return (target[0] if target else None), sections, people


# The row comparison makes the newer notes one range of the (meeting_id, seq) index, whatever the
# statistics say: with a plain ``seq > :seen_seq``, PostgreSQL may plan on a young table's
# statistics, take another index and filter every note of the meeting.
_PEOPLE = (
    "SELECT 0, name_key FROM attendees WHERE meeting_id = {meeting}"
    " UNION ALL SELECT seq, author_name FROM notes"
    " WHERE meeting_id = {meeting} AND (meeting_id, seq) > ({meeting}, :seen_seq)"
)
#: A meeting's attendees (``seq`` 0, name keys) and the authors of its notes after ``seen_seq``.
_PEOPLE_OF_MEETING = _DriverStatement(_PEOPLE.format(meeting=":meeting_id"))
_PEOPLE_OF_RUNNING = _DriverStatement(_PEOPLE.format(meeting=f"({_RUNNING})"))


def _insert_notes(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """Insert note rows (the :data:`NOTE_INSERT_COLUMNS` of each) in one statement; their ids by ``seq``.

    On PostgreSQL the rows travel as one array per column (``INSERT ... SELECT FROM unnest(...)``):
    the statement is the same for any number of rows, so the driver parses it once and the server
    prepares it once, where a multi-row ``VALUES`` statement is a new statement for every batch size,
    parsed again each time (the costliest part of storing a batch of notes). On SQLite it is one
    multi-row ``VALUES``; SQLite's driver keeps the prepared statement of each batch size.
    """
    if not rows:
        return {}
    processors = _note_processors(connection.dialect)
    converted = [[row[name] if process is None else process(row[name]) for name, process in processors] for row in rows]
    if connection.dialect.name == "postgresql":
        arrays = {name: [values[i] for values in converted] for i, (name, _) in enumerate(processors)}
        result = _UNNEST_INSERT.rows(connection, arrays)
    else:
        result = []
        for first in range(0, len(converted), _VALUES_ROWS):
            chunk = converted[first : first + _VALUES_ROWS]
            params = {
                f"{name}_{r}": values[i] for r, values in enumerate(chunk) for i, (name, _) in enumerate(processors)
            }
            result += _values_insert(len(chunk)).rows(connection, params)
    return {seq: note_id for note_id, seq in result}


@functools.cache
def _note_processors(dialect: Dialect) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Each column of :data:`NOTE_INSERT_COLUMNS` with its conversion of values for *dialect*."""
    columns = Note.__table__.c
    return tuple((name, columns[name].type.bind_processor(dialect)) for name in NOTE_INSERT_COLUMNS)


def _note_column_types() -> str:
    """The arrays of :data:`_UNNEST_INSERT`, each cast to its column's PostgreSQL type."""
    columns = Note.__table__.c
    dialect = postgresql.dialect()
    return ", ".join(
        f"CAST(:{name} AS {columns[name].type.compile(dialect=dialect)}[])" for name in NOTE_INSERT_COLUMNS
    )


_UNNEST_INSERT = _DriverStatement(
    f"INSERT INTO notes ({', '.join(NOTE_INSERT_COLUMNS)}) SELECT * FROM unnest({_note_column_types()})"
    " RETURNING id, seq"
)


_VALUES_ROWS = 64  # rows per multi-row VALUES (SQLite's limit is 32766 parameters)


@functools.lru_cache(maxsize=_VALUES_ROWS)
def _values_insert(count: int) -> _DriverStatement:
    """A multi-row ``VALUES`` insert of *count* notes, parameters ``<column>_<row>``."""
    values = ", ".join("(" + ", ".join(f":{name}_{r}" for name in NOTE_INSERT_COLUMNS) + ")" for r in range(count))
    return _DriverStatement(f"INSERT INTO notes ({', '.join(NOTE_INSERT_COLUMNS)}) VALUES {values} RETURNING id, seq")


@dataclass(frozen=True)
class SectionRow:
    """A section of the meeting, as a batch of notes reads it."""

    id: int
    position: int
    level: int
    title: str
    planned: bool
    duration_minutes: int | None


@dataclass(frozen=True)
class BatchTarget:
    """What a batch of notes needs to know of the channel's running meeting, read under its lock."""

    meeting_id: int
    current_section_id: int | None
    last_seq: int  # the highest note number so far (removed notes included)
    last_note: tuple[int, int | None] | None  # depth and section of the last note not removed
    sections: tuple[SectionRow, ...]
    people: frozenset[str]  # name keys of attendees and note authors (empty unless asked for)


@dataclass(frozen=True)
class StoredBatch:
    """A batch written in the caller's transaction: the target it was written to and the ids of
    its notes by number. Call :meth:`remember` once the transaction has committed."""

    target: BatchTarget
    ids: dict[int, int]
    _remember: Callable[[], None]

    def remember(self) -> None:
        """Let the author cache know the batch's notes exist (only after the commit)."""
        self._remember()


class AuthorCache:
    """Who counts as a person of a meeting: its attendees and its note authors (name keys).

    Authors are remembered per meeting and read again only from notes newer than those seen (by
    their ``seq``), so a busy meeting does not scan all its notes for every ``Name:`` note; the
    authors of the notes written in this process are remembered once their batch has committed.
    One per process; shared by every channel's batches.
    """

    _LIMIT = 256  # meetings remembered; past that the cache starts again

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._authors: dict[int, tuple[int, frozenset[str]]] = {}
        self._meeting_of: dict[tuple[str, str], int] = {}  # each channel's last meeting seen

    def read_after(self, channel: tuple[str, str]) -> int:
        """The note number after which a batch in *channel* should read authors: those of the
        channel's last meeting up to it are remembered (0: read them all)."""
        with self._lock:
            meeting_id = self._meeting_of.get(channel)
            return self._authors.get(meeting_id, (0, frozenset()))[0] if meeting_id is not None else 0

    def people(
        self, connection: Connection, meeting_id: int, channel: tuple[str, str], after: int, rows: list[tuple[Any, ...]]
    ) -> frozenset[str]:
        """Name keys of the meeting's people, from the people *rows* a batch in *channel* read
        after note *after* (read again, should the running meeting not be the one *after* was for)."""
        with self._lock:
            stale = after and self._meeting_of.get(channel) != meeting_id
        if stale:
            with self._lock:
                seen_seq = self._authors.get(meeting_id, (0, frozenset()))[0]
            rows = _PEOPLE_OF_MEETING.rows(connection, {"meeting_id": meeting_id, "seen_seq": seen_seq})
            return self._merge(meeting_id, rows, None)
        return self._merge(meeting_id, rows, channel)

    def advance(self, meeting_id: int, after: int, upto: int, authors: set[str]) -> None:
        """Remember *authors* (name keys) as those of the notes ``after`` < seq <= ``upto``, just
        committed here, if the authors of every note up to ``after`` are remembered already."""
        with self._lock:
            seen_seq, known = self._authors.get(meeting_id, (0, frozenset()))
            if seen_seq == after < upto:
                self._authors[meeting_id] = (upto, known | authors)

    def _merge(self, meeting_id: int, rows: list[tuple[Any, ...]], channel: tuple[str, str] | None) -> frozenset[str]:
        """The attendees and newer authors in *rows* with the authors remembered; *channel* is
        remembered as the meeting's."""
        names = {name for seq, name in rows if seq == 0}
        newer = [(seq, name) for seq, name in rows if seq != 0]
        with self._lock:
            seen_seq, authors = self._authors.get(meeting_id, (0, frozenset()))
            if newer:
                authors = authors | {name_key(name) for _, name in newer}
                if len(self._authors) > self._LIMIT:
                    self._authors.clear()
                    self._meeting_of.clear()
                self._authors[meeting_id] = (max(seen_seq, *(seq for seq, _ in newer)), authors)
            if channel is not None:
                self._meeting_of[channel] = meeting_id
        return frozenset(names | authors)


def write_note_batch(
    connection: Connection,
    authors: AuthorCache,
    workspace_id: str,
    channel_id: str,
    wants_people: bool,
    place: Callable[[BatchTarget], Sequence[Mapping[str, Any]]],
) -> StoredBatch | None:
    """Write a batch of notes to the channel's running meeting, in *connection*'s transaction.

    Reads the meeting (locking the channel against its other commands), asks *place* for the rows
    to insert (each with the :data:`NOTE_INSERT_COLUMNS`; the attendees and authors are read too
    when *wants_people*), and inserts them. None when no meeting is running there.
    """
    channel = (workspace_id, channel_id)
    after = authors.read_after(channel) if wants_people else None
    target_row, section_rows, people_rows = _read_target(connection, workspace_id, channel_id, after)
    if target_row is None:
        return None
    meeting_id, current_section_id, max_seq, last_depth, last_section_id = target_row
    people = frozenset()
    if people_rows is not None:
        people = authors.people(connection, meeting_id, channel, after or 0, people_rows)
    target = BatchTarget(
        meeting_id=meeting_id,
        current_section_id=current_section_id,
        last_seq=max_seq or 0,
        last_note=None if last_depth is None else (last_depth, last_section_id),
        sections=tuple(
            SectionRow(id_, position, level, title, bool(planned), minutes)  # SQLite gives planned as 0 or 1
            for id_, position, level, title, planned, minutes in section_rows
        ),
        people=people,
    )
    rows = place(target)
    ids = _insert_notes(connection, rows) if rows else {}
    upto = max((row["seq"] for row in rows), default=target.last_seq)
    written = {name_key(row["author_name"]) for row in rows}
    return StoredBatch(target, ids, lambda: authors.advance(meeting_id, target.last_seq, upto, written))
