"""A test-side Slack: sends signed slash commands to the bot as Slack's servers would."""

from __future__ import annotations

from typing import Any

from conftest import SIGNING_SECRET, BotServer
from fakeslack import FakeSlack
from slack_signing import post, slash_command_body


class SlackUser:
    """One person typing commands in one channel."""

    def __init__(self, bot: BotServer, slack: FakeSlack, user_id: str, name: str, channel: str = "C0001",
                 team: str = "T0001") -> None:
        self.bot, self.slack, self.user_id, self.name = bot, slack, user_id, name
        self.channel, self.team = channel, team
        slack.users.setdefault(user_id, {"name": name.lower(), "display_name": name, "real_name": name})

    def command(self, command: str, text: str = "", **kwargs: Any) -> tuple[int, Any]:
        """Type ``command text`` in Slack; returns the HTTP status and the acknowledgement body."""
        body = slash_command_body(
            command, text, user_id=self.user_id, user_name=self.name.lower(), channel_id=self.channel,
            team_id=self.team, response_url=self.slack.response_url(self.user_id), **kwargs,
        )
        return post(self.bot.url, body, SIGNING_SECRET)

    def ok(self, command: str, text: str = "") -> dict[str, Any]:
        """Type a command that must succeed; returns the acknowledgement."""
        status, reply = self.command(command, text)
        assert status == 200, (status, reply)
        assert isinstance(reply, dict), reply
        return reply
