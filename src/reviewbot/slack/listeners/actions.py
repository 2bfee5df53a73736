"""Buttons and menus (``block_actions``): the agenda message's Previous / Next / End and
I'm here / I'm remote, each note echo's Edit / Delete menu, and the buttons of commands a notice
offers (a reminder's "Copy last meeting's agenda").

A button does what the matching command does, with the same rules (only chairs move or end);
whoever may not gets a short private explanation. A click that worked is confirmed by the agenda
itself, updated through the click's own ``response_url`` (no private "you are marked present").
As with commands, the change is committed and its posts are queued before Slack is acknowledged;
the posts themselves happen afterwards.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core import Caller
from reviewbot.core.replies import Event, Reply
from reviewbot.runtime import Runtime
from reviewbot.slack import blocks, payloads
from reviewbot.slack import text as slack_text
from reviewbot.slack.agenda_updates import Click
from reviewbot.slack.listeners.commands import search_links
from reviewbot.slack.live import LiveMeeting
from reviewbot.slack.users import UserDirectory

log = logging.getLogger(__name__)

#: The agenda message's buttons, as :meth:`CommandHandler.agenda_button` names them.
_BUTTONS = {
    blocks.PREV: "prev",
    blocks.NEXT: "next",
    blocks.END: "end",
    blocks.HERE: "here",
    blocks.REMOTE: "remote",
}


def register(app: App, runtime: Runtime, users: UserDirectory, live: LiveMeeting) -> None:
    """Listen to the agenda message's buttons and the notes' menus."""

    def finish(
        ack: Ack, client: WebClient, caller: Caller, reply: Reply, tell_text: bool, body: dict[str, Any] | None = None
    ) -> None:
        """Queue what the reply changes, acknowledge, then tell the clicker what needs telling
        (a refusal always). A click on the agenda message (*body*) lends the agenda updates its
        ``response_url``."""
        tell = payloads.teller(client, caller)
        if reply.event != Event.NONE:
            live.react(reply, caller, tell, click_of(body) if body is not None else None)
        ack()
        if tell_text or reply.event == Event.NONE:
            tell(slack_text.of_reply(reply))

    @payloads.apologising
    def on_agenda_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        # The agenda showing the move or the clicker's name is the confirmation; a refusal (on
        # the agenda of a meeting that has ended, too) is told privately.
        caller = payloads.caller_of(body, users)
        value = str(action.get("value") or "")
        meeting_id = int(value) if value.isdigit() else 0  # the meeting whose agenda was clicked
        reply = runtime.commands.agenda_button(caller, _BUTTONS[action["action_id"]], meeting_id)
        finish(ack, client, caller, reply, tell_text=False, body=body)

    @payloads.apologising
    def on_note_menu(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        caller = payloads.caller_of(body, users)
        verb, _, raw_id = str((action.get("selected_option") or {}).get("value") or "").partition(":")
        if not raw_id.isdigit() or verb not in ("edit", "delete"):
            ack()
            return
        note_id = int(raw_id)
        if verb == "delete":
            reply = runtime.commands.guard(lambda: runtime.commands.delete_note(caller, note_id))
            finish(ack, client, caller, reply, tell_text=False)
            return
        ack()
        tell = payloads.teller(client, caller)
        note, error = payloads.attempt(lambda: runtime.commands.editor.editable(caller, note_id))
        if note is None:
            tell(error or "That note cannot be edited.")
            return
        if len(note.text) > blocks.MAX_TEXT:
            tell("That note is too long to edit here; delete it and take it again.")
            return
        meta = blocks.metadata(channel=caller.channel_id, note=note_id)
        try:
            client.views_open(trigger_id=body.get("trigger_id"), view=blocks.note_editor(note, meta))
        except SlackApiError as failure:
            log.info("could not open the note editor: %s", failure.response.get("error"))
            tell("I could not open the editor; please try again.")

    @payloads.apologising
    def on_offer(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        # The command the notice offered, run as the clicker as if they had typed it; answered privately.
        caller = payloads.caller_of(body, users)
        reply = runtime.commands.handle("/review", str(action.get("value") or ""), caller)
        finish(ack, client, caller, reply, tell_text=True)

    @payloads.apologising
    def on_search_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        # The next page of a search, in place of the page clicked, searched from the channel the
        # click came from (as Slack says), never one the button's value could name. Answered
        # through the click's response_url, after the acknowledgement.
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        caller = payloads.caller_of(body, users, channel=str(channel))
        answer: dict[str, Any] = {"response_type": "ephemeral", "replace_original": False}
        try:
            asked = json.loads(str(action.get("value") or ""))
            query, offset = str(asked["q"]), int(asked["o"])
        except (ValueError, TypeError, KeyError):
            answer["text"] = "That search cannot go on; please search again."
        else:
            found, error = payloads.attempt(lambda: runtime.commands.search.find(caller, query, offset))
            if found is None:
                answer["text"] = error or "That search cannot go on; please search again."
            else:
                text, page = blocks.search_results(found, search_links(live, found))
                answer.update(replace_original=True, text=text, blocks=page)
        ack()
        threading.Thread(target=_respond, args=(respond, answer), name="search-more", daemon=True).start()

    for action_id in _BUTTONS:
        app.action(action_id)(on_agenda_button)
    app.action(blocks.SEARCH_MORE)(on_search_more)
    app.action(blocks.NOTE_MENU)(on_note_menu)
    app.action(re.compile(rf"^{blocks.OFFER}-\d+$"))(on_offer)


def _respond(respond: Respond, answer: dict[str, Any]) -> None:
    """Answer through a click's ``response_url`` (off the acknowledgement's path)."""
    try:
        respond(**answer)
    except Exception as error:  # a lost answer is logged, never a crash
        log.info("could not answer through the response_url: %r", error)


def click_of(body: dict[str, Any]) -> Click | None:
    """The click's ``response_url`` and the message it was on, if it was on a channel message."""
    container = body.get("container") or {}
    url, ts = body.get("response_url"), container.get("message_ts")
    if not url or not ts or container.get("is_ephemeral"):
        return None
    return Click(str(url), str(ts))
