"""Who is asking, where, and when: the small interface every adapter fills in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reviewbot.core.replies import Mark


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


class PostError(Exception):
    """A message could not be posted. ``retry`` says whether it certainly did not arrive (so
    posting it again cannot make a duplicate) and a later try may succeed."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class Poster(Protocol):
    """Posts a message to a channel on the bot's own initiative (reminders, timebox notices)."""

    def post(self, workspace_id: str, channel_id: str, text: str, marks: Sequence[Mark] = ()) -> None:
        """Post *text* (plain text with *marks*, as a :class:`~reviewbot.core.replies.Reply`'s) to
        the channel; raise :class:`PostError` if it fails."""
        ...
