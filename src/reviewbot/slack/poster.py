"""Posting the bot's own notices (reminders, timebox notices) to a channel with chat.postMessage."""

from __future__ import annotations

from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core import PostError


class SlackPoster:
    """The core's :class:`~reviewbot.core.Poster` for Slack.

    The client already retries rate limits, server errors and refused connections. What still
    fails is reported as retryable when Slack certainly did not post it (an error answer, a
    refused connection) and as not retryable when it may have (a timeout).
    """

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, workspace_id: str, channel_id: str, text: str) -> None:
        """Post *text* to the channel."""
        try:
            self.client.chat_postMessage(channel=channel_id, text=text, unfurl_links=False, unfurl_media=False)
        except SlackApiError as error:
            raise PostError(str(error.response.get("error") or error.response.status_code), retry=True) from error
        except TimeoutError as error:
            raise PostError("timed out", retry=False) from error
        except URLError as error:
            timed_out = isinstance(error.reason, TimeoutError)
            raise PostError(f"connection: {error.reason}", retry=not timed_out) from error
        except ConnectionError as error:
            raise PostError(f"connection: {type(error).__name__}", retry=True) from error
