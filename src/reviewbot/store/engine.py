"""Connecting to the database: the engine for a ``DATABASE_URL``, set up for reviewbot's use.

SQLite is set up for concurrent writers: WAL journal, a busy timeout, ``synchronous=FULL`` so an
acknowledged note survives a crash (of the process or of the machine), and write transactions that
take the write lock up front (``BEGIN IMMEDIATE``) so that two writers never deadlock on a lock
upgrade. PostgreSQL is used through psycopg 3, with a ``lock_timeout``, and each pooled connection
is checked at checkout inside the deadline of the work that asks for it
(:mod:`reviewbot.store.deadlines`): pinged when its socket shows the server ended it or spoke.
Every wait for the database (a lock, a connection) is bounded by ``timeout_ms`` (default 2 s,
under Slack's 3 s to acknowledge).

On PostgreSQL a process opens at most 20 connections here, 6 for the shared Slack budget and 4 for
the live views' leases: three bot processes on one server stay within PostgreSQL's default
``max_connections`` of 100 (a benchmark run with 30 here reached it, and requests were refused).
"""

from __future__ import annotations

import math
import select
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError

from reviewbot.store.deadlines import DEADLINES

DEFAULT_TIMEOUT_MS = 2_000


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or refused the operation; nothing was changed."""


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
                max_overflow=10,
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
                # connection (a hung server would otherwise hold the ping for ever), and only when
                # the connection's socket has something to say (see quiet_socket).
                fd = dbapi_connection.fileno()
                DEADLINES.attach(fd)
                if quiet_socket(fd):
                    return
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


def quiet_socket(fd: int) -> bool:
    """Whether an idle pooled PostgreSQL connection's socket has nothing to read: then it is
    used without a ping, a round trip saved on every transaction.

    Between transactions the server sends nothing on its own unless it is ending the connection
    (a restart, ``pg_terminate_backend``: an error message, then the socket closes) or has a
    notice to give; both make the socket readable, and then the connection is pinged as before
    (and replaced if the ping fails). A server that went silent (hung, or a network that drops
    packets) is not seen here, but neither does a ping find it sooner: the transaction's first
    statement waits, like the ping would, until its deadline cuts the connection.
    """
    poller = select.poll()  # not select(): a descriptor may be numbered 1024 or more
    poller.register(fd, select.POLLIN | select.POLLPRI)
    try:
        return not poller.poll(0)
    except OSError:
        return False


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
