"""Group commit: the requests that arrive together for one key are written in one transaction.

Notes for a meeting must be committed one meeting-transaction at a time (that keeps their order
and numbers), so under load they queue. Rather than each waiting its turn for a transaction of
its own, the first request to find no batch running for its key leads: it takes every request
queued for that key so far, runs them as one batch, hands the results back, and passes the lead
to the next request waiting, if any. No extra thread; a lone request is a batch of one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Pending(Generic[Item, Result]):
    """One request: its item, and in time its result or error."""

    __slots__ = ("_asleep", "_woken", "done", "error", "item", "lead", "result")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.done = False
        self.lead = False
        # A lock taken now and released to wake the request: cheaper than an Event.
        self._asleep = threading.Lock()
        self._asleep.acquire()
        self._woken = False

    def sleep(self) -> None:
        """Wait until :meth:`wake` (returns at once if it was already called)."""
        self._asleep.acquire()

    def wake(self) -> None:
        """Wake the request (once; later calls do nothing). Called with the queue's lock held."""
        if not self._woken:
            self._woken = True
            self._asleep.release()

    def succeed(self, result: Result) -> None:
        """Give this request its result."""
        self.result = result

    def fail(self, error: BaseException) -> None:
        """Give this request its error."""
        self.error = error


class GroupCommit(Generic[Item, Result]):
    """Runs the requests queued for a key as batches, one batch per key at a time."""

    def __init__(self, run_batch: Callable[[list[Pending[Item, Result]]], None]) -> None:
        """*run_batch* must give every request of the batch a result or an error; if it raises,
        the requests it left without either get that exception."""
        self._run_batch = run_batch
        self._lock = threading.Lock()
        self._queues: dict[Hashable, list[Pending[Item, Result]]] = {}
        self._running: set[Hashable] = set()

    def submit(self, key: Hashable, item: Item) -> Result:
        """Run *item* in the next batch for *key* and return its result (or raise its error)."""
        pending: Pending[Item, Result] = Pending(item)
        with self._lock:
            self._queues.setdefault(key, []).append(pending)
            if key not in self._running:
                self._running.add(key)
                pending.lead = True
        if not pending.lead:
            pending.sleep()
        if not pending.done:  # leading: run the batch this request is in
            self._lead(key)
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def _lead(self, key: Hashable) -> None:
        with self._lock:
            batch = self._queues.pop(key, [])
        try:
            self._run_batch(batch)
        except BaseException as error:
            for pending in batch:
                if pending.error is None and pending.result is None:
                    pending.fail(error)
        finally:
            for pending in batch:
                pending.done = True
            with self._lock:
                waiting = self._queues.get(key)
                if waiting:
                    waiting[0].lead = True
                    waiting[0].wake()
                else:
                    self._running.discard(key)
                for pending in batch:
                    pending.wake()
