"""Modal submissions (``view_submission``): the agenda editor and the note editor.

A mistake is shown next to the input, in the still-open modal, so nothing typed is lost; a
successful save closes the modal and updates the channel's live view (queued before the
acknowledgement, posted after it).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from reviewbot.runtime import Runtime
from reviewbot.slack import blocks, payloads
from reviewbot.slack import text as slack_text
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.users import UserDirectory


def inline(error: str) -> str:
    """A core message as a modal shows it (plain text: no mrkdwn markers)."""
    return error.replace("`", "").replace("*", "")


def register(app: App, runtime: Runtime, users: UserDirectory, live: LiveMeeting) -> None:
    """Listen to the agenda editor and the note editor being saved."""

    @payloads.apologising
    def on_agenda(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = payloads.view_metadata(view)
        caller = payloads.caller_of(body, users, channel=str(meta.get("channel") or ""))
        outline = payloads.input_value(view, blocks.OUTLINE_BLOCK, blocks.OUTLINE_INPUT)
        reply, error = payloads.attempt(lambda: runtime.commands.save_agenda(caller, outline))
        if reply is None:
            ack(response_action="errors", errors={blocks.OUTLINE_BLOCK: inline(error or "Not saved.")})
            return
        live.react(reply, caller)
        ack()
        payloads.whisper(client, caller.channel_id, caller.user_id, slack_text.of_reply(reply))

    @payloads.apologising
    def on_note(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = payloads.view_metadata(view)
        caller = payloads.caller_of(body, users, channel=str(meta.get("channel") or ""))
        text = payloads.input_value(view, blocks.NOTE_BLOCK, blocks.NOTE_INPUT)
        note_id = meta.get("note")
        if not isinstance(note_id, int):
            ack(response_action="errors", errors={blocks.NOTE_BLOCK: "This editor lost track of its note."})
            return
        reply, error = payloads.attempt(lambda: runtime.commands.edit_note(caller, note_id, text))
        if reply is None:
            ack(response_action="errors", errors={blocks.NOTE_BLOCK: inline(error or "Not saved.")})
            return
        live.react(reply, caller)
        ack()

    app.view(blocks.AGENDA_EDITOR)(on_agenda)
    app.view(blocks.NOTE_EDITOR)(on_note)
