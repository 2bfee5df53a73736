"""Slack's budget shared through PostgreSQL: two :class:`SharedBudget` objects stand for two bot
processes on one database; together they keep to one rate, and a 429 seen by one pauses both."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from reviewbot.slack.budget import (
    CHANNEL_RATES,
    START_DELAY,
    Budget,
    OverBudget,
    Rate,
    SharedBudget,
    budget_for,
    usable_burst,
)
from reviewbot.store.database import Database
from reviewbot.store.slack_budget import SharedBuckets
from tests.support.pgschema import POSTGRES_URL, schema_url


@pytest.fixture
def postgres_url(postgres_problem: str | None) -> Iterator[str]:
    """A migrated PostgreSQL schema of this test's own."""
    if postgres_problem:
        if os.environ.get("REVIEWBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required but not reachable: {postgres_problem}")
        pytest.skip(f"PostgreSQL not reachable ({postgres_problem})")
    with schema_url(POSTGRES_URL) as url:
        db = Database(url)
        db.upgrade()
        db.dispose()
        yield url


@pytest.fixture
def processes(postgres_url: str) -> Iterator[list[SharedBudget]]:
    """Two processes' budgets for workspace T1, on one database."""
    buckets = [SharedBuckets(postgres_url), SharedBuckets(postgres_url)]
    yield [SharedBudget(b, "T1", rates={"chat.update": Rate(600, 5), "users.info": Rate(60, 2)}) for b in buckets]
    for b in buckets:
        b.dispose()


def recording(slept: list[float]):
    """A sleep that sleeps, and records how long (a pause is checked again after the sleep)."""

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    return sleep


def test_two_processes_together_never_go_over_the_rate(processes):
    sent: list[float] = []
    lock = threading.Lock()

    def caller(budget: SharedBudget) -> None:
        for _ in range(6):
            budget.spend("chat.update")
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=caller, args=(budget,)) for budget in processes for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent.sort()
    assert len(sent) == 36
    # 10 a second with bursts of 5: in any stretch of t seconds at most 5 + 10 t calls (alone,
    # each process would have sent its 18 in 1.3 s; together they take 3.1 s).
    for i, start in enumerate(sent):
        for j in range(i, len(sent)):
            assert j - i + 1 <= 5 + 10 * (sent[j] - start) + 0.5, (i, j, sent[j] - start)
    assert sent[-1] - sent[0] >= 3.0


def test_a_refusal_seen_by_one_process_pauses_the_other(processes):
    first, second = processes
    first.spend("users.info")
    first.refused("users.info", 2)
    with pytest.raises(OverBudget):
        second.spend("users.info", max_wait=0)  # the other process may not call it now
    slept: list[float] = []
    second.sleep = recording(slept)
    second.spend("chat.update")  # another method is not held up
    second.spend("users.info")
    assert slept == [pytest.approx(2, abs=0.2)]


def test_a_method_without_a_published_limit_is_held_only_after_slack_refused_it(processes):
    first, second = processes
    slept: list[float] = []
    second.sleep = recording(slept)
    second.spend("pins.add")
    assert slept == []
    first.refused("pins.add", 1)
    second.spend("pins.add")
    assert slept == [pytest.approx(1, abs=0.2)]


def test_chat_post_message_is_limited_per_channel_too(processes):
    first, second = processes
    slept: list[float] = []
    first.sleep = second.sleep = slept.append
    for budget in (first, second, first):  # Slack's burst of 4 in one channel, less what LATENESS keeps
        budget.spend("chat.postMessage", channel="C1")
    second.spend("chat.postMessage", channel="C2")  # another channel has its own
    assert slept == []
    first.spend("chat.postMessage", channel="C1")
    # It waits for the channel's next token: what the three left of its usable burst, and the
    # bucket's start, after its first spend.
    left = usable_burst(CHANNEL_RATES["chat.postMessage"]) - 3
    assert slept == [pytest.approx(1 - left + START_DELAY, abs=0.1)]


def test_without_the_database_each_process_spends_its_own_budget():
    buckets = SharedBuckets("postgresql+psycopg://nobody@127.0.0.1:9/none", timeout_ms=500)
    budget = SharedBudget(buckets, "T1", rates={"users.info": Rate(60, 1)})
    started = time.monotonic()
    budget.spend("users.info", max_wait=0)
    with pytest.raises(OverBudget):
        budget.spend("users.info", max_wait=0)  # its own bucket, asked without the database
    assert time.monotonic() - started < 3
    buckets.dispose()


def test_sqlite_keeps_the_budget_in_the_process(tmp_path, postgres_url):
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")
    assert type(budget_for(db)) is Budget
    db.dispose()
    shared = budget_for(Database(postgres_url))
    assert isinstance(shared, SharedBudget)
    shared.buckets.dispose()  # type: ignore[attr-defined]
