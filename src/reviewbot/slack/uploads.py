"""The minutes in the channel after ``/review end`` or ``/review export``: the file, and the wiki's answer.

Both run as jobs on the channel's urgent lane (:mod:`reviewbot.slack.live` queues them), after
Slack was acknowledged; a failure is told privately to whoever asked, with the command that posts
the minutes again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError, SlackClientError

from reviewbot.core.followups import publish_report
from reviewbot.core.publishing import Publisher
from reviewbot.core.replies import Reply
from reviewbot.slack import messages
from reviewbot.slack import text as slack_text
from reviewbot.slack.messages import MessageStore
from reviewbot.slack.post_queue import Lane
from reviewbot.store.database import DatabaseUnavailable

log = logging.getLogger(__name__)

Notify = Callable[[str], None]


def upload_minutes(lane: Lane, reply: Reply, store: MessageStore, notify: Notify | None) -> None:
    """Render the reply's minutes, upload them as a file in the lane's channel and remember where;
    on failure, say so privately through *notify*. Rendering here, not in the acknowledgement,
    keeps the whole meeting's read off the path Slack waits on."""
    draft = reply.minutes
    assert draft is not None
    try:
        minutes = draft.render()
    except DatabaseUnavailable:
        log.warning("minutes of meeting %s not rendered: the database is unavailable", draft.meeting_id)
        if notify is not None:
            notify(
                "⚠️ I could not read the minutes just now (the database is busy). They are saved: "
                f"`/review export {draft.meeting_id}` posts them."
            )
        return
    try:
        response = lane.call(
            "files_upload_v2",
            channel=lane.channel,
            content=minutes.content,
            filename=minutes.filename,
            title=minutes.title,
            initial_comment=f"Minutes of meeting #{minutes.meeting_id}: {slack_text.escape(minutes.summary)}",
        )
    except (SlackApiError, SlackClientError, OSError) as error:
        reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
        log.warning("minutes upload failed for meeting %s: %s", minutes.meeting_id, reason)
        if notify is not None:
            notify(
                f"⚠️ I could not upload the minutes ({slack_text.escape(str(reason))}). They are saved: "
                f"`/review export {minutes.meeting_id}` posts them again."
            )
        return
    file = response.get("file") or {}
    if minutes.meeting_id and file.get("id"):
        store.put(minutes.meeting_id, messages.MINUTES, 0, lane.channel, str(file["id"]), file.get("permalink"))


def publish_minutes(lane: Lane, publisher: Publisher, meeting_id: int, user_id: str, notify: Notify | None) -> None:
    """Publish the meeting's minutes to the wiki and say how it went, in the lane's channel (or
    privately through *notify*, if the channel cannot be posted to)."""
    text = slack_text.of_reply(publish_report(publisher, meeting_id, user_id))
    try:
        lane.call("chat_postMessage", channel=lane.channel, text=text)
    except (SlackApiError, SlackClientError, OSError):
        if notify is None:
            raise
        notify(text)
