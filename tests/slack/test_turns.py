"""Turns: requests first, background jobs a few at a time, and nobody waits past the caps."""

from __future__ import annotations

import threading
import time

from reviewbot.slack.turns import Turns, waiting


def _run_job(turns: Turns, started: list[str], name: str, hold: threading.Event | None = None) -> threading.Thread:
    def job() -> None:
        with turns.turn():
            started.append(name)
            if hold is not None:
                hold.wait(5)

    thread = threading.Thread(target=job, daemon=True)
    thread.start()
    return thread


def _until(condition: object, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def test_a_job_takes_a_turn_at_once_when_nothing_else_runs() -> None:
    turns = Turns(turns=2, patience=5, overflow=5)
    started: list[str] = []
    _run_job(turns, started, "a").join(1)
    assert started == ["a"]
    assert turns.held == 0


def test_jobs_wait_while_a_request_is_served_and_start_in_order_when_it_is_answered() -> None:
    turns = Turns(turns=1, patience=5, overflow=5)
    started: list[str] = []
    with turns.request():
        jobs = []
        for name in "abc":
            jobs.append(_run_job(turns, started, name))
            time.sleep(0.02)  # each asks in turn
        time.sleep(0.1)
        assert started == []
    for job in jobs:
        job.join(2)
    assert started == ["a", "b", "c"]


def test_a_job_goes_ahead_after_its_patience_even_while_requests_keep_coming() -> None:
    turns = Turns(turns=2, patience=0.1, overflow=5)
    started: list[str] = []
    with turns.request():
        began = time.monotonic()
        _run_job(turns, started, "a").join(2)
        waited = time.monotonic() - began
    assert started == ["a"]
    assert 0.08 <= waited < 1.0


def test_no_more_jobs_than_turns_run_at_once() -> None:
    turns = Turns(turns=2, patience=5, overflow=5)
    started: list[str] = []
    hold = threading.Event()
    jobs = [_run_job(turns, started, name, hold) for name in "abcd"]
    assert _until(lambda: len(started) == 2)
    time.sleep(0.1)
    assert len(started) == 2
    assert turns.held == 2
    hold.set()
    for job in jobs:
        job.join(2)
    assert sorted(started) == ["a", "b", "c", "d"]
    assert turns.held == 0


def test_a_job_stuck_in_its_turn_holds_the_others_up_only_until_they_overflow() -> None:
    turns = Turns(turns=1, patience=0.05, overflow=0.2)
    started: list[str] = []
    stuck = threading.Event()
    _run_job(turns, started, "stuck", stuck)
    assert _until(lambda: started == ["stuck"])
    began = time.monotonic()
    _run_job(turns, started, "next").join(2)
    assert started == ["stuck", "next"]
    assert 0.15 <= time.monotonic() - began < 1.0
    stuck.set()


def test_waiting_gives_the_turn_to_the_next_job_and_takes_one_back_after() -> None:
    turns = Turns(turns=1, patience=5, overflow=5)
    started: list[str] = []
    answered = threading.Event()
    inside: list[int] = []

    def slow_call() -> None:
        with turns.turn():
            started.append("caller")
            assert turns.holding()
            with waiting():  # e.g. waiting for Slack's answer
                assert not turns.holding()
                inside.append(turns.held)
                answered.wait(5)
            inside.append(turns.held)

    caller = threading.Thread(target=slow_call, daemon=True)
    caller.start()
    assert _until(lambda: inside == [0])
    _run_job(turns, started, "other").join(2)  # runs meanwhile
    assert started == ["caller", "other"]
    answered.set()
    caller.join(2)
    assert inside == [0, 1]
    assert turns.held == 0


def test_waiting_outside_a_turn_does_nothing() -> None:
    turns = Turns(turns=1)
    with waiting():
        assert turns.held == 0
    assert turns.held == 0


def test_a_job_taking_its_turn_back_first_goes_ahead_of_the_waiting_ones_and_of_requests() -> None:
    turns = Turns(turns=1, patience=5, overflow=5)
    started: list[str] = []
    answered = threading.Event()
    gave_back = threading.Event()

    def reserved_post() -> None:
        with turns.turn():
            with waiting(first=True):  # e.g. Slack's budget taken for a post
                gave_back.set()
                answered.wait(5)
            started.append("reserved")

    poster = threading.Thread(target=reserved_post, daemon=True)
    poster.start()
    assert gave_back.wait(2)
    with turns.request():
        queued = _run_job(turns, started, "queued")  # waits: a request is being served
        time.sleep(0.05)
        answered.set()
        assert _until(lambda: started == ["reserved"])  # while the request is still being served
        time.sleep(0.05)
        assert started == ["reserved"]
    queued.join(2)
    poster.join(2)
    assert started == ["reserved", "queued"]
