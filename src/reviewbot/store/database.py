"""Read and write transactions, and applying migrations: the one door to the database.

Writers of one SQLite process queue on a lock of their own before ``BEGIN IMMEDIATE``: SQLite lets
a waiting writer poll with growing sleeps, which under load made the slowest acknowledgements wait
for a lock that had long been free. On PostgreSQL commands for one channel serialise on its row
(``SELECT ... FOR UPDATE``, :mod:`reviewbot.core.channels`), and transactions run under the
request's deadline (:mod:`reviewbot.store.deadlines`). Errors that mean the database is
unreachable or refused the operation become :class:`DatabaseUnavailable`; the pool checks
connections before use, so the bot recovers by itself when the database returns.

The Alembic migrations ship inside the package (``reviewbot/store/migrations``), so an installed
reviewbot can create and upgrade its schema (``reviewbot db upgrade``, and at every start).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from reviewbot.store.deadlines import DEADLINES
from reviewbot.store.engine import DEFAULT_TIMEOUT_MS, DatabaseUnavailable, create_db_engine, normalize_url

__all__ = ["DEFAULT_TIMEOUT_MS", "MIGRATIONS_DIR", "Database", "DatabaseUnavailable", "alembic_config"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_TIMEOUT_MS = 60_000


class Database:
    """The engine and the two kinds of transaction the bot uses."""

    def __init__(self, url: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.url = normalize_url(url)
        self.timeout_ms = timeout_ms
        self.engine = create_db_engine(self.url, timeout_ms)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = self.engine.execution_options(reviewbot_write=True)
        # PostgreSQL reads run each statement on its own (autocommit): under READ COMMITTED, its
        # default, every statement sees a snapshot of its own even inside a transaction, so a
        # read's BEGIN and COMMIT were two round trips to the server that changed nothing.
        # SQLite's read transaction is one snapshot for all its statements, and stays.
        reader = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = sessionmaker(reader, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)
        self._writer_lock = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (bounded by the thread's request deadline, if it has one); on
        PostgreSQL, statements that each see what was committed when they run (see above)."""
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
    """The Alembic configuration for the packaged migrations (optionally for a given URL)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config
