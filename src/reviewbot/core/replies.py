"""What the core answers to a command, for any adapter to show.

A reply's text is plain text, with what people typed in it as they typed it: each adapter makes
it safe for its surface (Slack escapes ``&``, ``<`` and ``>``; the console prints it). ``*bold*``,
``_italic_`` and `` `code` `` are the only emphasis, read the same as plain text. Three things a
surface may show better than as text are marked (:data:`Mark`): a moment in time, which Slack shows
in each reader's own timezone, a link, which Slack shows as its label, and a command the reader
may want to run next (an :class:`Offer`), which Slack also offers as a button.
"""

from __future__ import annotations

from collections.abc import Callable
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
class MinutesDraft:
    """Minutes to post as a file, rendered when they are posted (:attr:`render`), not when the
    command is answered: reading and rendering a whole meeting is about a third of what
    ``/review end`` costs, and Slack waits for that answer (fifty meetings may end at once). The
    :attr:`summary` is known at once, from two counts."""

    meeting_id: int
    summary: str
    render: Callable[[], MinutesFile] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Moment:
    """A moment in the text, written (by ``str()``) as its date and time in *zone*."""

    at: datetime
    zone: str

    def __str__(self) -> str:
        local = self.at.astimezone(ZoneInfo(self.zone))
        return f"{local:%A, %B} {local.day}, {local.year} at {local:%-I:%M %p} {local.tzname()}"


@dataclass(frozen=True)
class Link:
    """A link in the text, written (by ``str()``) as ``label (url)``."""

    url: str
    label: str

    def __str__(self) -> str:
        return f"{self.label} ({self.url})"


@dataclass(frozen=True)
class Offer:
    """A ``/review`` command suggested in the text, written (by ``str()``) as `` `/review ...` ``;
    a surface with buttons may also offer it as one, labelled *label*, that runs *command* (the
    text after ``/review``) as the person who clicks, as if they had typed it."""

    command: str
    label: str

    def __str__(self) -> str:
        return f"`/review {self.command}`"


#: Part of a text that a surface may show better than as plain text, written there by ``str()``.
Mark = Moment | Link | Offer


@dataclass(frozen=True)
class Reply:
    """The answer to a command: plain text (see the module description) and who sees it."""

    text: str
    visibility: Visibility = Visibility.PRIVATE
    event: Event = Event.NONE
    meeting_id: int | None = None
    minutes: MinutesDraft | None = None
    publish_meeting_id: int | None = None
    extra: dict[str, object] = field(default_factory=dict)
    marks: tuple[Mark, ...] = ()  # the moments and links written in the text

    @property
    def public(self) -> bool:
        """Whether the whole channel should see this reply."""
        return self.visibility is Visibility.CHANNEL
