"""Connecting to the database, applying migrations, and read and write transactions.

SQLite is set up for concurrent writers: WAL journal, a busy timeout, ``synchronous=FULL`` so an
acknowledged note survives a crash (of the process or of the machine), and write transactions that
take the write lock up front (``BEGIN IMMEDIATE``) so that two writers never deadlock on a lock
upgrade. Writers of one process also queue on a lock of their own before ``BEGIN IMMEDIATE``: SQLite
lets a waiting writer poll with growing sleeps, which under load made the slowest acknowledgements
wait hundreds of milliseconds for a lock that had long been free. PostgreSQL is used through
psycopg 3; commands for one channel serialise on its row (``SELECT ... FOR UPDATE``).

Every wait for the database (a lock, a connection) is bounded by ``timeout_ms`` (default 2 s, under
Slack's 3 s to acknowledge), so a command whose database is gone or stuck answers that nothing was
saved instead of never answering. A PostgreSQL server that stops answering with the connection
open is covered too: the database work of a Slack request, and every batch of notes, has a
deadline at which a watchdog cuts its connection (:class:`Deadlines`). Errors that mean the
database is unreachable or refused the operation become :class:`DatabaseUnavailable`; the
connection pool checks connections before use, so the bot recovers by itself when the database
returns.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "store" / "migrations"  # shipped in the package
DEFAULT_TIMEOUT_MS = 2_000
MIGRATION_TIMEOUT_MS = 60_000


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or refused the operation; nothing was changed."""


