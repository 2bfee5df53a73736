"""The Bolt app: Slack's signature check, the workspace check, the listeners, and the posting
queue and live meeting view they share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)

from reviewbot.config import Settings
from reviewbot.runtime import Runtime
from reviewbot.slack import listeners
from reviewbot.slack.budget import Budget, BudgetedWebClient, SharedBudget, budget_for
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.post_queue import PostQueue
from reviewbot.slack.turns import Turns
from reviewbot.slack.users import UserDirectory
from reviewbot.store.live_leases import LiveLeases

log = logging.getLogger(__name__)


class AnyServerErrorRetryHandler(ServerErrorRetryHandler):
    """Retries every 5xx answer: Slack's edge answers 502 and 504 too, not only 500 and 503."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code < 600


def web_client(token: str, base_url: str, budget: Budget | None = None) -> BudgetedWebClient:
    """A Web API client that spends Slack's budget per method (:mod:`reviewbot.slack.budget`) and
    retries 5xx answers and connection resets. A 429 is not retried here: it pauses the method for
    every caller, and the caller (the posting queue, say) tries again once the pause is over."""
    client = BudgetedWebClient(token=token, base_url=base_url, timeout=15, budget=budget or Budget())
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        AnyServerErrorRetryHandler(max_retry_count=2),
    ]
    return client


class _ClientTokenNotice(logging.Filter):
    """Drops Bolt's start-up warning that ``token`` will be unused, which it gives whenever
    SLACK_BOT_TOKEN is in the environment and a client is passed too: the client carries that
    very token, so the warning would only make people doubt their token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_CLIENT_TOKEN_NOTICE = _ClientTokenNotice()


def bolt_logger(name: str) -> logging.Logger:
    """The logger a Bolt app here logs to (without the warning :class:`_ClientTokenNotice` drops)."""
    logger = logging.getLogger(name)
    logger.addFilter(_CLIENT_TOKEN_NOTICE)
    return logger


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
    """The Bolt app with its posting queue, the live view of meetings and the user directory."""

    app: App
    poster: PostQueue
    live: LiveMeeting
    store: MessageStore
    users: UserDirectory
    turns: Turns  # requests first, the posting queue's jobs a few at a time (see reviewbot.slack.turns)


def bolt_options(settings: Settings) -> dict[str, Any]:
    """How Bolt runs listeners here (the benchmark's bare app uses the same).

    Listeners run in the request's own thread and the answer goes out when the listener returns
    (``process_before_response``): every listener acknowledges within milliseconds and leaves
    Slack calls to the posting queue, so this spares Bolt's hand-over to a pool and its 10 ms
    polling for the acknowledgement. Bolt's pool (for anything it still runs there) is as wide
    as the server, not its default of 5.
    """
    return {
        "process_before_response": True,
        # The app's own messages are wanted: an echo posted through a response_url learns its ts
        # from its message event (see listeners.channel_messages).
        "ignoring_self_events_enabled": False,
        "listener_executor": ThreadPoolExecutor(max_workers=settings.http_threads, thread_name_prefix="listener"),
    }


class InstalledWorkspaceOnly(Middleware):
    """Refuses (403) a request from another workspace than the one the token belongs to.

    A middleware object rather than a function: Bolt calls it without building the keyword
    arguments a function middleware asks for, which cost as much as the check on every request.
    """

    def __init__(self, team: str | None) -> None:
        self.team = team

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Pass the request on, unless it names a workspace other than the installed one."""
        body = req.body
        team = body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
        if self.team and team and team != self.team:
            log.warning("refused a request from workspace %s (installed in %s)", team, self.team)
            return BoltResponse(status=403, body="This app is not installed in that workspace.")
        return next()


class BudgetedListenerClient(Middleware):
    """Gives listeners the app's own client, which spends Slack's budget per method
    (:mod:`reviewbot.slack.budget`), instead of the plain copy Bolt makes for each request, which
    would call Slack past a pause that another thread's 429 started. reviewbot never changes the
    client's token, the reason Bolt copies it."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Swap the request's client for the app's, then go on."""
        req.context["client"] = self.client
        return next()


def build_adapter(runtime: Runtime, client: WebClient | None = None) -> SlackAdapter:
    """Build the Bolt app and what it posts with; the runtime's ``close`` drains the queue."""
    settings = runtime.settings
    if client is None:
        budget = budget_for(runtime.db)  # shared by every process on PostgreSQL
        if isinstance(budget, SharedBudget):
            runtime.on_close(budget.buckets.dispose)
        client = web_client(settings.slack_bot_token or "", settings.slack_api_url, budget)
    installed_team = check_token(client)
    budget = getattr(client, "budget", None)
    if isinstance(budget, SharedBudget) and budget.workspace is None:
        budget.workspace = installed_team  # the token's workspace: the budget is Slack's for it
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        logger=bolt_logger("reviewbot.bolt"),
        **bolt_options(settings),
    )

    app.middleware(InstalledWorkspaceOnly(installed_team))
    app.middleware(BudgetedListenerClient(client))

    turns = Turns()
    poster = PostQueue(client, interval=settings.slack_post_interval, turns=turns)
    runtime.on_close(poster.close)
    store = MessageStore(runtime.db)
    # Processes sharing a PostgreSQL database take turns at a meeting's echoes and agenda.
    leases = None if runtime.db.is_sqlite else LiveLeases(runtime.db).start()
    if leases is not None:
        runtime.on_close(leases.close)
    live = LiveMeeting(
        runtime.meetings,
        poster,
        store,
        runtime.meetings.clock,
        runtime.publisher,
        leases=leases,
        echo_via_response_url=settings.echo_via_response_url,
    )
    runtime.on_close(live.echoes.timestamps.close)
    users = UserDirectory(client).start()  # names known ahead: no acknowledgement waits for users.info
    runtime.on_close(users.close)
    listeners.register(app, runtime, users, live, store)
    return SlackAdapter(app=app, poster=poster, live=live, store=store, users=users, turns=turns)
