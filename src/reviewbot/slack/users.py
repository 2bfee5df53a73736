"""Display names of Slack users, known ahead so that no acknowledgement waits for Slack.

A command, click or message is acknowledged within Slack's 3 seconds, and the Web API is a
budget shared by the whole workspace (``users.info`` 100 a minute, ``users.list`` 20): asking
Slack for the author's name on that path held acknowledgements up and spent the budget per
command. :class:`UserDirectory` fills its cache ahead instead, on a thread of its own: every user
with ``users.list`` at start (200 a page) and again every day, and one user at a time when Slack
says a profile changed (the ``user_change`` event, :meth:`UserDirectory.learn`). :meth:`~UserDirectory.name`
only ever reads the cache: a user it does not know yet (someone who joined since the last
listing) gets the name the payload carries, and a ``users.info`` look-up, off the acknowledgement
path, for the commands that follow.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from reviewbot.slack.budget import retry_after

log = logging.getLogger(__name__)

#: How often every user is listed again (display names change without a ``user_change`` now and
#: then: an event missed while the bot was down).
REFRESH_SECONDS = 24 * 3600.0
#: Users per ``users.list`` page (Slack recommends at most 200).
PAGE_SIZE = 200
#: After a failed look-up, the name Slack sent in the payload is used for a while before
#: ``users.info`` is asked again, so a failing or unknown user never costs a call per command:
#: for an unknown user this long, after a rate limit as long as Slack asks, else this long.
UNKNOWN_USER_SECONDS = 3600.0
TRANSIENT_FAILURE_SECONDS = 10.0
#: Slack errors after which listing is not tried again before the next daily refresh.
HOPELESS = frozenset({"missing_scope", "not_authed", "invalid_auth", "account_inactive", "token_revoked"})


def display_name(user: dict[str, Any]) -> str | None:
    """The name Slack shows for *user* (a ``users.info`` / ``users.list`` / event user object):
    the display name, else the real name, else the handle."""
    profile = user.get("profile") or {}
    return profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")


class UserDirectory:
    """A cache of user id to display name, filled ahead by a thread of its own (:meth:`start`)."""

    def __init__(
        self,
        client: WebClient,
        refresh_seconds: float = REFRESH_SECONDS,
        page_size: int = PAGE_SIZE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client  # may wait for Slack's budget: only this directory's thread calls it
        self.refresh_seconds = refresh_seconds
        self.page_size = page_size
        self.monotonic = monotonic
        self._names: dict[str, str] = {}
        self._wanted: dict[str, None] = {}  # users to look up, in the order they were asked for
        self._failed_until: dict[str, float] = {}
        self._list_at = 0.0  # when to fetch the next page of users.list (a listing's first or next)
        self._cursor: str | None = None  # the next page of the listing under way ("": the first)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> UserDirectory:
        """Start filling the cache: every user now, every day, and the users asked for."""
        self._thread = threading.Thread(target=self._run, name="user-directory", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread (a call it is making to Slack finishes or is abandoned)."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def name(self, user_id: str, fallback: str | None = None) -> str | None:
        """The user's display name if known, else *fallback* (and the user is looked up soon,
        off this thread); never calls Slack."""
        with self._lock:
            known = self._names.get(user_id)
            if known is not None:
                return known
            if user_id and self._failed_until.get(user_id, 0.0) <= self.monotonic() and user_id not in self._wanted:
                self._wanted[user_id] = None
                self._wake.notify_all()
        return fallback

    def knows(self, user_id: str) -> bool:
        """Whether the user's name is in the cache (asking does not look the user up)."""
        with self._lock:
            return user_id in self._names

    def learn(self, user: dict[str, Any]) -> None:
        """Remember what Slack says of *user* (a user object: ``user_change``, ``users.list``)."""
        user_id, name = user.get("id"), display_name(user)
        if isinstance(user_id, str) and user_id and name:
            with self._lock:
                self._names[user_id] = name
                self._wanted.pop(user_id, None)
                self._failed_until.pop(user_id, None)

    # -- the directory's thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed and not self._wanted and (left := self._list_at - self.monotonic()) > 0:
                    self._wake.wait(left)
                if self._closed:
                    return
                user_id = next(iter(self._wanted), None)  # people waiting for a name go first
                if user_id is None and self._cursor is None:
                    self._cursor = ""  # a listing is due: from its first page
            try:
                if user_id is not None:
                    self._look_up(user_id)
                else:
                    self._list_page()
            except Exception:  # never let the thread die: the names would stop coming
                log.exception("looking up Slack users failed")
                with self._lock:
                    if user_id is not None:
                        self._wanted.pop(user_id, None)
                        self._failed_until[user_id] = self.monotonic() + TRANSIENT_FAILURE_SECONDS
                    else:
                        self._list_at = self.monotonic() + TRANSIENT_FAILURE_SECONDS

    def _list_page(self) -> None:
        """Fetch the next page of ``users.list`` and learn its users; after the last page, the
        next listing is due in a day; after a failure, this page is asked again later."""
        with self._lock:
            cursor = self._cursor
        try:
            answer = self.client.users_list(limit=self.page_size, cursor=cursor or None)
        except (SlackClientError, OSError) as error:
            reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            hopeless = reason in HOPELESS
            pause = self.refresh_seconds if hopeless else _pause_after(error)
            log.warning("users.list failed (%s); trying again in %.0f s", reason, pause)
            with self._lock:
                self._cursor = None if hopeless else cursor
                self._list_at = self.monotonic() + pause
            return
        for member in answer.get("members") or ():
            if isinstance(member, dict):
                self.learn(member)
        following = (answer.get("response_metadata") or {}).get("next_cursor") or ""
        with self._lock:
            if following:
                self._cursor = following  # the next page at once: Slack's budget paces the pages
            else:
                self._cursor, self._list_at = None, self.monotonic() + self.refresh_seconds
                log.info("listed %d Slack users", len(self._names))

    def _look_up(self, user_id: str) -> None:
        """Ask ``users.info`` for one user the cache does not know."""
        try:
            user = self.client.users_info(user=user_id)["user"]
        except (SlackClientError, OSError, KeyError, TypeError) as error:
            log.info("users.info failed for %s: %s", user_id, type(error).__name__)
            with self._lock:
                self._wanted.pop(user_id, None)
                self._failed_until[user_id] = self.monotonic() + _pause_after(error)
            return
        self.learn(user if isinstance(user, dict) else {})
        with self._lock:
            self._wanted.pop(user_id, None)


def _pause_after(error: Exception) -> float:
    """How long to use the payload's name before asking Slack again after *error*."""
    if isinstance(error, SlackApiError):
        response = error.response
        if response.status_code == 429:
            wait = retry_after(response.headers)
            return TRANSIENT_FAILURE_SECONDS if wait is None else wait
        if response.get("error") in ("user_not_found", "user_not_visible", "account_inactive"):
            return UNKNOWN_USER_SECONDS
    return TRANSIENT_FAILURE_SECONDS
