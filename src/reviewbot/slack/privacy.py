"""Whether a channel is private, learnt from Slack after the acknowledgement, for search's privacy rule.

``/review search ... in:all`` finds the minutes of public channels only (a channel whose privacy
is not known counts as private: :mod:`reviewbot.core.search`). Slack tells a channel's privacy in
two ways: a slash command's payload (``channel_name`` is ``privategroup`` for a private channel,
and ids starting with ``G`` are private channels, ``D`` direct messages), which settles it
without a call; otherwise ``conversations.info`` (``is_private``; scope ``channels:read``;
Tier 3, so each channel is asked at most once an hour, through the app's budgeted client: a
process first reads whether another process on the database learnt it within the hour). Both
run on a worker thread, never before Slack is answered. When Slack cannot say (the call fails,
the bot is not in the channel), the channel stays unknown, and so private.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core.context import Clock
from reviewbot.core.search import privacy_known_since, remember_privacy
from reviewbot.store.database import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

RECHECK_SECONDS = 3600.0  # a channel can be made private (or public) later: asked again after this


def private_by_payload(channel_id: str, channel_name: str | None) -> bool | None:
    """What a slash command's payload alone says of its channel: True (private), or None (ask)."""
    if channel_id.startswith(("G", "D")) or channel_name in ("privategroup", "directmessage"):
        return True
    if (channel_name or "").startswith("mpdm-"):
        return True
    return None


class ChannelPrivacy:
    """Learns, off the acknowledgement path, whether the channels commands come from are private."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._asked: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="privacy")

    def learn(self, client: WebClient, command: dict[str, Any]) -> None:
        """Find out (soon, on a worker thread) whether the command's channel is private."""
        team = str(command.get("team_id") or "")
        channel = str(command.get("channel_id") or "")
        if not team or not channel:
            return
        now = time.monotonic()
        with self._lock:
            asked = self._asked.get((team, channel))
            if asked is not None and now - asked < RECHECK_SECONDS:
                return
            self._asked[(team, channel)] = now
        with contextlib.suppress(RuntimeError):  # RuntimeError: shutting down
            self._worker.submit(self._learn_now, client, team, channel, command.get("channel_name"))

    def _learn_now(self, client: WebClient, team: str, channel: str, name: str | None) -> None:
        private = private_by_payload(channel, name)
        if private is None:
            with contextlib.suppress(DatabaseUnavailable):  # if the database cannot say, Slack is asked
                since = self.clock.now() - timedelta(seconds=RECHECK_SECONDS)
                if privacy_known_since(self.db, team, channel, since):
                    return  # another process learnt it within the hour
            try:
                info = client.conversations_info(channel=channel).get("channel") or {}
            except (SlackApiError, OSError) as error:
                reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
                log.info("privacy of %s not known (conversations.info: %s)", channel, reason)
                return
            private = bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim"))
        try:
            if remember_privacy(self.db, team, channel, private, self.clock.now()):
                log.info("channel %s is %s", channel, "private" if private else "public")
        except DatabaseUnavailable as error:
            log.info("privacy of %s not saved: %s", channel, error)
            with self._lock:
                self._asked.pop((team, channel), None)  # asked again at the next command

    def close(self) -> None:
        """Finish what was asked (used by tests and shutdown)."""
        self._worker.shutdown(wait=True)
