"""Short leases on a meeting's live jobs, so that bot processes sharing a database take turns.

Several bot processes may serve one workspace from one PostgreSQL database, each with its own
queue of live jobs (:mod:`reviewbot.slack.live`). Two of them echoing one meeting's notes at once
would each post the notes the other is posting; two sending its agenda could send an older state
after a newer one. A lease (a row of ``live_leases``, migration 0010) says which process may run
a kind of job for a meeting, until when. It is taken with one statement (:data:`TAKE`): an insert
that, on conflict, takes the row over only if it is free, expired, or already the taker's (so
taking it again extends it); the row is locked for that one statement only, and times are
seconds of the database's clock, the one clock every process shares. No transaction stays open
while the holder talks to Slack. While a process lives, a thread of its own extends the leases it
holds (:data:`RENEW`, every third of their time), so that a job that waits long for Slack's budget
keeps its lease; a holder that dies loses its leases when they expire.

A process that finds the lease held marks it ``wanted`` in the same statement, and the holder
reads the mark as it lets the lease go (:data:`RELEASE`): if it is set, the holder keeps the lease
and runs its job once more, which does what the other process wanted (the job reads the state
when it runs: a note the other process took, a move). Both are one statement on the row, so the
mark is either seen by the release or made after it, when the lease is free to take: nothing is
left waiting, and the other process does not have to ask again and again (it asked every second
once: at 100 meetings, hundreds of retries a second, each a timer thread, held up the queues).

This is hand-written SQL outside :mod:`reviewbot.store.note_batches` because the ORM cannot say
"insert, or take over if free, expired or mine, and tell me whether I have it" in one statement.
It runs on both databases (the tests use SQLite too), but only a bot on PostgreSQL needs it: a
SQLite database is served by one process, whose queues already run a meeting's jobs in turn.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from sqlalchemy import Engine, TextClause, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from reviewbot.store.database import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

#: How long a lease lasts unless its holder takes it again (renews it) or lets it go: the longest a
#: holder that died keeps the others waiting.
LEASE_SECONDS = 30.0
#: How long a lease statement may wait for the database (a connection, a lock, the statement).
LEASE_TIMEOUT_MS = 2_000
#: Connections of the leases' own pool on PostgreSQL: each statement holds one for a millisecond,
#: so a few serve every job of a process, and the processes' connections stay within the server's
#: ``max_connections`` however many jobs ask at once (they wait their turn instead).
LEASE_POOL = 2
LEASE_POOL_OVERFLOW = 2

_NOW = {
    "postgresql": "extract(epoch FROM clock_timestamp())::float8",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}

#: Take the lease (meeting, job) for :owner for :seconds if it is free, expired or ours, else mark
#: it wanted; the owner comes back (:owner if taken).
TAKE = """
    INSERT INTO live_leases (meeting_id, job, owner, expires_at, wanted)
    VALUES (:meeting_id, :job, :owner, {now} + :seconds, false)
    ON CONFLICT (meeting_id, job) DO UPDATE
    SET owner = CASE WHEN {free} THEN excluded.owner ELSE live_leases.owner END,
        expires_at = CASE WHEN {free} THEN excluded.expires_at ELSE live_leases.expires_at END,
        wanted = NOT ({free})
    RETURNING owner
"""
_FREE = "live_leases.owner = excluded.owner OR live_leases.expires_at <= {now}"

#: Extend the lease, if :owner holds it and it has not expired (a lease let go is not taken again).
RENEW = """
    UPDATE live_leases SET expires_at = {now} + :seconds
    WHERE meeting_id = :meeting_id AND job = :job AND owner = :owner AND expires_at > {now}
"""

#: Let the lease go if :owner still holds it, unless it is wanted: then keep it (and clear the
#: mark). A row comes back if :owner held it, with ``expires_at`` above 0 if it was wanted.
RELEASE = """
    UPDATE live_leases SET expires_at = CASE WHEN wanted THEN expires_at ELSE 0 END, wanted = false
    WHERE meeting_id = :meeting_id AND job = :job AND owner = :owner
    RETURNING expires_at
