"""Display names of Slack users, looked up once with ``users.info`` and remembered."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.slack.budget import OverBudget, retry_after

log = logging.getLogger(__name__)

#: After a failed look-up, the name Slack sent in the payload is used for a while before
#: ``users.info`` is asked again, so a failing or unknown user never costs a call per command:
#: for an unknown user this long, after a rate limit as long as Slack asks, else this long.
UNKNOWN_USER_SECONDS = 3600.0
TRANSIENT_FAILURE_SECONDS = 10.0


class UserDirectory:
    """A cache of user id to display name; falls back to what the payload says."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._names: dict[str, str] = {}
        self._failed_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def name(self, user_id: str, fallback: str | None = None) -> str | None:
        """The user's display name (or real name, or handle); *fallback* if Slack cannot say."""
        with self._lock:
            if user_id in self._names:
                return self._names[user_id]
            if self._failed_until.get(user_id, 0.0) > time.monotonic():
                return fallback
        try:
            user = self.client.users_info(user=user_id)["user"]
        except (SlackApiError, OverBudget, OSError, KeyError, TypeError) as error:
            log.info("users.info failed for %s: %s", user_id, type(error).__name__)
            with self._lock:
                self._failed_until[user_id] = time.monotonic() + _pause_after(error)
            return fallback
        profile = user.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or fallback
        )
        if name:
            with self._lock:
                self._names[user_id] = name
                self._failed_until.pop(user_id, None)
        return name


def _pause_after(error: Exception) -> float:
    """How long to use the payload's name before asking ``users.info`` again after *error*."""
    if isinstance(error, SlackApiError):
        response = error.response
        if response.status_code == 429:
            wait = retry_after(response.headers)
            return TRANSIENT_FAILURE_SECONDS if wait is None else wait
        if response.get("error") in ("user_not_found", "user_not_visible", "account_inactive"):
            return UNKNOWN_USER_SECONDS
    return TRANSIENT_FAILURE_SECONDS
