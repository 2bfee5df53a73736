"""A test-side Slack: sends signed slash commands, interactions and events to the bot as Slack's servers would."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.support.botserver import BotServer
from tests.support.credentials import SIGNING_SECRET
from tests.support.fakeslack import FakeSlack
from tests.support.slack_signing import interactive_body, post, slack_escape, slash_command_body


class SlackUser:
    """One person typing commands in one channel."""

    def __init__(
        self,
        bot: BotServer,
        slack: FakeSlack,
        user_id: str,
        name: str,
        channel: str = "C0001",
        team: str = "T0001",
        joins: bool = True,
    ) -> None:
        """The person is a user of the fake Slack; with *joins*, the bot is told as Slack tells
        it of someone who joined the workspace (``team_join``), so it knows their name from then on."""
        self.bot, self.slack, self.user_id, self.name = bot, slack, user_id, name
        self.channel, self.team = channel, team
        slack.users.setdefault(user_id, {"name": name.lower(), "display_name": name, "real_name": name})
        if joins:  # (a bot of another workspace refuses it: 403)
            self.event({"type": "team_join", "user": slack.user(user_id), "event_ts": next_ts()})

    def command(self, command: str, text: str = "", **kwargs: Any) -> tuple[int, Any]:
        """Type ``command text`` in Slack; returns the HTTP status and the acknowledgement body."""
        body = slash_command_body(
            command,
            text,
            user_id=self.user_id,
            user_name=self.name.lower(),
            channel_id=self.channel,
            team_id=self.team,
            response_url=self.slack.response_url(self.user_id, self.channel),
            **kwargs,
        )
        return post(self.bot.url, body, SIGNING_SECRET)

    def ok(self, command: str, text: str = "") -> dict[str, Any]:
        """Type a command that must succeed; returns the acknowledgement."""
        status, reply = self.command(command, text)
        assert status == 200, (status, reply)
        assert isinstance(reply, dict), reply
        return reply

    def event(self, event: dict[str, Any], retry: int = 0) -> tuple[int, Any]:
        """Deliver *event* as an ``event_callback``; *retry* > 0 sends it as Slack's retry number *retry*."""
        event_id = event.setdefault("_event_id", f"Ev{next(_counter):06d}")
        body = {
            "token": "verification-token",
            "team_id": self.team,
            "context_team_id": self.team,
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "is_ext_shared_channel": False,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "event": {k: v for k, v in event.items() if k != "_event_id"},
        }
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return post(
            self.bot.url, json.dumps(body).encode(), SIGNING_SECRET, content_type="application/json", headers=headers
        )


_counter = itertools.count(1)


def _trigger() -> str:
    return f"{next(_counter)}.{int(time.time())}.trigger"


