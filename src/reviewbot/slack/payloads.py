"""Reading Slack's request payloads: who acted, in which channel, and what a view carried."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from reviewbot.core import Caller, UserError
from reviewbot.slack.text import escape
from reviewbot.slack.users import UserDirectory
from reviewbot.store.database import DatabaseUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)

SORRY = (
    "⚠️ Something went wrong on my side and that was not carried out. "
    "Everything recorded before it is safe; please try again."
)
DATABASE_DOWN = "⚠️ The database is not answering right now. Nothing was changed; please try again in a moment."


def team_of(body: dict[str, Any]) -> str:
    """The workspace a request came from."""
    return str(
        body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""
    )


def caller_of(body: dict[str, Any], users: UserDirectory, channel: str | None = None) -> Caller:
    """The person behind an interaction (button, shortcut, view), in *channel* or the payload's."""
    user = body.get("user") or {}
    user_id = str(user.get("id") or "")
    fallback = user.get("name") or user.get("username")
    return Caller(
        workspace_id=team_of(body),
        channel_id=channel if channel is not None else str((body.get("channel") or {}).get("id") or ""),
        user_id=user_id,
        user_name=users.name(user_id, fallback) or "someone",
    )


def view_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The ``private_metadata`` a modal was opened with."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def input_value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    """What was typed into a modal's input."""
    values = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    return str((values.get(action_id) or {}).get("value") or "")


def attempt(action: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run a core call: its result, or the short explanation of why it could not be done."""
    try:
        return action(), None
    except UserError as error:
        return None, escape(str(error))
    except DatabaseUnavailable:
        return None, DATABASE_DOWN


#: Private messages go out from here, so that the answer to Slack's request (sent when the
#: listener returns) never waits on them, not even through a long rate limit.
_WHISPERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="whisper")


def whisper(client: WebClient, channel: str, user: str, text: str) -> None:
    """Tell one person something in the channel, privately (``chat.postEphemeral``), soon."""
    _WHISPERS.submit(_whisper_now, client, channel, user, text)


def _whisper_now(client: WebClient, channel: str, user: str, text: str) -> None:
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except (SlackApiError, OSError) as error:
        reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
        log.info("ephemeral to %s failed: %s", user, reason)


def teller(client: WebClient, caller: Caller) -> Callable[[str], None]:
    """A function that tells *caller* something privately in their channel."""
    return lambda text: whisper(client, caller.channel_id, caller.user_id, text)


def apologising(listener: Callable[..., None]) -> Callable[..., None]:
    """Wrap an interaction listener so that a bug is logged and apologised for, never a 500."""

    @functools.wraps(listener)
    def wrapped(**kwargs: Any) -> None:
        try:
            listener(**kwargs)
        except Exception:
            log.exception("%s failed", listener.__name__)
            ack = kwargs.get("ack")
            if ack is not None and ack.response is None:
                ack()
            body = kwargs.get("body") or {}
            client = kwargs.get("client")
            channel = str((body.get("channel") or {}).get("id") or "")
            user = str((body.get("user") or {}).get("id") or "")
            if client is not None and channel and user:
                whisper(client, channel, user, SORRY)

    return wrapped
