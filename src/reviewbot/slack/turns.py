"""Turns at the interpreter for background work, so that Slack's requests are answered first.

The posting queue runs one worker thread per channel track; after the top of the hour's fifty
``/review end`` commands, fifty of them wake at once (agenda refreshes, uploads). Every SQLite
call releases Python's lock on the interpreter (the GIL) and must win it back afterwards, so a
request holding the database's writer lock waited behind all of those workers at each call: its
transaction, 2 ms of work, held the lock 20-30 ms, and the fiftieth acknowledgement waited for
the other forty-nine (about 1 s).

:class:`Turns` bounds that competition. A background job runs Python only while it holds one of
a few turns, and takes one only when no request is being served (or when it has waited long
enough, so background work always goes on). A job gives its turn back while it waits for
something else (:func:`waiting`): a Web API call, a pace or a ``Retry-After``; one that took
Slack's budget for a post while it waited takes its turn back first, so that the post goes out
when Slack's budget said. Every wait is capped, so a job that holds a turn while blocked on a
lock cannot stop the others for long.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: Background jobs running Python at once (more wait for a turn; see the module description).
TURNS = 2
#: How long a job waits for the requests being served to be answered before it takes a turn
#: anyway: past the top of the hour's burst of commands, background work must go on.
PATIENCE = 0.5
#: How long a job waits for a free turn before it runs without one: only a job that is stuck
#: while holding its turn (on a lock another job holds) keeps the others waiting that long.
OVERFLOW = 2.0


_holding = threading.local()  # per thread: the Turns it holds a turn of, if any


@contextmanager
def waiting(first: bool = False) -> Iterator[None]:
    """Give the calling thread's turn back while it waits for something else (Slack's answer, a
    pace, a ``Retry-After``), and take one again after; nothing if it holds none. Any code a
    background job runs may wrap its blocking calls in this, without knowing whose turn it is.
    With *first*, the turn is taken back ahead of every waiting job and without waiting for the
    requests being served: for a job that must act at once on what it waited for (a post it took
    Slack's budget for)."""
    turns: Turns | None = getattr(_holding, "turns", None)
    if turns is None:
        yield
        return
    turns._give()
    try:
        yield
    finally:
        turns._take(first)


@dataclass(eq=False)
class _Waiter:
    """A job waiting for a turn, woken when it is given one."""

    patient_until: float
    overflow_at: float
    woken: threading.Event = field(default_factory=threading.Event)
    granted: bool = False


class Turns:
    """Who may run Python now: requests always, background jobs a few at a time, in the order
    they asked; thread-safe."""

    def __init__(
        self,
        turns: int = TURNS,
        patience: float = PATIENCE,
        overflow: float = OVERFLOW,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.turns = turns
        self.patience = patience
        self.overflow = overflow
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._requests = 0  # being served
        self._held = 0  # turns held by background jobs
        self._waiting: deque[_Waiter] = deque()  # oldest first

    @property
    def held(self) -> int:
        """How many turns background jobs hold (more than :attr:`turns` when some overflowed)."""
        return self._held

    def holding(self) -> bool:
        """Whether the calling thread holds one of these turns."""
        return getattr(_holding, "turns", None) is self

    @contextmanager
    def request(self) -> Iterator[None]:
        """Serve a request: while any is being served, background jobs wait to take a turn."""
        with self._lock:
            self._requests += 1
        try:
            yield
        finally:
            with self._lock:
                self._requests -= 1
                self._hand_out()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Run a background job's Python in a turn (see the module description)."""
        self._take()
        try:
            yield
        finally:
            self._give()

    def _take(self, first: bool = False) -> None:
        now = self.monotonic()
        with self._lock:
            if self._held < self.turns and (first or (not self._requests and not self._waiting)):
                self._held += 1
                _holding.turns = self
                return
            waiter = _Waiter(now if first else now + self.patience, now + self.overflow)
            if first:
                self._waiting.appendleft(waiter)
            else:
                self._waiting.append(waiter)
        while True:
            now = self.monotonic()
            until = waiter.patient_until if now < waiter.patient_until else waiter.overflow_at
            waiter.woken.wait(max(0.0, until - now))
            with self._lock:
                if waiter.granted:
                    break
                now = self.monotonic()
                free = self._held < self.turns
                if (free and (not self._requests or now >= waiter.patient_until)) or now >= waiter.overflow_at:
                    self._waiting.remove(waiter)  # its own time came first (or it overflows)
                    self._held += 1
                    break
        _holding.turns = self

    def _give(self) -> None:
        _holding.turns = None
        with self._lock:
            self._held -= 1
            self._hand_out()

    def _hand_out(self) -> None:
        """Give free turns to the oldest waiters that may have them (called holding the lock)."""
        now = self.monotonic()
        while self._held < self.turns and self._waiting:
            oldest = self._waiting[0]
            if self._requests and now < oldest.patient_until:
                return
            self._waiting.popleft()
            oldest.granted = True
            self._held += 1
            oldest.woken.set()
