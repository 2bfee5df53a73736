"""The Slack credentials the bot under test is given and the fakes expect; none of them is real."""

from __future__ import annotations

SIGNING_SECRET = "test-signing-secret"
"""The app's signing secret: requests signed with it (:mod:`tests.support.slack_signing`) pass."""

BOT_TOKEN = "xoxb-test-token"
"""The bot token the fake Slack Web API accepts."""
