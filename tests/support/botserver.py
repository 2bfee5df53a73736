"""The bot in HTTP mode inside the test process (a thread), with the settings tests give it.

Tests that need to reach into the running bot (its runtime, its posting queue) use
:class:`BotServer`; tests of the bot as a separate process use :mod:`tests.support.botprocess`.
"""

from __future__ import annotations

import threading

from reviewbot.config import Settings
from reviewbot.runtime import Runtime
from reviewbot.slack.app import web_client
from reviewbot.slack.budget import Budget, BudgetedWebClient
from tests.support.credentials import BOT_TOKEN, SIGNING_SECRET
from tests.support.doubles import FakeClock
from tests.support.fakeslack import FakeSlack


class BotServer:
    """The bot in HTTP mode on loopback, as production runs it, against the fake Slack."""

    def __init__(self, settings: Settings, clock: FakeClock, **build: object) -> None:
        from reviewbot.slack.server import create_http_server

        self.server = create_http_server(settings, clock=clock, **build)
        self.runtime: Runtime = self.server.runtime
        self.slack = self.server.slack  # the Bolt app, its posting queue (poster) and live view
        self.url = f"http://127.0.0.1:{self.server.effective_port}/slack/events"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        # Close the server in its own loop thread (closing it from here races its select()); if
        # that loop has already stopped, its trigger is gone too, and closing from here is safe.
        try:
            self.server.trigger.pull_trigger(self.server.close)
        except OSError:
            self.server.close()
        self.thread.join(timeout=5)
        self.runtime.close()


def bot_settings(database_url: str, fake_slack: FakeSlack) -> Settings:
    """Settings of the bot under test: HTTP mode against the fake Slack, on loopback."""
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=database_url,
        host="127.0.0.1",
        port=0,
        timezone="America/Los_Angeles",
        slack_post_interval=0.0,  # no pacing in tests; tests/slack/test_slack_poster.py checks it
    )


class FakeSlacksBudget(Budget):
    """The bot's budget of Slack calls while the fake Slack enforces Slack's limits, and none while
    a test has turned them off (``fake_slack.rate_limits = False``): such a test is about
    something else than pacing, for the bot as for the fake."""

    def __init__(self, slack: FakeSlack) -> None:
        super().__init__()
        self.slack = slack

    def spend(self, method: str, max_wait: float | None = None, channel: str | None = None) -> None:
        if self.slack.rate_limits:
            super().spend(method, max_wait, channel)


def bot_client(slack: FakeSlack) -> BudgetedWebClient:
    """The bot's Web API client for the fake Slack, its budget following the fake's limits."""
    return web_client(BOT_TOKEN, slack.api_url, budget=FakeSlacksBudget(slack))