def redact_url(url: str) -> str:
    """*url* with its password hidden, for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable DATABASE_URL>"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (the driver reviewbot ships with)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Engine:
    """Create an engine for *url*, with the settings described above."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except ArgumentError as error:
        raise DatabaseUnavailable(f"DATABASE_URL is not a database URL ({error})") from None
    if backend != "sqlite":
        try:
            engine = create_engine(
                url,
                pool_pre_ping=backend != "postgresql",  # PostgreSQL: checked on checkout, below
                pool_size=10,
                max_overflow=20,
                pool_timeout=timeout_ms / 1000,
                connect_args={"connect_timeout": max(2, math.ceil(timeout_ms / 1000))}
                if backend == "postgresql"
                else {},
            )
        except (NoSuchModuleError, ImportError) as error:
            raise DatabaseUnavailable(f"no driver for {parsed.drivername} ({error})") from None
        if backend == "postgresql":

            @event.listens_for(engine, "connect")
            def _on_pg_connect(dbapi_connection: Any, _record: Any) -> None:
                # A lock held elsewhere makes a command fail in time instead of waiting for ever.
                with dbapi_connection.cursor() as cursor:
                    cursor.execute(f"SET lock_timeout = {int(timeout_ms)}")
                dbapi_connection.commit()

            @event.listens_for(engine, "checkout")
            def _on_pg_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
                # What pool_pre_ping does, but inside the deadline of the write that asks for the
                # connection (a hung server would otherwise hold the ping for ever).
                DEADLINES.attach(dbapi_connection.fileno())
                try:
                    dbapi_connection.autocommit = True
                    try:
                        dbapi_connection.execute("SELECT 1")
                    finally:
                        if not dbapi_connection.closed:
                            dbapi_connection.autocommit = False
                except Exception as error:
                    DEADLINES.attach(None)
                    if DEADLINES.missed():
                        raise DatabaseUnavailable("the database did not answer in time") from None
                    raise DisconnectionError(str(error)) from error  # the pool tries a new connection

        return engine

    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailable(f"cannot create the folder of {database}: {error.strerror or error}") from None
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
        _enable_wal(cursor, timeout_ms)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("reviewbot_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _enable_wal(cursor: Any, timeout_ms: int) -> None:
    """Switch to WAL. Two processes opening a new database together may find it locked while
    the other one switches (the busy handler does not cover this), so that is retried."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Deadlines:
    """Cuts the database connection of a transaction that runs past its deadline, so that it fails
    in time (with :class:`DatabaseUnavailable`) instead of waiting for a hung server for ever.

    A transaction announces its deadline (:meth:`begin`); the connection it is given is attached
    to it when the pool hands it over (:meth:`attach`, before the ping); one watchdog thread shuts
    the socket of a transaction still running at its deadline. Once it is about to COMMIT or roll
    back (:meth:`settle`) it is left alone: cut during COMMIT, nobody could say whether it was
    saved, and its connection is about to go back to the pool. A Slack request gives every
    transaction of its thread a deadline (:meth:`request`), so that it is answered in time.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._open: set[_Write] = set()
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._sleeping_until = math.inf  # when the watchdog next looks, unless woken

    @contextmanager
    def request(self, seconds: float) -> Iterator[None]:
        """Give this thread's transactions a deadline *seconds* from now (a request's answer)."""
        previous = getattr(self._local, "request_deadline", None)
        self._local.request_deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.request_deadline = previous

    def request_deadline(self) -> float | None:
        """The deadline :meth:`request` set for this thread, if any."""
        return getattr(self._local, "request_deadline", None)

    def begin(self, deadline: float) -> _Write:
        """Start a transaction of this thread, due by *deadline* (``time.monotonic()``)."""
        write = _Write(deadline)
        with self._changed:
            self._open.add(write)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="reviewbot-db-deadlines", daemon=True)
                self._thread.start()
        self._stack().append(write)
        return write

    def attach(self, fd: int | None) -> None:
        """Give this thread's current transaction (if any) its connection's socket (None: none now).

        It keeps a duplicate of the descriptor, so that the number it holds cannot come to mean
        another socket after the connection closes."""
        write = self._current()
        if write is not None:
            with self._changed:
                write.release()
                write.fd = os.dup(fd) if fd is not None else None
                if write.deadline < self._sleeping_until:
                    self._changed.notify()

    def settle(self) -> None:
        """This thread's current transaction commits or rolls back now: it is not cut any more."""
        write = self._current()
        if write is not None:
            with self._changed:
                write.settled = True

    def missed(self) -> bool:
        """Whether this thread's current transaction was cut (or is past its deadline)."""
        write = self._current()
        return write is not None and (write.cut or time.monotonic() >= write.deadline)

    def end(self, write: _Write) -> bool:
        """End a transaction of this thread (again: nothing); True if it was cut at its deadline."""
        with self._changed:
            if write not in self._open:
                return False
            self._open.discard(write)
            write.release()
        stack = self._stack()
        if write in stack:
            stack.remove(write)
        return write.cut

    def _stack(self) -> list[_Write]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _current(self) -> _Write | None:
        stack = getattr(self._local, "stack", None)
        return stack[-1] if stack else None

    def _watch(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [w for w in self._open if w.fd is not None and not w.cut and not w.settled]
                for write in due:
                    if write.deadline <= now:
                        write.cut = True
                        _shut(write.fd)
                waiting = [w.deadline for w in due if not w.cut]
                self._sleeping_until = min(waiting) if waiting else math.inf
                self._changed.wait(max(self._sleeping_until - now, 0.001) if waiting else None)


class _Write:
    __slots__ = ("cut", "deadline", "fd", "settled")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fd: int | None = None  # a duplicate of the connection's socket, closed by release()
        self.cut = False
        self.settled = False

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _shut(fd: int | None) -> None:
    """Shut a connection's socket down (its owner's blocked read returns at once)."""
    if fd is None:
        return
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


#: The watchdog of every database in this process.
DEADLINES = Deadlines()


class Database:
    """The engine and the two kinds of transaction the bot uses."""

    def __init__(self, url: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.url = normalize_url(url)
        self.timeout_ms = timeout_ms
        self.engine = create_db_engine(self.url, timeout_ms)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = self.engine.execution_options(reviewbot_write=True)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)
        self._writer_lock = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (bounded by the thread's request deadline, if it has one)."""
        deadline = DEADLINES.request_deadline()
        if deadline is None or self.is_sqlite:
            with self._guard(), self._read() as session, session.begin():
                yield session
            return
        with self._bounded(self._read, deadline) as session:
            yield session

    @contextmanager
    def write(self, deadline: float | None = None) -> Iterator[Session]:
        """A write transaction, committed when the block ends without an exception.

        With a *deadline* (``time.monotonic()``; by default the thread's request deadline, if it
        has one), on PostgreSQL, a write still waiting for the server then is cut short and fails
        with :class:`DatabaseUnavailable` (see :class:`Deadlines`); nothing of it is saved.
        """
        if deadline is None:
            deadline = DEADLINES.request_deadline()
        if deadline is None or self.is_sqlite:
            with self._guard(), self._writer_turn(), self._write() as session, session.begin():
                yield session
            return
        with self._bounded(self._write, deadline) as session:
            yield session

    @contextmanager
    def _bounded(self, sessions: sessionmaker[Session], deadline: float) -> Iterator[Session]:
        """A PostgreSQL transaction from *sessions* that is cut at *deadline* (see :class:`Deadlines`)."""
        if deadline <= time.monotonic():
            raise DatabaseUnavailable("the database did not answer in time")
        write = DEADLINES.begin(deadline)
        try:
            with self._guard(), sessions() as session, session.begin():
                try:
                    yield session
                finally:
                    DEADLINES.settle()  # COMMIT or ROLLBACK next: never cut from here on
        except DatabaseUnavailable:
            if DEADLINES.end(write):
                raise DatabaseUnavailable("the database did not answer in time") from None
            raise
        finally:
            DEADLINES.end(write)

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """On SQLite, wait (at most the timeout) for this process's previous writer to finish."""
        if self._writer_lock is None:
            yield
            return
        if not self._writer_lock.acquire(timeout=self.timeout_ms / 1000):
            raise DatabaseUnavailable("the database is busy (another write did not finish in time)")
        try:
            yield
        finally:
            self._writer_lock.release()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            raise self._unavailable(exc) from exc
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            raise self._unavailable(exc) from exc

    @staticmethod
    def _unavailable(exc: Exception) -> DatabaseUnavailable:
        orig = getattr(exc, "orig", None)
        log.debug("database unavailable: %r", orig or exc)
        lines = str(orig or exc).strip().splitlines()
        return DatabaseUnavailable(lines[0] if lines else exc.__class__.__name__)

    def check(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless the database answers."""
        with self.read() as session:
            session.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (all heads, so parallel branches apply too).

        Processes starting together on a new SQLite database can find it locked in ways SQLite's
        busy handler does not cover (one of them switching it to WAL); that is tried again until
        the migration timeout.
        """
        deadline = time.monotonic() + MIGRATION_TIMEOUT_MS / 1000
        while True:
            try:
                return self._upgrade()
            except DatabaseUnavailable as error:
                if not self.is_sqlite or "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                log.info("database locked while migrating; trying again")
                time.sleep(0.1)

    def _upgrade(self) -> None:
        from alembic import command

        # Bot processes starting together apply the migrations one after the other, and may
        # wait for each other far longer than a command may wait for the database.
        engine = self.engine
        database = self.engine.url.database or ""
        if self.is_sqlite and database not in ("", ":memory:") and not database.startswith("file:"):
            engine = create_db_engine(self.url, MIGRATION_TIMEOUT_MS)
        try:
            with self._guard(), engine.execution_options(reviewbot_write=True).begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text(f"SET LOCAL lock_timeout = {MIGRATION_TIMEOUT_MS}"))
                    connection.execute(text("SELECT pg_advisory_xact_lock(7305)"))
                config = alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "heads")
        finally:
            if engine is not self.engine:
                engine.dispose()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str | None = None) -> Any:
    """The Alembic configuration for ``migrations/`` (optionally for a given URL)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config
