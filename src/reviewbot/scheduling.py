"""Running the notice sweep on a schedule, in exactly one bot process at a time.

Every bot process runs an election: a small thread that, every few seconds, tries to become
(or checks that it still is) the scheduler process. The winner runs APScheduler 3 with its
SQLAlchemy job store in our database and one job, ``reviewbot:sweep``, that calls
:meth:`reviewbot.core.notices.Notices.sweep` every ``interval`` seconds (and at once on start).
The job has a stable id and is added with ``replace_existing``, so a restart replaces it rather
than adding a second one. The sweep itself works out what is due from the stored series and
meetings, so a reminder missed while no process was running is handled on the first run.

Who wins:

* PostgreSQL: ``pg_try_advisory_lock`` on a dedicated connection (no pool). PostgreSQL releases
  the lock when that connection closes, also when its process dies, and another process takes
  over at its next election round. A process that loses its connection stops its scheduler.
* SQLite: an exclusive ``flock`` on a file beside the database (the OS releases it when the
  process dies); an in-memory database is this process's alone.

Even if two processes ever swept at once, the send log's unique keys would let each notice
through once.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from reviewbot.store.database import Database
from reviewbot.store.engine import create_db_engine
from reviewbot.store.schema import SchedulerJob

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "reviewbot:sweep"
JOB_TABLE = SchedulerJob.__tablename__
DEFAULT_INTERVAL = 15.0
DEFAULT_ELECTION_INTERVAL = 10.0

# The jobs of the schedulers in this process, by token. APScheduler stores a job as a reference
# to a module-level function and its arguments; ours are the function below and a token.
_JOBS: dict[str, Callable[[], object]] = {}


def run_registered(token: str) -> None:
    """The stored job's function: run the job registered under *token* in this process."""
    job = _JOBS.get(token)
    if job is None:
        log.warning("no scheduler job %s in this process; skipped", token)
        return
    job()


class Leadership(Protocol):
    """Decides which process runs the scheduler."""

    def acquire(self) -> bool:
        """Become the scheduler process, or check that this process still is; True if it is."""
        ...

    def release(self) -> None:
        """Stop being the scheduler process."""
        ...


class PostgresLeadership:
    """A session-level advisory lock, held on a dedicated connection, keyed by database and schema."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)
        self.connection: Connection | None = None

    def acquire(self) -> bool:
        if self.connection is not None:
            try:
                self.connection.execute(text("SELECT 1"))
                return True
            except Exception as error:
                log.warning("scheduler lock connection lost (%s); no longer the scheduler", type(error).__name__)
                self._close()
                return False
        try:
            connection = self.engine.connect()
            connection.execution_options(isolation_level="AUTOCOMMIT")
            where = connection.execute(text("SELECT current_database() || '.' || current_schema()")).scalar()
            key = lock_key(f"reviewbot.scheduler.{where}")
            if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                with contextlib.suppress(Exception):  # notice a vanished host in seconds, not hours
                    for setting in ("tcp_keepalives_idle = 30", "tcp_keepalives_interval = 10"):
                        connection.execute(text(f"SET {setting}"))
                self.connection = connection
                return True
            connection.close()
        except Exception as error:
            log.warning("could not try the scheduler lock: %s", type(error).__name__)
        return False

    def release(self) -> None:
        self._close()
        self.engine.dispose()

    def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


class FileLeadership:
    """An exclusive, non-blocking ``flock`` on a lock file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        if self.fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the lock


