"""Test doubles the core takes as collaborators: a clock moved by hand and a recording poster."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from reviewbot.core.replies import Mark


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2016, 7, 14, 15, 0, tzinfo=UTC)  # 8:00 AM PT
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.current

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.current += timedelta(**delta)


class RecordingPoster:
    """A Poster that records what the bot posts on its own; ``failures`` are raised first, in order."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []
        self.marks: list[tuple[Mark, ...]] = []  # the moments and links of each post
        self.failures: list[Exception] = []
        self._lock = threading.Lock()

    def post(self, workspace_id: str, channel_id: str, text: str, marks: Sequence[Mark] = ()) -> None:
        with self._lock:
            if self.failures:
                raise self.failures.pop(0)
            self.posts.append((channel_id, text))
            self.marks.append(tuple(marks))

    @property
    def texts(self) -> list[str]:
        with self._lock:
            return [text for _, text in self.posts]