class SlackPerson(SlackUser):
    """A person who also clicks buttons, uses shortcuts, submits modals, opens App Home and types
    messages in the channel (as the Events API delivers them)."""

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "username": self.name.lower(), "name": self.name.lower(), "team_id": self.team}

    def _send(self, payload: dict[str, Any]) -> tuple[int, Any]:
        payload = {
            "team": {"id": self.team, "domain": "reviewbot-test"},
            "user": self._user(),
            "api_app_id": "A0001",
            "token": "verification-token",
            "trigger_id": _trigger(),
            **payload,
        }
        return post(self.bot.url, interactive_body(payload), SIGNING_SECRET)

    def click(
        self, action_id: str, message_ts: str, value: str = "", *, selected: str | None = None, block_id: str = "b"
    ) -> tuple[int, Any]:
        """Click a button (or pick ``selected`` in an overflow menu) on the message at *message_ts*."""
        message = self.slack.messages.get((self.channel, message_ts), {"ts": message_ts, "text": ""})
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "action_ts": f"{time.time():.6f}"}
        if selected is None:
            action.update(type="button", value=value, text={"type": "plain_text", "text": action_id})
        else:
            action.update(
                type="overflow", selected_option={"text": {"type": "plain_text", "text": selected}, "value": selected}
            )
        return self._send(
            {
                "type": "block_actions",
                "container": {
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": self.channel,
                    "is_ephemeral": False,
                },
                "channel": {"id": self.channel, "name": "general"},
                "message": message,
                "response_url": self.slack.response_url(self.user_id),
                "actions": [action],
            }
        )

    def add_to_minutes(self, message: dict[str, Any]) -> tuple[int, Any]:
        """Use the "Add to minutes" message shortcut on *message* (``ts``, ``text``, ``user``...)."""
        return self._send(
            {
                "type": "message_action",
                "callback_id": "add_to_minutes",
                "action_ts": f"{time.time():.6f}",
                "message_ts": message["ts"],
                "channel": {"id": self.channel, "name": "general"},
                "message": {"type": "message", **message},
                "response_url": self.slack.response_url(self.user_id),
            }
        )

    def submit(self, view: dict[str, Any], values: dict[str, dict[str, str]]) -> tuple[int, Any]:
        """Submit the modal *view* (as opened) with ``{block_id: {action_id: typed value}}``."""
        state = {
            block: {action: {"type": "plain_text_input", "value": value} for action, value in inputs.items()}
            for block, inputs in values.items()
        }
        return self._send(
            {
                "type": "view_submission",
                "view": {**view, "state": {"values": state}},
            }
        )

    def open_home(self) -> tuple[int, Any]:
        """Open the app's Home tab (an ``app_home_opened`` event)."""
        body = {
            "token": "verification-token",
            "team_id": self.team,
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"Ev{next(_counter)}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": self.user_id,
                "channel": "D0001",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
        }
        return post(self.bot.url, json.dumps(body).encode(), SIGNING_SECRET, content_type="application/json")

    # -- messages typed in the channel (the Events API's ``message`` events) ------------------------

    def say(self, text: str, thread_ts: str | None = None, retries: int = 0, **extra: Any) -> str:
        """Post a message in the channel (in the thread *thread_ts*, if given); its ``ts``.

        The event is delivered ``1 + retries`` times, the later ones as Slack's retries are.
        """
        ts = next_ts()
        message = self.message(text, ts, thread_ts, **extra)
        for attempt in range(retries + 1):
            status, _ = self.event(message, retry=attempt)
            assert status == 200, status
        return ts

    def edit(self, ts: str, text: str, thread_ts: str | None = None) -> tuple[int, Any]:
        """Edit the message *ts* (a ``message_changed`` event, as Slack sends it)."""
        return self.event(
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": self.channel,
                "hidden": True,
                "ts": next_ts(),
                "event_ts": next_ts(),
                "message": {**self.message(text, ts, thread_ts), "edited": {"user": self.user_id, "ts": next_ts()}},
                "previous_message": self.message("(before)", ts, thread_ts),
            }
        )

    def delete(self, ts: str, text: str = "(deleted)") -> tuple[int, Any]:
        """Delete the message *ts* (a ``message_deleted`` event)."""
        return self.event(
            {
                "type": "message",
                "subtype": "message_deleted",
                "channel": self.channel,
                "hidden": True,
                "ts": next_ts(),
                "event_ts": next_ts(),
                "deleted_ts": ts,
                "previous_message": self.message(text, ts),
            }
        )

    @staticmethod
    def next_message_ts() -> str:
        """A new message's ``ts``."""
        return next_ts()

    def message(self, text: str, ts: str, thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
        """A message as Slack sends it: text escaped, with a ``rich_text`` block of the same."""
        message: dict[str, Any] = {
            "type": "message",
            "user": self.user_id,
            "text": slack_escape(text),
            "ts": ts,
            "channel": self.channel,
            "team": self.team,
            "event_ts": ts,
            "channel_type": "channel",
            "client_msg_id": f"{next(_counter):08d}-0000-4000-8000-000000000000",
            "blocks": [
                {
                    "type": "rich_text",
                    "block_id": "b1",
                    "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
                }
            ],
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        message.update(extra)
        return message


def next_ts() -> str:
    """A message timestamp as Slack writes them, each one later than the last."""
    return f"{time.time():.0f}.{next(_counter):06d}"
