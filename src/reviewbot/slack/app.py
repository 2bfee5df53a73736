"""The Bolt app: Slack's signature check, the workspace check, the listeners, and the posting
queue and live meeting view they share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from reviewbot.runtime import Runtime
from reviewbot.slack import listeners
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.poster import Poster
from reviewbot.slack.users import UserDirectory

log = logging.getLogger(__name__)


def web_client(token: str, base_url: str) -> WebClient:
    """A Web API client that retries on rate limits (honouring Retry-After), 5xx and resets."""
    client = WebClient(token=token, base_url=base_url, timeout=15)
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]
    return client


class SlackUnavailable(RuntimeError):
    """Slack's Web API could not be reached, or refused the token, at start."""


def check_token(client: WebClient) -> str | None:
    """Call ``auth.test``; return the workspace id, or raise SlackUnavailable with a clear reason."""
    try:
        return client.auth_test().get("team_id")
    except SlackApiError as error:
        reason = error.response.get("error", "error")
        raise SlackUnavailable(f"Slack refused SLACK_BOT_TOKEN ({reason}); check the bot token") from None
    except OSError as error:
        where = client.base_url
        raise SlackUnavailable(f"cannot reach the Slack Web API at {where} ({type(error).__name__})") from None


@dataclass
class SlackAdapter:
    """The Bolt app with its posting queue and the live view of meetings."""

    app: App
    poster: Poster
    live: LiveMeeting
    store: MessageStore


def build_app(runtime: Runtime, client: WebClient | None = None) -> App:
    """Build the Bolt app for *runtime*'s settings (token and signing secret required)."""
    return build_adapter(runtime, client).app


def build_adapter(runtime: Runtime, client: WebClient | None = None) -> SlackAdapter:
    """Build the Bolt app and what it posts with; the runtime's ``close`` drains the queue."""
    settings = runtime.settings
    client = client or web_client(settings.slack_bot_token or "", settings.slack_api_url)
    installed_team = check_token(client)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,
        logger=logging.getLogger("reviewbot.bolt"),
    )

    @app.middleware
    def only_installed_workspace(
        body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        team = (
            body.get("team_id")
            or (body.get("team") or {}).get("id")
            or (body.get("user") or {}).get("team_id")
        )
        if installed_team and team and team != installed_team:
            log.warning("refused a request from workspace %s (installed in %s)", team, installed_team)
            return BoltResponse(status=403, body="This app is not installed in that workspace.")
        return next()

    poster = Poster(client, interval=settings.slack_post_interval)
    runtime.on_close(poster.close)
    store = MessageStore(runtime.db)
    live = LiveMeeting(runtime.meetings, poster, store, runtime.meetings.clock, runtime.publisher)
    listeners.register(app, runtime, UserDirectory(client), live, store)
    return SlackAdapter(app=app, poster=poster, live=live, store=store)
