"""Posting the bot's own notices (reminders, timebox notices) through the channel's posting queue.

The core's send log needs to know how a post went, so unlike the adapter's other posts this one
waits for its turn in the queue (on the channel's urgent track, so never behind note echoes; the
queue paces it and retries rate limits and brief failures) and reports the outcome: retryable
when Slack certainly did not post it (an error answer, a refused
connection), not retryable when it may have (a timeout, or still queued when waiting gives up).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from reviewbot.core import PostError
from reviewbot.core.replies import Mark, Offer
from reviewbot.slack import blocks
from reviewbot.slack.post_queue import Lane, PostQueue
from reviewbot.slack.text import mrkdwn

WAIT_SECONDS = 60.0


class SlackNoticePoster:
    """The core's :class:`~reviewbot.core.Poster` for Slack: ``chat.postMessage`` via the queue."""

    def __init__(self, poster: PostQueue, wait: float = WAIT_SECONDS) -> None:
        self.poster = poster
        self.wait = wait

    def post(self, workspace_id: str, channel_id: str, text: str, marks: Sequence[Mark] = ()) -> None:
        """Post the core's *text* (with its *marks*) to the channel and wait for the outcome; a
        command it offers (an :class:`Offer` mark) gets a button too."""
        text = mrkdwn(text, marks)
        offers = [mark for mark in marks if isinstance(mark, Offer)]
        extra = {"blocks": blocks.notice(text, offers)} if offers else {}
        done = threading.Event()
        failure: list[PostError] = []

        def job(lane: Lane) -> None:
            try:
                lane.call(
                    "chat_postMessage", channel=channel_id, text=text, unfurl_links=False, unfurl_media=False, **extra
                )
            except Exception as error:
                failure.append(post_error(error))
            finally:
                done.set()

        self.poster.submit(channel_id, job, "post a notice", urgent=True)  # never behind note echoes
        if not done.wait(self.wait):
            raise PostError(f"still queued after {self.wait:g}s", retry=False)
        if failure:
            raise failure[0]


def post_error(error: Exception) -> PostError:
    """How a failed post is reported to the send log."""
    if isinstance(error, SlackApiError):
        return PostError(str(error.response.get("error") or error.response.status_code), retry=True)
    if isinstance(error, TimeoutError) or (isinstance(error, URLError) and isinstance(error.reason, TimeoutError)):
        return PostError("timed out", retry=False)
    if isinstance(error, URLError | ConnectionError):
        return PostError(f"connection: {getattr(error, 'reason', None) or type(error).__name__}", retry=True)
    return PostError(f"{type(error).__name__}: {error}", retry=False)
