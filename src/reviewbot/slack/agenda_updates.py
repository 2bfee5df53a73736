"""Showing the live agenda's newest state, through a click's ``response_url`` when one can.

A click on the agenda message's buttons (Next, I'm here...) comes with a ``response_url`` that may
replace that very message (``replace_original``) five times within 30 minutes, without spending
``chat.update`` (Tier 3, 50 a minute for the whole workspace, which fifty meetings' moves and
clicks exhaust). :class:`AgendaUpdates` remembers the last few such URLs of each meeting and uses
them, newest first, for the meeting's agenda updates; when none is left (their uses spent, too
old, or refused) the update goes through ``chat.update``.

Updates of one meeting may race (another thread, a retried job, a response Slack answers late):
each state is numbered when it is read (:meth:`AgendaUpdates.read`), and it is shown only if it is
newer than the last one shown (:meth:`AgendaUpdates.show`), so an older state never overwrites a
newer one; and a state that looks exactly like the one showing (two jobs read the same meeting)
is not sent again, which would spend a use or a ``chat.update`` on nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.webhook import WebhookClient

from reviewbot.slack.turns import waiting

log = logging.getLogger(__name__)

T = TypeVar("T")

RESPONSE_URL_USES = 5  # Slack: a response_url may be used five times...
RESPONSE_URL_SECONDS = 29 * 60  # ...within 30 minutes (a minute's margin here)
KEPT_URLS = 4  # per meeting: the newest clicks' URLs have the most uses left


@dataclass(frozen=True)
class Click:
    """Where a button was clicked: the message it is on, and the click's ``response_url``."""

    response_url: str
    message_ts: str


@dataclass
class _ResponseUrl:
    url: str
    message_ts: str
    issued: float
    uses: int = 0


Send = Callable[[str, str, Sequence[dict[str, Any]]], bool]


def send_replacement(url: str, text: str, blocks: Sequence[dict[str, Any]]) -> bool:
    """Replace the message *url* belongs to with *text* and *blocks*; whether Slack took it."""
    try:
        with waiting():
            response = WebhookClient(url, timeout=5).send(text=text, blocks=blocks, replace_original=True)
    except OSError as error:
        log.info("response_url failed: %s", type(error).__name__)
        return False
    if response.status_code != 200:
        log.info("response_url refused: HTTP %s %s", response.status_code, str(response.body)[:80])
        return False
    return True


class AgendaUpdates:
    """Each meeting's usable ``response_url``s and the version of its agenda last shown; thread-safe."""

    def __init__(self, send: Send = send_replacement, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.send = send
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._urls: dict[int, list[_ResponseUrl]] = {}
        self._read: dict[int, int] = {}  # meeting id: the last version handed out
        self._shown: dict[int, int] = {}  # meeting id: the version showing in Slack
        self._looks: dict[int, str] = {}  # meeting id: what is showing (see _look)
        self._reading: dict[int, threading.Lock] = {}
        self._showing: dict[int, threading.Lock] = {}

    def offer(self, meeting_id: int, click: Click) -> None:
        """Remember a click's ``response_url`` for the meeting's next agenda updates."""
        with self._lock:
            urls = self._urls.setdefault(meeting_id, [])
            urls.append(_ResponseUrl(click.response_url, click.message_ts, self.monotonic()))
            del urls[:-KEPT_URLS]

    def read(self, meeting_id: int, load: Callable[[], T]) -> tuple[int, T]:
        """Read the meeting's state with *load*, numbered: a state read later has a higher number."""
        with self._lock_of(self._reading, meeting_id):
            with self._lock:
                version = self._read[meeting_id] = self._read.get(meeting_id, 0) + 1
            return version, load()

    def show(
        self,
        meeting_id: int,
        version: int,
        message_ts: str,
        text: str,
        blocks: Sequence[dict[str, Any]],
        update: Callable[[], object],
    ) -> bool:
        """Show state *version* in the agenda message at *message_ts*, through a remembered
        ``response_url`` of a click on that message if one is usable, else with *update*
        (``chat.update``). False, and nothing sent, when a newer state is already showing or
        this one looks exactly like the one showing."""
        look = _look(text, blocks)
        with self._lock_of(self._showing, meeting_id):
            if version <= self._shown.get(meeting_id, 0):
                return False
            if look == self._looks.get(meeting_id):
                self._shown[meeting_id] = version
                return False
            if not self._respond(meeting_id, message_ts, text, blocks):
                update()
            self._shown[meeting_id] = version
            self._looks[meeting_id] = look
            return True

    def shown(self, meeting_id: int, version: int, text: str, blocks: Sequence[dict[str, Any]]) -> None:
        """Note that state *version*, as *text* and *blocks*, is showing (the agenda message was
        just posted with it)."""
        with self._lock:
            if version > self._shown.get(meeting_id, 0):
                self._shown[meeting_id] = version
                self._looks[meeting_id] = _look(text, blocks)

    def forget(self, meeting_id: int) -> None:
        """Drop the meeting's URLs (it ended: its agenda message no longer changes)."""
        with self._lock:
            self._urls.pop(meeting_id, None)
            self._looks.pop(meeting_id, None)

    def _respond(self, meeting_id: int, message_ts: str, text: str, blocks: Sequence[dict[str, Any]]) -> bool:
        """Replace the message through the newest usable URL; False when none took it."""
        while (url := self._usable(meeting_id, message_ts)) is not None:
            if self.send(url.url, text, blocks):
                return True
            with self._lock:
                url.uses = RESPONSE_URL_USES  # refused: expired, used up, or gone
        return False

    def _usable(self, meeting_id: int, message_ts: str) -> _ResponseUrl | None:
        """The newest URL of a click on *message_ts* with a use left, taking that use."""
        now = self.monotonic()
        with self._lock:
            for url in reversed(self._urls.get(meeting_id, [])):
                fresh = now - url.issued < RESPONSE_URL_SECONDS
                if url.message_ts == message_ts and url.uses < RESPONSE_URL_USES and fresh:
                    url.uses += 1
                    return url
        return None

    def _lock_of(self, locks: dict[int, threading.Lock], meeting_id: int) -> threading.Lock:
        with self._lock:
            return locks.setdefault(meeting_id, threading.Lock())


def _look(text: str, blocks: Sequence[dict[str, Any]]) -> str:
    """What a message looks like, as one string to compare."""
    return text + "\x00" + json.dumps(blocks, sort_keys=True)
