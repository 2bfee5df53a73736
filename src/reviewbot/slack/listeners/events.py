"""Events API: the App Home tab, published when someone opens it; a changed profile
(``user_change``) or someone new in the workspace (``team_join``), which the user directory learns
so that notes show their name without asking Slack."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core.publishing import published_pages
from reviewbot.runtime import Runtime
from reviewbot.slack import blocks, payloads
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.users import UserDirectory

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime, users: UserDirectory, store: MessageStore) -> None:
    """Listen to ``app_home_opened``, ``user_change`` and ``team_join``."""

    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user") or "")
        lists, error = payloads.attempt(lambda: runtime.meetings.for_user(payloads.team_of(body), user))
        if lists is None:
            log.warning("App Home for %s not published: %s", user, error)
            return
        upcoming, recent = lists
        drafts = {m: posted.url for m, posted in store.minutes(v.id for v in recent).items()}
        pages, _ = payloads.attempt(lambda: published_pages(runtime.db, (v.id for v in recent)))
        try:
            client.views_publish(user_id=user, view=blocks.home(upcoming, recent, drafts, pages or {}))
        except SlackApiError as failure:
            log.warning("App Home for %s not published: %s", user, failure.response.get("error"))

    app.event("app_home_opened")(on_home_opened)

    def on_user_change(event: dict[str, Any]) -> None:
        user = event.get("user")
        if isinstance(user, dict):
            users.learn(user)

    app.event("user_change")(on_user_change)
    app.event("team_join")(on_user_change)  # the same user object, for someone who just joined
