"""Slack's message text format, both ways: what a person typed, and what the core answers.

Slack escapes ``&``, ``<`` and ``>`` in slash-command text and writes mentions, channels and
links as ``<...>`` tokens; the core wants the plain text, with mentions as ``@Display Name``
(:func:`to_plain`). The core answers in plain text, with moments and links marked
(:mod:`reviewbot.core.replies`); :func:`mrkdwn` makes that Slack's format, escaped so that nothing
anyone typed can become a mention or a link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from reviewbot.core.replies import Link, Mark, Moment, Reply

_TOKEN = re.compile(r"<([^<>]*)>")


def escape(text: str) -> str:
    """Escape *text* for Slack mrkdwn, so it can never become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, marks: Sequence[Mark] = ()) -> str:
    """The core's plain *text* as Slack mrkdwn: escaped, each marked moment a date token that every
    reader sees in their own timezone (the text's own wording as the fallback), each link a link
    (an offered command stays as written: a button for it is the poster's to add)."""
    out = escape(text)
    for mark in dict.fromkeys(marks):
        shown = escape(str(mark))
        if isinstance(mark, Moment):
            token = f"<!date^{int(mark.at.timestamp())}^{{date_long_pretty}} at {{time}}|{shown}>"
        elif isinstance(mark, Link):
            token = f"<{escape(mark.url).replace('|', '%7C')}|{escape(mark.label)}>"
        else:
            continue
        out = out.replace(shown, token)
    return out


def of_reply(reply: Reply) -> str:
    """A core :class:`Reply`'s text as Slack mrkdwn."""
    return mrkdwn(reply.text, reply.marks)


def unescape(text: str) -> str:
    """Undo Slack's escaping of ``&``, ``<`` and ``>`` (and nothing else)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_plain(text: str, user_name: Callable[[str], str | None] = lambda _: None) -> str:
    """Turn Slack command text into plain text; ``user_name`` resolves a user id to a name."""

    def token(match: re.Match[str]) -> str:
        body = match.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@"):
            name = label or user_name(target[1:]) or target[1:]
            return "@" + unescape(name).lstrip("@")
        if target.startswith("#"):
            return "#" + unescape(label or target[1:])
        if target.startswith("!"):
            special = target[1:]
            if special.startswith("subteam^"):
                return unescape(label) if label else "@team"
            if special.startswith("date^"):
                return unescape(label or special)
            return "@" + special
        url = unescape(target)
        if label and unescape(label) != url and not url.endswith(unescape(label)):
            return f"{unescape(label)} ({url})"
        return unescape(label) if label and not url.startswith("mailto:") else url.removeprefix("mailto:")

    parts = []
    position = 0
    for match in _TOKEN.finditer(text):
        parts.append(unescape(text[position : match.start()]))
        parts.append(token(match))
        position = match.end()
    parts.append(unescape(text[position:]))
    return "".join(parts)


def mentions(text: str, user_name: Callable[[str], str | None] = lambda _: None) -> dict[str, str]:
    """The people mentioned in Slack command text, as ``{shown name: user id}``; the names are
    those :func:`to_plain` writes after the ``@``."""
    found: dict[str, str] = {}
    for match in _TOKEN.finditer(text):
        target, _, label = match.group(1).partition("|")
        if target.startswith("@") and len(target) > 1:
            user_id = target[1:]
            name = unescape(label or user_name(user_id) or user_id).lstrip("@")
            found[name] = user_id
    return found
