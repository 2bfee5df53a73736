"""The leases that let bot processes on one database take turns at a meeting's live jobs.

On a real database (SQLite and PostgreSQL): one holder at a time, taking it again extends it,
an expired lease goes to whoever asks, a released one at once, and a lease is per meeting and
per kind of job. Many threads racing for one lease: exactly one gets it. A lease someone else
asked for while it was held is kept once more by its holder (to run its job again).
"""

from __future__ import annotations

import threading
import time

import pytest

from reviewbot.core import Caller
from reviewbot.store.live_leases import LiveLeases

HERE = Caller("T1", "C1", "U1", "tilman")
THERE = Caller("T1", "C2", "U1", "tilman")


def started(runtime, caller: Caller) -> int:
    """A running meeting's id."""
    handle = runtime.commands.handle
    handle("/review", "agenda add Budget review", caller)
    reply = handle("/review", "start Leases", caller)
    assert reply.meeting_id is not None, reply.text
    return reply.meeting_id


@pytest.fixture(autouse=True)
def closed_after(monkeypatch):
    """Every LiveLeases a test makes is closed after it (their connections, their renewer)."""
    made: list[LiveLeases] = []
    init = LiveLeases.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(LiveLeases, "__init__", record)
    yield
    for leases in made:
        leases.close()


def test_one_holder_at_a_time_and_taking_it_again_extends_it(runtime):
    meeting = started(runtime, HERE)
    first, second = LiveLeases(runtime.db, "first"), LiveLeases(runtime.db, "second")
    assert first.take(meeting, "echo")
    assert not second.take(meeting, "echo")
    assert first.take(meeting, "echo")  # re-entry: still ours
    first.release(meeting, "echo")
    assert second.take(meeting, "echo")
    assert not first.take(meeting, "echo")


def test_a_lease_wanted_while_held_is_kept_once_more_then_let_go(runtime):
    meeting = started(runtime, HERE)
    holder, other = LiveLeases(runtime.db, "holder"), LiveLeases(runtime.db, "other")
    assert holder.take(meeting, "echo")
    assert not other.take(meeting, "echo") and not other.take(meeting, "echo")  # wanted (twice: one mark)
    assert holder.release(meeting, "echo") is True  # kept: run the job once more
    assert holder.held(meeting, "echo") and not other.take(meeting, "echo")  # wanted again
    assert holder.take(meeting, "echo")  # the job run again takes it (ours): the mark is done with
    assert holder.release(meeting, "echo") is False  # nobody asked since: let go
    assert not holder.held(meeting, "echo")
    assert other.take(meeting, "echo")
    assert other.release(meeting, "echo") is False
    assert holder.release(meeting, "echo") is False  # not ours: changes nothing


def test_a_lease_is_per_meeting_and_per_job(runtime):
    meeting, other = started(runtime, HERE), started(runtime, THERE)
    first, second = LiveLeases(runtime.db, "first"), LiveLeases(runtime.db, "second")
    assert first.take(meeting, "echo")
    assert second.take(meeting, "agenda")
    assert second.take(other, "echo")
    assert not second.take(meeting, "echo") and not first.take(other, "echo")


def test_an_expired_lease_goes_to_whoever_asks(runtime):
    meeting = started(runtime, HERE)
    dead, alive = LiveLeases(runtime.db, "dead", seconds=0.3), LiveLeases(runtime.db, "alive")
    assert dead.take(meeting, "echo")
    assert not alive.take(meeting, "echo")
    time.sleep(0.4)
    assert alive.take(meeting, "echo")
    assert not dead.take(meeting, "echo")
    dead.release(meeting, "echo")  # not its own any more: changes nothing
    assert not dead.take(meeting, "echo")


def test_taking_it_again_before_it_expires_keeps_it(runtime):
    meeting = started(runtime, HERE)
    holder, other = LiveLeases(runtime.db, "holder", seconds=0.5), LiveLeases(runtime.db, "other")
    assert holder.take(meeting, "echo")
    for _ in range(3):
        time.sleep(0.3)
        assert holder.take(meeting, "echo")  # renewed: another 0.5 s
        assert not other.take(meeting, "echo")


def test_holders_racing_for_a_free_lease_one_gets_it(runtime):
    meeting = started(runtime, HERE)
    holders = [LiveLeases(runtime.db, f"holder-{n}") for n in range(8)]
    won: list[str] = []
    start = threading.Barrier(len(holders))

    def race(leases: LiveLeases) -> None:
        start.wait()
        if leases.take(meeting, "echo"):
            won.append(leases.owner)

    threads = [threading.Thread(target=race, args=(leases,)) for leases in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1, won


def test_a_living_holder_renews_its_leases_and_never_takes_one_it_let_go(runtime):
    meeting = started(runtime, HERE)
    holder = LiveLeases(runtime.db, "holder", seconds=0.6).start()
    other = LiveLeases(runtime.db, "other")
    try:
        assert holder.take(meeting, "echo") and holder.take(meeting, "agenda")
        holder.release(meeting, "agenda")
        time.sleep(1.5)  # well past the lease's time: renewed every 0.2 s
        assert holder.held(meeting, "echo") and not other.take(meeting, "echo")
        assert not holder.held(meeting, "agenda") and other.take(meeting, "agenda")
    finally:
        holder.close()


def test_a_holder_that_lost_its_lease_knows_it_when_it_renews(runtime):
    meeting = started(runtime, HERE)
    holder, other = LiveLeases(runtime.db, "holder", seconds=0.2), LiveLeases(runtime.db, "other")
    assert holder.take(meeting, "echo")
    time.sleep(0.3)  # not renewed in time (a database outage, say)
    assert other.take(meeting, "echo")
    assert holder.held(meeting, "echo")  # as far as it knows...
    holder.renew()
    assert not holder.held(meeting, "echo")  # ...until it tries to renew it


def test_a_lease_the_database_could_not_release_is_not_renewed_any_more(runtime, monkeypatch):
    """If letting it go fails (the database does not answer), the holder stops renewing it, so it
    expires for the others instead of staying held by a process that has no job for it."""
    from reviewbot.store.database import DatabaseUnavailable

    meeting = started(runtime, HERE)
    holder = LiveLeases(runtime.db, "holder")
    assert holder.take(meeting, "echo")

    def unreachable(*args, **kwargs):
        raise DatabaseUnavailable("the database did not answer in time")

    monkeypatch.setattr(holder, "_execute", unreachable)
    with pytest.raises(DatabaseUnavailable):
        holder.release(meeting, "echo")
    assert not holder.held(meeting, "echo")
