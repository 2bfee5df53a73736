"""Buttons and menus (``block_actions``): the agenda message's Previous / Next / End and
I'm here / I'm remote, and each note echo's Edit / Delete menu.

Each is acknowledged at once; the core call and anything posted follow. A button does what the
matching command does, with the same rules (only chairs move or end), and whoever may not gets a
short private explanation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core import Caller
from reviewbot.core.replies import Event, Reply
from reviewbot.runtime import Runtime
from reviewbot.slack import blocks, payloads
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.users import UserDirectory

log = logging.getLogger(__name__)

_MOVES = {blocks.PREV: "prev", blocks.NEXT: "next", blocks.END: "end"}


def register(app: App, runtime: Runtime, users: UserDirectory, live: LiveMeeting) -> None:
    """Listen to the agenda message's buttons and the notes' menus."""

    def tell(client: WebClient, caller: Caller) -> Callable[[str], None]:
        return lambda text: payloads.whisper(client, caller.channel_id, caller.user_id, text)

    def current_meeting(caller: Caller, action: dict[str, Any]) -> str | None:
        """Why the button does not belong to the running meeting, if it does not."""
        view, error = payloads.attempt(lambda: runtime.meetings.meeting_view(caller))
        if error is not None:
            return error
        if view is None or view.started_at is None or str(view.id) != str(action.get("value")):
            return "That agenda belongs to a meeting that is no longer running."
        return None

    def on_move(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        caller = payloads.caller_of(body, users)
        problem = current_meeting(caller, action)
        if problem is not None:
            tell(client, caller)(problem)
            return
        reply = runtime.commands.handle("/review", _MOVES[action["action_id"]], caller)
        if reply.event == Event.NONE:
            tell(client, caller)(reply.text)
            return
        live.react(reply, caller.channel_id, tell(client, caller))

    def on_attend(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        caller = payloads.caller_of(body, users)
        problem = current_meeting(caller, action)
        if problem is not None:
            tell(client, caller)(problem)
            return
        remote = action["action_id"] == blocks.REMOTE
        reply = runtime.commands.guard(lambda: runtime.commands.attend(caller, remote))
        tell(client, caller)(reply.text)
        live.react(reply, caller.channel_id, tell(client, caller))

    def on_note_menu(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        caller = payloads.caller_of(body, users)
        verb, _, raw_id = str((action.get("selected_option") or {}).get("value") or "").partition(":")
        if not raw_id.isdigit():
            return
        note_id = int(raw_id)
        if verb == "edit":
            note, error = payloads.attempt(lambda: runtime.commands.editor.editable(caller, note_id))
            if note is None:
                tell(client, caller)(error or "That note cannot be edited.")
                return
            if len(note.text) > blocks.MAX_TEXT:
                tell(client, caller)("That note is too long to edit here; delete it and take it again.")
                return
            meta = blocks.metadata(channel=caller.channel_id, note=note_id)
            try:
                client.views_open(trigger_id=body.get("trigger_id"), view=blocks.note_editor(note, meta))
            except SlackApiError as failure:
                log.info("could not open the note editor: %s", failure.response.get("error"))
                tell(client, caller)("I could not open the editor; please try again.")
        elif verb == "delete":
            reply: Reply = runtime.commands.guard(lambda: runtime.commands.delete_note(caller, note_id))
            if reply.event == Event.NONE:
                tell(client, caller)(reply.text)
                return
            live.react(reply, caller.channel_id, tell(client, caller))

    for action_id in _MOVES:
        app.action(action_id)(on_move)
    app.action(blocks.HERE)(on_attend)
    app.action(blocks.REMOTE)(on_attend)
    app.action(blocks.NOTE_MENU)(on_note_menu)
