"""Slack's Web API budget in PostgreSQL, so that every process on one database spends one budget.

Slack limits each method per workspace, whichever process calls it, and after a 429 expects no
call of that method from the whole workspace until ``Retry-After``. Each row of ``slack_budget``
(migration 0009) is one method's token bucket for one workspace and its pause. A call spends it
with one statement (:data:`SPEND`): it locks the row, refills it for the time since it was last
spent (on the database's clock, the one clock every process shares), takes a token, borrowing
ahead when there is none so that callers are served in the order they asked, and returns how long
the caller has to wait. The statement runs in autocommit on connections of their own (the row
lock lasts one statement; a spend never waits behind a request's transaction or its deadline),
bounded by a statement and lock timeout: if the database cannot answer, :class:`DatabaseUnavailable`
says so, and the caller falls back to its own process's budget.

This is hand-written SQL outside :mod:`reviewbot.store.note_batches` because the ORM cannot say
"lock, refill, take, return the wait" in one statement, and a spend is made before every Web API
call (its cost is measured in ``docs/architecture.md``).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from reviewbot.store.engine import DatabaseUnavailable, normalize_url

log = logging.getLogger(__name__)

#: How long a spend may wait for the database (a lock, a connection, the statement) before the
#: caller falls back to its own budget.
SPEND_TIMEOUT_MS = 1_000

_NOW = "extract(epoch FROM clock_timestamp())::float8"

#: One spend: lock the row, refill it, take a token (:cost when borrowing ahead) if the wait is at
#: most :max_wait, return the wait (seconds until the token may be used: borrowed ahead, or
#: Slack's pause). No row, no answer.
SPEND = text(
    f"""
    WITH row AS (
        SELECT workspace, method, level, at, paused_until, {_NOW} AS now
        FROM slack_budget
        WHERE workspace = :workspace AND method = :method
        FOR UPDATE
    ), refilled AS (
        SELECT workspace, method, now, at, paused_until,
               least(CAST(:burst AS float8), level + greatest(now - at, 0) * :per_second) AS level
        FROM row
    ), decided AS (
        SELECT refilled.*,
               greatest(
                   paused_until - now,
                   CASE WHEN level >= 1 THEN 0 ELSE (1 - level) / :per_second + greatest(at - now, 0) END,
                   0
               ) AS wait
        FROM refilled
    )
    UPDATE slack_budget AS b
    SET level = decided.level - CASE WHEN decided.wait > :max_wait THEN 0 WHEN decided.level >= 1 THEN 1 ELSE :cost END,
        at = greatest(decided.now, decided.at)
    FROM decided
    WHERE b.workspace = decided.workspace AND b.method = decided.method
    RETURNING decided.wait
    """
)

#: A method's bucket, full, the first time any process spends it; it refills from :start_delay
#: seconds later (Slack's bucket starts when the first call arrives).
CREATE = text(
    f"""
    INSERT INTO slack_budget (workspace, method, level, at, paused_until)
    VALUES (:workspace, :method, CAST(:burst AS float8), {_NOW} + :start_delay, 0)
    ON CONFLICT (workspace, method) DO NOTHING
    """
)

#: Seconds left of a method's pause (no row: none).
PAUSE_LEFT = text(
    f"""
    SELECT greatest(paused_until - {_NOW}, 0) FROM slack_budget
    WHERE workspace = :workspace AND method = :method
    """
)

#: Slack refused a call: no call of the method until :seconds from now (a longer pause stays).
REFUSE = text(
    f"""
    INSERT INTO slack_budget (workspace, method, level, at, paused_until)
    VALUES (:workspace, :method, CAST(:burst AS float8), {_NOW}, {_NOW} + :seconds)
    ON CONFLICT (workspace, method) DO UPDATE
    SET paused_until = greatest(slack_budget.paused_until, excluded.paused_until)
    """
)

#: Stands for "wait as long as it takes" in :data:`SPEND` (a bound number keeps the SQL simple).
FOREVER = 1e12


class SharedBuckets:
    """The ``slack_budget`` table of one PostgreSQL database, on an engine of its own."""

    def __init__(self, url: str, timeout_ms: int = SPEND_TIMEOUT_MS) -> None:
        self.engine: Engine = create_engine(
            normalize_url(url),
            pool_size=2,  # a spend holds a connection for a millisecond: a few serve every thread,
            max_overflow=4,  # and three processes stay within PostgreSQL's default 100 (see engine.py)
            pool_timeout=timeout_ms / 1000,
            connect_args={"connect_timeout": max(2, timeout_ms // 1000)},
            isolation_level="AUTOCOMMIT",
        )

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
                cursor.execute(f"SET lock_timeout = {int(timeout_ms)}")

    def spend(
        self,
        workspace: str,
        method: str,
        per_second: float,
        burst: float,
        max_wait: float | None,
        create: bool = True,
        cost: float = 1.0,
        start_delay: float = 0.0,
    ) -> float | None:
        """Take one call of *method* if it can be made within *max_wait* seconds (None: any
        wait); return the wait either way (more than *max_wait*: nothing was taken). A call
        that has to wait for its token costs *cost* tokens (a little over one: a margin).
        With *create* false, a method no process has spent or been refused yet gives None."""
        params = {
            "cost": cost,
            "start_delay": start_delay,
            "workspace": workspace,
            "method": method,
            "per_second": per_second,
            "burst": burst,
            "max_wait": FOREVER if max_wait is None else max_wait,
        }
        for attempt in range(3):
            try:
                with self.engine.connect() as connection:
                    wait = connection.execute(SPEND, params).scalar()
                    if wait is None and create:
                        connection.execute(CREATE, params)
                        wait = connection.execute(SPEND, params).scalar()
                return None if wait is None else float(wait)
            except (DBAPIError, PoolTimeout) as error:
                if isinstance(error, DBAPIError) and error.connection_invalidated and attempt < 2:
                    continue  # a connection the server had closed: the pool makes a new one
                raise _unavailable(error) from error
        raise AssertionError("unreachable")

    def pause_left(self, workspace: str, method: str) -> float:
        """Seconds until the pause of *method* is over (0 when it is not paused)."""
        try:
            with self.engine.connect() as connection:
                left = connection.execute(PAUSE_LEFT, {"workspace": workspace, "method": method}).scalar()
        except (DBAPIError, PoolTimeout) as error:
            raise _unavailable(error) from error
        return float(left or 0.0)

    def refuse(self, workspace: str, method: str, burst: float, seconds: float) -> None:
        """Slack answered 429 for *method*: pause it for every process for *seconds*."""
        params = {"workspace": workspace, "method": method, "burst": burst, "seconds": seconds}
        try:
            with self.engine.connect() as connection:
                connection.execute(REFUSE, params)
        except (DBAPIError, PoolTimeout) as error:
            raise _unavailable(error) from error

    def dispose(self) -> None:
        """Close the connections."""
        self.engine.dispose()


def _unavailable(error: Exception) -> DatabaseUnavailable:
    orig = getattr(error, "orig", None)
    lines = str(orig or error).strip().splitlines()
    return DatabaseUnavailable(lines[0] if lines else type(error).__name__)
