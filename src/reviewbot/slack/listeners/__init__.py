"""Bolt listeners, one module per kind of Slack request."""

from __future__ import annotations

from slack_bolt import App

from reviewbot.runtime import Runtime
from reviewbot.slack.listeners import commands
from reviewbot.slack.users import UserDirectory


def register(app: App, runtime: Runtime, users: UserDirectory) -> None:
    """Attach every listener to *app*."""
    commands.register(app, runtime, users)
