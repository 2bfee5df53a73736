"""Who is asking, where, and when: the small interface every adapter fills in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True)
class Caller:
    """The person who typed a command, and the channel it was typed in."""

    workspace_id: str
    channel_id: str
    user_id: str
    user_name: str


class Clock(Protocol):
    """Gives the current time; tests pass a fake one."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


class UserError(Exception):
    """A mistake in what the user typed; its message says what to type instead."""
