"""Events API ``message`` events: scribe mode, where messages typed in the channel are the notes.

A new message (or a ``thread_broadcast``, or one sharing a file) goes to the core, which records it
when its author is a scribe of the running meeting and it is at the top of the channel, or when
it is in the thread of a section's heading (:mod:`reviewbot.core.meetings.channel_messages`).
``message_changed`` and ``message_deleted`` reach the notes the message made. Other bots' messages
and the channel's notices (joins, topic changes...) are ignored; of the app's own messages, only
the echoes of notes posted through a ``response_url`` matter: their event tells their ``ts``
(:mod:`reviewbot.slack.echo_timestamps`), which later edits of the notes need.

Feedback is quiet: a ✅ reaction on a message recorded, or changed in the minutes; a ⚠️ and a
private explanation on one that could not be. Reactions go out on the channel's posting queue,
after Slack has its answer. Slack may deliver an event again (``X-Slack-Retry-Num``): the core
records a message once, by its ``ts``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core import Caller, UserError
from reviewbot.core.meetings import MessageNotes
from reviewbot.runtime import Runtime
from reviewbot.slack import blocks, messages, payloads
from reviewbot.slack import text as slack_text
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.post_queue import Lane
from reviewbot.slack.users import UserDirectory, display_name
from reviewbot.store.database import DatabaseUnavailable

log = logging.getLogger(__name__)

RECORDED = "white_check_mark"
NOT_RECORDED = "warning"
#: Subtypes that are a person's message: anything else (joins, topics, bot messages) is not minutes.
PEOPLE_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
#: Subtypes of a new message posted by this app (with its bot token, or through a response_url).
OWN_SUBTYPES = frozenset({None, "bot_message"})


def register(app: App, runtime: Runtime, users: UserDirectory, live: LiveMeeting, store: MessageStore) -> None:
    """Listen to ``message`` events (``message.channels`` and ``message.groups``)."""

    @payloads.apologising  # a bug is logged, never a 500 (which Slack would retry, then count against the app)
    def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        subtype = event.get("subtype")
        channel = str(event.get("channel") or "")
        team = payloads.team_of(body)
        if event.get("app_id") and event.get("app_id") == body.get("api_app_id"):
            if subtype in OWN_SUBTYPES:  # one of this app's messages: maybe an echo whose ts is awaited
                echoed = blocks.echoed_note_ids(event.get("blocks"))
                if echoed:
                    live.echoes.timestamps.learn(channel, echoed, str(event.get("ts") or ""))
            return
        if subtype == "message_changed":
            message = event.get("message") or {}
            if is_persons(message, PEOPLE_SUBTYPES):
                where = section_of(channel, message)
                if where is not False:
                    caller = author(team, channel, message)
                    handle(
                        client,
                        caller,
                        str(message.get("ts") or ""),
                        lambda: runtime.meetings.edit_message(
                            caller, str(message.get("ts") or ""), typed(message), where or None
                        ),
                    )
        elif subtype == "message_deleted":
            previous = event.get("previous_message") or {}
            if previous.get("user") and not previous.get("bot_id"):
                caller = author(team, channel, previous)
                key = str(event.get("deleted_ts") or previous.get("ts") or "")
                _, error = payloads.attempt(lambda: runtime.meetings.delete_message(caller, key))
                if error is not None:
                    log.warning("could not delete the notes of message %s: %s", key, error)
        elif is_persons(event, PEOPLE_SUBTYPES):
            where = section_of(channel, event)
            if where is not False:
                caller = author(team, channel, event)
                key = str(event.get("ts") or "")
                handle(
                    client,
                    caller,
                    key,
                    lambda: runtime.meetings.record_message(caller, key, typed(event), where or None),
                )

    def handle(client: WebClient, caller: Caller, ts: str, action: Callable[[], MessageNotes]) -> None:
        """Run the core call; react on the message with how it went."""
        try:
            outcome = action()
        except UserError as error:
            react(caller.channel_id, ts, NOT_RECORDED)
            payloads.whisper(
                client,
                caller.channel_id,
                caller.user_id,
                f"⚠️ That message is not in the minutes: {slack_text.escape(str(error))} Edit it to try again.",
            )
            return
        except DatabaseUnavailable:
            react(caller.channel_id, ts, NOT_RECORDED)
            payloads.whisper(client, caller.channel_id, caller.user_id, payloads.DATABASE_DOWN)
            return
        if outcome.changed:
            react(caller.channel_id, ts, RECORDED)

    def react(channel: str, ts: str, name: str) -> None:
        def job(lane: Lane) -> None:
            try:
                lane.call("reactions_add", channel=channel, timestamp=ts, name=name)
            except SlackApiError as failure:
                if failure.response.get("error") != "already_reacted":
                    raise

        live.poster.submit(channel, job, f"react :{name}: to {ts}")

    def section_of(channel: str, message: dict[str, Any]) -> int | bool:
        """The section whose thread *message* is in; 0 at the top of the channel; False in
        another thread (conversation)."""
        ts, thread = str(message.get("ts") or ""), str(message.get("thread_ts") or "")
        if not thread or thread == ts:
            return 0
        heading = store.find(channel, thread, [messages.SECTION])
        return heading.ref_id if heading is not None else False

    def author(team: str, channel: str, message: dict[str, Any]) -> Caller:
        user = str(message.get("user") or "")
        # A message event carries no user_name, but usually the author's profile: better than the id
        # for someone the name cache does not know yet.
        profile = message.get("user_profile") or {}
        shown = display_name({"profile": profile, "name": profile.get("name")}) if isinstance(profile, dict) else None
        return Caller(workspace_id=team, channel_id=channel, user_id=user, user_name=users.name(user, shown) or user)

    def typed(message: dict[str, Any]) -> str:
        """What the person typed: Slack's markup undone, and each shared file named with its link."""
        text = slack_text.to_plain(str(message.get("text") or ""), users.name)
        files = [
            f"{f.get('name') or f.get('title') or 'file'} ({f.get('permalink')})"
            for f in message.get("files") or []
            if f.get("permalink")
        ]
        if not files:
            return text
        lines = text.rstrip().splitlines()
        shared = "; ".join(files)
        if lines and lines[-1].strip() and not lines[-1].strip().startswith("//"):
            lines[-1] = f"{lines[-1].rstrip()} ({shared})"
        else:
            lines.append(shared)
        return "\n".join(lines)

    app.event("message")(on_message)


def is_persons(message: dict[str, Any], subtypes: frozenset[str | None]) -> bool:
    """Whether *message* is a person's message (not a bot's, not a channel notice)."""
    return message.get("subtype") in subtypes and not message.get("bot_id") and bool(message.get("user"))
