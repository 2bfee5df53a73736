"""Group commit: batches in arrival order, one batch per key at a time, errors kept per request."""

from __future__ import annotations

import threading
import time

import pytest

from reviewbot.core.groupcommit import GroupCommit, Pending


def test_a_lone_request_is_a_batch_of_one():
    batches: list[list[int]] = []

    def run(batch: list[Pending[int, int]]) -> None:
        batches.append([p.item for p in batch])
        for p in batch:
            p.succeed(p.item * 2)

    group = GroupCommit(run)
    assert group.submit("k", 21) == 42
    assert batches == [[21]]


def test_concurrent_requests_are_batched_in_order_and_never_overlap():
    running: dict[str, int] = {"a": 0, "b": 0}
    overlap: list[str] = []
    batches: list[tuple[str, list[int]]] = []
    lock = threading.Lock()

    def run(batch: list[Pending[tuple[str, int], int]]) -> None:
        key = batch[0].item[0]
        with lock:
            running[key] += 1
            if running[key] > 1:
                overlap.append(key)
        time.sleep(0.002)  # a transaction's worth of work, so requests pile up behind it
        with lock:
            running[key] -= 1
            batches.append((key, [p.item[1] for p in batch]))
        for p in batch:
            p.succeed(p.item[1])

    group: GroupCommit[tuple[str, int], int] = GroupCommit(run)
    results: dict[tuple[str, int], list[int]] = {}

    def client(key: str, number: int) -> None:
        got = [group.submit(key, (key, number * 100 + i)) for i in range(20)]
        results[(key, number)] = got

    threads = [threading.Thread(target=client, args=(key, n)) for key in "ab" for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlap == []
    for (key, number), got in results.items():
        assert got == [number * 100 + i for i in range(20)]
        # each client's requests run in the order it made them
        order = [item for k, batch in batches if k == key for item in batch if item // 100 == number]
        assert order == got
    assert sum(len(b) for _, b in batches) == 16 * 20
    assert len(batches) < 16 * 20  # requests that arrived together were batched


def test_errors_stay_with_their_request_and_a_crash_fails_only_its_batch():
    def run(batch: list[Pending[str, str]]) -> None:
        for p in batch:
            if p.item == "bad":
                p.fail(ValueError("bad item"))
            elif p.item == "crash":
                raise RuntimeError("the batch crashed")
            else:
                p.succeed(p.item.upper())

    group = GroupCommit(run)
    with pytest.raises(ValueError, match="bad item"):
        group.submit("k", "bad")
    assert group.submit("k", "ok") == "OK"
    with pytest.raises(RuntimeError, match="crashed"):
        group.submit("k", "crash")
    assert group.submit("k", "after") == "AFTER"  # the key is not left locked
