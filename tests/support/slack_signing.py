"""Build and send requests the way Slack sends them to the bot (signed slash commands, interactions).

See https://docs.slack.dev/authentication/verifying-requests-from-slack/ for the signing scheme:
``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Return the ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers for ``body``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = b"v0:" + str(ts).encode("ascii") + b":" + body
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def slack_escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack does in message and slash command text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    user_name: str,
    channel_id: str = "C0001",
    team_id: str = "T0001",
    response_url: str = "",
    trigger_id: str = "1.2.3",
    channel_name: str = "general",
    team_domain: str = "reviewbot-test",
    api_app_id: str = "A0001",
    token: str = "verification-token",
    escape: bool = True,
) -> bytes:
    """Form-encode a slash command payload in Slack's field order.

    ``text`` is what the user typed; it is escaped with ``slack_escape`` unless ``escape=False``.
    """
    fields = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name),
        ("command", command),
        ("text", slack_escape(text) if escape else text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]
    return urlencode(fields).encode("ascii")


def interactive_body(payload: dict[str, Any]) -> bytes:
    """Form-encode an interaction payload (block actions, view submissions, ...) as ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("ascii")


def post(
    url: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    content_type: str = FORM_CONTENT_TYPE,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, Any] | str]:
    """POST ``body`` signed with ``secret``; return the HTTP status and the JSON-decoded (or text) body.

    HTTP error statuses are returned, not raised.  ``headers`` are added after the signature headers.
    """
    request_headers = {"Content-Type": content_type, **sign(body, secret, timestamp), **(headers or {})}
    request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _decode(
                response.read(), response.headers.get_content_type(), response.headers.get_content_charset()
            )
    except urllib.error.HTTPError as exc:
        with exc:
            raw = exc.read()
            return exc.code, _decode(raw, exc.headers.get_content_type(), exc.headers.get_content_charset())


def _decode(raw: bytes, content_type: str, charset: str | None) -> dict[str, Any] | str:
    text = raw.decode(charset or "utf-8", errors="replace")
    if content_type == "application/json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, dict):
            return data
    return text