class ProcessLeadership:
    """This process is always the scheduler process (a database no other process can open)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for *name*."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def leadership_for(db: Database) -> Leadership:
    """The election that fits the database."""
    if not db.is_sqlite:
        return PostgresLeadership(db.url)
    database = make_url(db.url).database
    if not database or database == ":memory:" or database.startswith("file:") or os.name != "posix":
        return ProcessLeadership()
    return FileLeadership(Path(database).expanduser().with_name(Path(database).name + ".scheduler.lock"))


class Scheduler:
    """Elects this process or not, and while it is elected runs the sweep with APScheduler."""

    def __init__(
        self,
        db: Database,
        job: Callable[[], object],
        interval: float = DEFAULT_INTERVAL,
        election_interval: float = DEFAULT_ELECTION_INTERVAL,
        leadership: Leadership | None = None,
    ) -> None:
        self.db = db
        self.interval = interval
        self.election_interval = election_interval
        self.leadership = leadership or leadership_for(db)
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.runs = 0
        self._job = job
        self._aps: BackgroundScheduler | None = None
        self._lock = threading.RLock()
        self._ran = threading.Condition()
        self._running = self._rerun = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        _JOBS[self.token] = self._run_job

    @property
    def is_leader(self) -> bool:
        """Whether this process runs the scheduler now."""
        return self._aps is not None

    def start(self) -> None:
        """Start the election thread (which elects at once, then every ``election_interval``)."""
        self._thread = threading.Thread(target=self._elect_forever, name="reviewbot-scheduler", daemon=True)
        self._thread.start()

    def elect(self) -> bool:
        """One election round: start or stop the scheduler to match the outcome."""
        with self._lock:
            if self._stopping.is_set():
                return False
            leader = self.leadership.acquire()
            if leader and self._aps is None:
                self._start_scheduler()
            elif not leader and self._aps is not None:
                log.warning("this process is no longer the scheduler process")
                self._stop_scheduler()
            return leader

    def run_now(self) -> bool:
        """Have the sweep run now (if this process is the scheduler); False if it is not."""
        with self._lock:
            if self._aps is None:
                return False
            with self._ran:
                if self._running:  # it runs now: have it run once more when it is done
                    self._rerun = True
                    return True
            self._aps.modify_job(SWEEP_JOB_ID, next_run_time=datetime.now(UTC))
            return True

    def wait_for_runs(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until the job has run *count* times in this process (for tests and tools)."""
        with self._ran:
            return self._ran.wait_for(lambda: self.runs >= count, timeout)

    def stored_job_ids(self) -> list[str]:
        """The ids of the jobs in the database's job store."""
        with self.db.read() as session:
            return list(session.scalars(select(SchedulerJob.id).order_by(SchedulerJob.id)))

    def stop(self) -> None:
        """Stop electing and scheduling; let another process take over."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            if self._aps is not None:
                self._stop_scheduler()
            self.leadership.release()
        _JOBS.pop(self.token, None)

    def _run_job(self) -> None:
        """Run the job, and once more if :meth:`run_now` was called while it ran."""
        while True:
            with self._ran:
                self._running, self._rerun = True, False
            try:
                self._job()
            except Exception:
                log.exception("the scheduled job failed")
            with self._ran:
                self.runs += 1
                self._ran.notify_all()
                if not self._rerun:
                    self._running = False
                    return

    def _elect_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                self.elect()
            except Exception:
                log.exception("scheduler election failed")
            self._stopping.wait(self.election_interval)

    def _start_scheduler(self) -> None:
        store = SQLAlchemyJobStore(engine=create_db_engine(self.db.url), tablename=JOB_TABLE)
        aps = BackgroundScheduler(
            jobstores={"default": store},
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        # Added before start: at start it replaces the job a previous run left in the store.
        aps.add_job(
            run_registered,
            IntervalTrigger(seconds=self.interval, timezone=UTC),
            args=[self.token],
            id=SWEEP_JOB_ID,
            name="post due reminders and timebox notices",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )
        aps.start()
        self._aps = aps
        log.info("this process is the scheduler process (sweep every %gs)", self.interval)

    def _stop_scheduler(self) -> None:
        aps, self._aps = self._aps, None
        if aps is not None:
            with contextlib.suppress(Exception):
                aps.shutdown(wait=True)
