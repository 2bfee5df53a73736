"""Slash commands ``/review`` and ``/note``: translate the payload, call the core, reply.

The reply is the acknowledgement itself (so it arrives within Slack's 3 seconds, after the note
is committed); the minutes file is uploaded after the acknowledgement.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core import Caller, Reply
from reviewbot.core.followups import publish_report
from reviewbot.core.replies import esc
from reviewbot.runtime import Runtime
from reviewbot.slack import text as slack_text
from reviewbot.slack.users import UserDirectory

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime, users: UserDirectory) -> None:
    """Listen to ``/review`` and ``/note``."""

    def on_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        acked = False
        try:
            caller = Caller(
                workspace_id=command.get("team_id") or "",
                channel_id=command.get("channel_id") or "",
                user_id=command.get("user_id") or "",
                user_name=users.name(command.get("user_id") or "", command.get("user_name")) or "someone",
            )
            typed = slack_text.to_plain(command.get("text") or "", users.name)
            reply = runtime.commands.handle(command.get("command") or "", typed, caller)
            ack(response_type="in_channel" if reply.public else "ephemeral", text=reply.text)
            acked = True
            after_ack(runtime, client, respond, caller, reply)
        except Exception:
            log.exception("command %s failed", command.get("command"))
            if not acked:
                ack(response_type="ephemeral", text=SORRY)

    app.command("/review")(on_command)
    app.command("/note")(on_command)


SORRY = (
    "⚠️ Something went wrong on my side and that command was not carried out. "
    "Everything recorded before it is safe; please try again."
)


def after_ack(runtime: Runtime, client: WebClient, respond: Respond, caller: Caller, reply: Reply) -> None:
    """Work that follows the acknowledgement: upload the minutes, publish them to the wiki."""
    if reply.minutes is not None:
        upload_minutes(client, respond, caller.channel_id, reply)
    if reply.publish_meeting_id is not None and runtime.publisher is not None:
        text = publish_report(runtime.publisher, reply.publish_meeting_id, caller.user_id)
        try:
            client.chat_postMessage(channel=caller.channel_id, text=text)
        except (SlackApiError, OSError):
            respond(response_type="ephemeral", text=text)


def upload_minutes(client: WebClient, respond: Respond, channel_id: str, reply: Reply) -> None:
    """Upload the reply's minutes as a file to the channel; on failure, say so privately."""
    minutes = reply.minutes
    assert minutes is not None
    try:
        client.files_upload_v2(
            channel=channel_id,
            content=minutes.content,
            filename=minutes.filename,
            title=minutes.title,
            initial_comment=f"Minutes of meeting #{minutes.meeting_id}: {esc(minutes.summary)}",
        )
    except (SlackApiError, OSError) as error:
        reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
        log.warning("minutes upload failed for meeting %s: %s", minutes.meeting_id, reason)
        respond(
            response_type="ephemeral",
            text=(
                f"⚠️ I could not upload the minutes ({esc(str(reason))}). They are saved: "
                f"`/review export {minutes.meeting_id}` posts them again."
            ),
        )
