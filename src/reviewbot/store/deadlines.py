"""Deadlines for database work: a watchdog that cuts the connection of a transaction that runs
past its deadline, so a hung PostgreSQL server makes a command fail in time instead of never answer.

The database work of a Slack request, and every batch of notes, has a deadline under Slack's 3 s
to acknowledge; :class:`reviewbot.store.database.Database` opens its transactions under one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class Deadlines:
    """Cuts the database connection of a transaction that runs past its deadline, so that it fails
    in time (with :class:`DatabaseUnavailable`) instead of waiting for a hung server for ever.

    A transaction announces its deadline (:meth:`begin`); the connection it is given is attached
    to it when the pool hands it over (:meth:`attach`, before the ping); one watchdog thread shuts
    the socket of a transaction still running at its deadline. Once it is about to COMMIT or roll
    back (:meth:`settle`) it is left alone: cut during COMMIT, nobody could say whether it was
    saved, and its connection is about to go back to the pool. A Slack request gives every
    transaction of its thread a deadline (:meth:`request`), so that it is answered in time.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._open: set[_Write] = set()
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._sleeping_until = math.inf  # when the watchdog next looks, unless woken

    @contextmanager
    def request(self, seconds: float) -> Iterator[None]:
        """Give this thread's transactions a deadline *seconds* from now (a request's answer)."""
        previous = getattr(self._local, "request_deadline", None)
        self._local.request_deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.request_deadline = previous

    def request_deadline(self) -> float | None:
        """The deadline :meth:`request` set for this thread, if any."""
        return getattr(self._local, "request_deadline", None)

    def begin(self, deadline: float) -> _Write:
        """Start a transaction of this thread, due by *deadline* (``time.monotonic()``)."""
        write = _Write(deadline)
        with self._changed:
            self._open.add(write)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="reviewbot-db-deadlines", daemon=True)
                self._thread.start()
        self._stack().append(write)
        return write

    def attach(self, fd: int | None) -> None:
        """Give this thread's current transaction (if any) its connection's socket (None: none now).

        It keeps a duplicate of the descriptor, so that the number it holds cannot come to mean
        another socket after the connection closes."""
        write = self._current()
        if write is not None:
            with self._changed:
                write.release()
                write.fd = os.dup(fd) if fd is not None else None
                if write.deadline < self._sleeping_until:
                    self._changed.notify()

    def settle(self) -> None:
        """This thread's current transaction commits or rolls back now: it is not cut any more."""
        write = self._current()
        if write is not None:
            with self._changed:
                write.settled = True

    def missed(self) -> bool:
        """Whether this thread's current transaction was cut (or is past its deadline)."""
        write = self._current()
        return write is not None and (write.cut or time.monotonic() >= write.deadline)

    def end(self, write: _Write) -> bool:
        """End a transaction of this thread (again: nothing); True if it was cut at its deadline."""
        with self._changed:
            if write not in self._open:
                return False
            self._open.discard(write)
            write.release()
        stack = self._stack()
        if write in stack:
            stack.remove(write)
        return write.cut

    def _stack(self) -> list[_Write]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _current(self) -> _Write | None:
        stack = getattr(self._local, "stack", None)
        return stack[-1] if stack else None

    def _watch(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [w for w in self._open if w.fd is not None and not w.cut and not w.settled]
                for write in due:
                    if write.deadline <= now:
                        write.cut = True
                        _shut(write.fd)
                waiting = [w.deadline for w in due if not w.cut]
                self._sleeping_until = min(waiting) if waiting else math.inf
                self._changed.wait(max(self._sleeping_until - now, 0.001) if waiting else None)


class _Write:
    __slots__ = ("cut", "deadline", "fd", "settled")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fd: int | None = None  # a duplicate of the connection's socket, closed by release()
        self.cut = False
        self.settled = False

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _shut(fd: int | None) -> None:
    """Shut a connection's socket down (its owner's blocked read returns at once)."""
    if fd is None:
        return
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


#: The watchdog of every database in this process.
DEADLINES = Deadlines()
