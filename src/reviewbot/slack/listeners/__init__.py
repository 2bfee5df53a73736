"""Bolt listeners, one module per kind of Slack request."""

from __future__ import annotations

from slack_bolt import App

from reviewbot.runtime import Runtime
from reviewbot.slack.listeners import actions, channel_messages, commands, events, shortcuts, views
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.users import UserDirectory


def register(app: App, runtime: Runtime, users: UserDirectory, live: LiveMeeting, store: MessageStore) -> None:
    """Attach every listener to *app*."""
    commands.register(app, runtime, users, live)
    actions.register(app, runtime, users, live)
    views.register(app, runtime, users, live)
    shortcuts.register(app, runtime, users, live, store)
    events.register(app, runtime, users, store)
    channel_messages.register(app, runtime, users, live, store)