"""


def process_owner() -> str:
    """A name for this process as a lease holder, unique among the processes on the database."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class LiveLeases:
    """The leases of one holder (*owner*, by default this process) on the database *db*."""

    def __init__(self, db: Database, owner: str | None = None, seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.owner = owner or process_owner()
        self.seconds = seconds
        now = _NOW[db.engine.dialect.name]
        self._engine = _own_engine(db)
        self._take = text(TAKE.format(free=_FREE.format(now=now), now=now))
        self._renew = text(RENEW.format(now=now))
        self._release = text(RELEASE)
        self._held: set[tuple[int, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def take(self, meeting_id: int, job: str, seconds: float | None = None) -> bool:
        """Take the meeting's lease on *job* for *seconds* (default :attr:`seconds`) if it is
        free, expired or already ours (then it is extended); whether we hold it now. A lease held
        by another holder is marked wanted (see the module description). Raises
        :class:`~reviewbot.store.database.DatabaseUnavailable` when the database cannot answer."""
        params = {
            "meeting_id": meeting_id,
            "job": job,
            "owner": self.owner,
            "seconds": self.seconds if seconds is None else seconds,
        }
        taken = self._execute(self._take, params) == [self.owner]
        with self._lock:
            if taken:
                self._held.add((meeting_id, job))
            else:
                self._held.discard((meeting_id, job))
        return taken

    def release(self, meeting_id: int, job: str) -> bool:
        """Let the meeting's lease on *job* go, if we still hold it (a lease that expired and was
        taken by another holder stays theirs), unless another holder wanted it meanwhile: then we
        keep it, and True says to run the job once more (see the module description)."""
        params = {"meeting_id": meeting_id, "job": job, "owner": self.owner}
        kept = False
        try:
            kept = any(expires > 0 for expires in self._execute(self._release, params))
        finally:
            if not kept:  # let go, or the database did not answer: not renewed any more, it expires
                with self._lock:
                    self._held.discard((meeting_id, job))
        return kept

    def held(self, meeting_id: int, job: str) -> bool:
        """Whether we hold the meeting's lease on *job*, as far as we know (taken, not let go, and
        not found lost when it was last renewed)."""
        with self._lock:
            return (meeting_id, job) in self._held

    def renew(self) -> None:
        """Extend every lease we hold by :attr:`seconds` from now; forget those found lost (they
        expired, and another holder may have them)."""
        with self._lock:
            held = sorted(self._held)
        for meeting_id, job in held:
            params = {"meeting_id": meeting_id, "job": job, "owner": self.owner, "seconds": self.seconds}
            kept = self._execute(self._renew, params) == 1
            if not kept:
                with self._lock:
                    self._held.discard((meeting_id, job))

    def start(self) -> LiveLeases:
        """Renew our leases on a thread of our own, every third of their time, until :meth:`close`."""
        if self._renewer is None:
            self._renewer = threading.Thread(target=self._renew_while_open, name="live-leases", daemon=True)
            self._renewer.start()
        return self

    def close(self) -> None:
        """Stop renewing (the leases still held expire, or are let go by their jobs), and close
        the connections."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(5)
        if self._engine is not None:
            self._engine.dispose()

    def _renew_while_open(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self.renew()
            except DatabaseUnavailable as error:
                log.warning("could not renew the live leases (%s); they expire unless renewed in time", error)
            except Exception:
                log.exception("could not renew the live leases")

    def _execute(self, statement: TextClause, params: dict[str, Any]) -> Any:
        """Run one lease statement; the first column of the rows it returned, or else how many it
        changed. On PostgreSQL it runs
        in autocommit on the leases' own pool (one round trip, no transaction around it; a
        connection the server had closed is replaced once); on SQLite, in a write transaction."""
        if self._engine is None:
            with self.db.write() as session:
                return _outcome(session.execute(statement, params))
        for attempt in range(2):
            try:
                with self._engine.connect() as connection:
                    return _outcome(connection.execute(statement, params))
            except (DBAPIError, PoolTimeout) as error:
                if isinstance(error, DBAPIError) and error.connection_invalidated and attempt == 0:
                    continue
                orig = getattr(error, "orig", None)
                lines = str(orig or error).strip().splitlines()
                raise DatabaseUnavailable(lines[0] if lines else type(error).__name__) from error
        raise AssertionError("unreachable")


def _outcome(result: Any) -> Any:
    """The first column of the rows a statement returned (RETURNING), or else how many it changed."""
    return [row[0] for row in result.all()] if result.returns_rows else int(result.rowcount)


def _own_engine(db: Database) -> Engine | None:
    """On PostgreSQL, a small autocommit pool of the leases' own, bounded by a statement and lock
    timeout; None on SQLite (the database's own write transactions serve)."""
    if db.is_sqlite:
        return None
    engine = create_engine(
        db.url,
        pool_size=LEASE_POOL,
        max_overflow=LEASE_POOL_OVERFLOW,
        pool_timeout=LEASE_TIMEOUT_MS / 1000,
        connect_args={"connect_timeout": max(2, LEASE_TIMEOUT_MS // 1000)},
        isolation_level="AUTOCOMMIT",
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {LEASE_TIMEOUT_MS}")
            cursor.execute(f"SET lock_timeout = {LEASE_TIMEOUT_MS}")

    return engine
