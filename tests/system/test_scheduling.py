"""APScheduler wiring: the stored sweep job, the election of one scheduler process, fail-over,
and two bot processes on PostgreSQL sending each reminder exactly once."""

from __future__ import annotations

import selectors
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from reviewbot.core import Caller
from reviewbot.runtime import build_runtime
from reviewbot.scheduling import SWEEP_JOB_ID, FileLeadership, Scheduler, leadership_for
from tests.support.doubles import FakeClock, RecordingPoster
from tests.support.paths import ROOT

ANN = Caller("T0001", "C0001", "U1", "Ann")
MEETING = datetime(2016, 10, 13, 15, 0, tzinfo=UTC)
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def kill_connection(scheduler: Scheduler, database_url: str) -> None:
    """What PostgreSQL sees when a process dies: its connection ends (waits until it has)."""
    pid = scheduler.leadership.connection.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(database_url)
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
    admin.dispose()


def test_the_sweep_job_is_stored_once_and_replaced_on_restart(runtime):
    calls = []
    first = Scheduler(runtime.db, lambda: calls.append("first"), interval=3600, election_interval=3600)
    assert first.elect() and first.is_leader
    assert first.wait_for_runs(1)  # at once on start, then every interval
    assert first.stored_job_ids() == [SWEEP_JOB_ID]
    first.stop()
    assert first.stored_job_ids() == [SWEEP_JOB_ID]  # the job store keeps it across the restart

    second = Scheduler(runtime.db, lambda: calls.append("second"), interval=3600, election_interval=3600)
    assert second.elect()
    assert second.wait_for_runs(1)
    assert second.stored_job_ids() == [SWEEP_JOB_ID]  # replaced, not duplicated
    assert second.run_now() and second.wait_for_runs(2)
    assert calls == ["first", "second", "second"]
    second.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_sqlite_a_lock_file_elects_one_process(runtime, tmp_path):
    leadership = leadership_for(runtime.db)
    assert isinstance(leadership, FileLeadership)
    one = Scheduler(runtime.db, lambda: None, interval=3600, election_interval=3600)
    two = Scheduler(runtime.db, lambda: None, interval=3600, election_interval=3600)
    assert one.elect() and not two.elect() and one.elect()
    one.stop()  # (or the process dies: the OS drops its lock)
    assert two.elect() and two.is_leader
    two.stop()


@postgresql_only
def test_on_postgresql_an_advisory_lock_elects_one_process_with_failover(settings, clock, database_url):
    a_rt, b_rt = build_runtime(settings, clock=clock), build_runtime(settings, clock=clock)
    a = Scheduler(a_rt.db, lambda: None, interval=3600, election_interval=3600)
    b = Scheduler(b_rt.db, lambda: None, interval=3600, election_interval=3600)
    assert a.elect() and not b.elect()
    assert a.elect() and not b.elect() and a.is_leader and not b.is_leader
    kill_connection(a, database_url)
    assert b.elect() and b.is_leader  # PostgreSQL released the dead connection's lock
    assert not a.elect() and not a.is_leader  # and the old process, if alive, stands down
    b.stop()
    assert a.elect()  # a clean stop hands over too
    a.stop()
    a_rt.close()
    b_rt.close()


@postgresql_only
def test_two_bot_processes_on_postgresql_send_each_reminder_once(settings, clock, database_url):
    poster = RecordingPoster()
    one, two = build_runtime(settings, clock=clock), build_runtime(settings, clock=clock)
    one.commands.handle("/review", "schedule 2016-07-14 08:00", ANN)
    clock.current = MEETING - timedelta(days=14)
    schedulers = [one.start_scheduler(poster), two.start_scheduler(poster)]
    elected = [s.elect() for s in schedulers]
    assert sorted(elected) == [False, True]
    leader, follower = (schedulers[0], schedulers[1]) if elected[0] else (schedulers[1], schedulers[0])
    follower_runtime = two if elected[0] else one

    assert leader.wait_for_runs(1)
    assert leader.run_now() and leader.wait_for_runs(2)
    assert len(poster.posts) == 1 and "in 14 days" in poster.texts[0]
    assert follower.runs == 0
    follower_runtime.notices.sweep(poster)  # even a process that sweeps out of turn sends nothing again
    assert len(poster.posts) == 1

    kill_connection(leader, database_url)  # the scheduler process dies...
    assert follower.elect()  # ...and the other one takes over at its next election round
    assert follower.wait_for_runs(1)
    clock.current = MEETING - timedelta(days=1)
    assert follower.run_now() and follower.wait_for_runs(2)
    assert not leader.elect()
    assert [t.split("*")[1] for t in poster.texts] == ["Quarterly review in 14 days", "Quarterly review in 24 hours"]
    one.close()
    two.close()


def _line(process, timeout: float = 30.0) -> str:
    ready = selectors.DefaultSelector()
    ready.register(process.stdout, selectors.EVENT_READ)
    assert ready.select(timeout), "the scheduler process said nothing"
    return process.stdout.readline().strip()


@postgresql_only
def test_two_real_processes_one_killed_send_the_reminder_exactly_once(settings, database_url, tmp_path):
    """Real processes: one is elected and posts; it is killed (SIGKILL); the other takes over and,
    finding the reminder in the send log, posts nothing."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    meeting = now + timedelta(days=10)
    setup = build_runtime(settings, clock=FakeClock(now - timedelta(days=1)))
    setup.commands.handle("/review", f"schedule {meeting:%Y-%m-%d %H:%M} UTC once", ANN)
    setup.commands.handle("/review", "schedule remind 252h", ANN)  # due 12 hours ago: missed, sent late
    setup.close()
    out = tmp_path / "posts.txt"
    script = ROOT / "tests" / "support" / "scheduler_process.py"  # a script: run as a user would
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), database_url, str(out)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]  # fmt: skip
    try:
        said = [_line(p) for p in processes]
        assert sorted(said) == ["follower", "leader"]
        leader, follower = processes if said[0] == "leader" else processes[::-1]
        leader.kill()
        leader.wait(timeout=10)
        assert _line(follower) == "leader"  # took over after the kill...
        follower.stdin.close()
        assert follower.wait(timeout=30) == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("C0001 🗓️ *Review in 10 days*: ")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_scheduler_can_be_turned_off_in_a_process(settings, clock):
    from dataclasses import replace

    from reviewbot.config import ConfigError, load_settings

    assert load_settings({"REVIEWBOT_SCHEDULER_INTERVAL": "0"}, dotenv_path=None).scheduler_interval == 0
    assert load_settings({}, dotenv_path=None).scheduler_interval == 15
    with pytest.raises(ConfigError, match="REVIEWBOT_SCHEDULER_INTERVAL"):
        load_settings({"REVIEWBOT_SCHEDULER_INTERVAL": "soon"}, dotenv_path=None)
    runtime = build_runtime(replace(settings, scheduler_interval=0), clock=clock)
    assert runtime.start_scheduler(RecordingPoster()) is None and runtime.scheduler is None
    runtime.close()
