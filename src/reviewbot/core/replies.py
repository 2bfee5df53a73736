"""What the core answers to a command, for any adapter to show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class Visibility(StrEnum):
    """Who sees a reply: only the person who typed the command, or the whole channel."""

    PRIVATE = "private"
    CHANNEL = "channel"


class Event(StrEnum):
    """What a command changed, for adapters that keep live views (e.g. an agenda message)."""

    NONE = "none"
    AGENDA_CHANGED = "agenda_changed"
    MEETING_STARTED = "meeting_started"
    SECTION_CHANGED = "section_changed"
    NOTE_ADDED = "note_added"
    NOTE_REMOVED = "note_removed"
    NOTE_EDITED = "note_edited"
    CHAIR_ADDED = "chair_added"
    ATTENDANCE_CHANGED = "attendance_changed"
    MEETING_ENDED = "meeting_ended"


@dataclass(frozen=True)
class MinutesFile:
    """A rendered draft of the minutes, to upload or print."""

    meeting_id: int
    filename: str
    title: str
    content: str
    summary: str


@dataclass(frozen=True)
class Reply:
    """The answer to a command. ``text`` is Slack mrkdwn with user text already escaped."""

    text: str
    visibility: Visibility = Visibility.PRIVATE
    event: Event = Event.NONE
    meeting_id: int | None = None
    minutes: MinutesFile | None = None
    publish_meeting_id: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def public(self) -> bool:
        """Whether the whole channel should see this reply."""
        return self.visibility is Visibility.CHANNEL


def esc(text: str) -> str:
    """Escape user text for Slack mrkdwn, so it can never become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def date_token(moment: datetime, zone: str) -> str:
    """A Slack date token: every reader sees *moment* in their own timezone; clients that cannot
    show it (and the console) show the time in *zone* instead."""
    local = moment.astimezone(ZoneInfo(zone))
    fallback = f"{local:%A, %B} {local.day}, {local.year} at {local:%-I:%M %p} {local.tzname()}"
    return f"<!date^{int(moment.timestamp())}^{{date_long_pretty}} at {{time}}|{fallback}>"
