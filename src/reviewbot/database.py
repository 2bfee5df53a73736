"""Connecting to the database, applying migrations, and read and write transactions.

SQLite is set up for concurrent writers: WAL journal, a busy timeout, ``synchronous=FULL`` so an
acknowledged note survives a crash, and write transactions that take the write lock up front
(``BEGIN IMMEDIATE``) so that two writers never deadlock on a lock upgrade. PostgreSQL is used
through psycopg 3; commands for one channel serialise on its row (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


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


def create_db_engine(url: str) -> Engine:
    """Create an engine for *url*, with the SQLite settings described above."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("reviewbot_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The engine and the two kinds of transaction the bot uses."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine = create_db_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = self.engine.execution_options(reviewbot_write=True)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction."""
        with self._guard(), self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends without an exception."""
        with self._guard(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            log.warning("database error: %s", exc.orig.__class__.__name__ if exc.orig else exc)
            raise DatabaseUnavailable(str(exc.orig or exc).strip().splitlines()[0]) from exc

    def check(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless the database answers."""
        with self.read() as session:
            session.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (all heads, so parallel branches apply too)."""
        from alembic import command

        with self._guard(), self.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")

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
