"""Display names of Slack users, looked up once with ``users.info`` and remembered."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class UserDirectory:
    """A cache of user id to display name; falls back to what the payload says."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def name(self, user_id: str, fallback: str | None = None) -> str | None:
        """The user's display name (or real name, or handle); *fallback* if Slack cannot say."""
        with self._lock:
            if user_id in self._names:
                return self._names[user_id]
        try:
            user = self.client.users_info(user=user_id)["user"]
        except (SlackApiError, OSError, KeyError, TypeError) as error:
            log.info("users.info failed for %s: %s", user_id, type(error).__name__)
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
        return name
