"""The message shortcut "Add to minutes": any message becomes a note, said by its author.

The note goes to the section whose thread the message is in, or else to the current section.
The person who used the shortcut is told privately where it went, or why it could not be added.
The note is committed and its echo queued before Slack is acknowledged.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from reviewbot.core import Caller
from reviewbot.core.replies import Event
from reviewbot.runtime import Runtime
from reviewbot.slack import blocks, messages, payloads
from reviewbot.slack import text as slack_text
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.users import UserDirectory


def register(app: App, runtime: Runtime, users: UserDirectory, live: LiveMeeting, store: MessageStore) -> None:
    """Listen to the "Add to minutes" message shortcut."""

    @payloads.apologising
    def on_add(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        caller = payloads.caller_of(body, users)
        text = add(caller, body.get("message") or {})
        ack()
        payloads.whisper(client, caller.channel_id, caller.user_id, text)

    def add(caller: Caller, message: dict[str, Any]) -> str:
        """Add the message as a note (queueing its echo); what to tell the person."""
        ts = str(message.get("ts") or "")
        own = store.find(caller.channel_id, ts, [messages.AGENDA, messages.SECTION, messages.NOTE])
        if own is not None:
            return "That is one of my own messages about the meeting; it is already part of it."
        if store.find(caller.channel_id, ts, [messages.SOURCE]) is not None:
            return "That message is already in the minutes."
        author_id = str(message.get("user") or "")
        fallback = message.get("username") or (message.get("bot_profile") or {}).get("name")
        speaker = (users.name(author_id, fallback) if author_id else fallback) or "Someone"
        said = slack_text.to_plain(str(message.get("text") or ""), users.name)
        thread = store.find(caller.channel_id, str(message.get("thread_ts") or ts), [messages.SECTION])
        section_id = thread.ref_id if thread is not None else None
        reply = runtime.commands.guard(
            lambda: runtime.commands.add_message(caller, speaker, said, section_id), note=True
        )
        if reply.event == Event.NOTE_ADDED and reply.meeting_id is not None:
            note = reply.extra["note"]
            store.put(reply.meeting_id, messages.SOURCE, note.id, caller.channel_id, ts)
            live.react(reply, caller)
        return slack_text.of_reply(reply)

    app.shortcut(blocks.ADD_TO_MINUTES)(on_add)
