"""A local fake of the Slack Web API for tests.

``FakeSlack`` runs a small threaded HTTP server on 127.0.0.1 (ephemeral port).  Point a
``slack_sdk.WebClient(base_url=slack.api_url)`` (or the bot's SLACK_API_URL) at it and every API call
is answered with a plausible Slack response and recorded in ``slack.calls``.

Routes:

* ``/api/<method>``          Web API methods (form-encoded, JSON or multipart bodies, or a query string)
* ``/upload/v1/<file_id>``   upload URLs handed out by ``files.getUploadURLExternal``
* ``/response/<name>/<n>``   ``response_url`` endpoints for slash commands and interactions

Slack's rate limits are enforced by default (see :class:`RateLimits`): a call over a limit is
answered HTTP 429 with ``Retry-After``, and calls made before a ``Retry-After`` had passed are
flagged (``slack.early_calls``).  ``FakeSlack(rate_limits=False)`` or ``slack.rate_limits = False``
turns them off for tests that are about something else.

Tokens are never logged: the server does not write access logs and ``Call.__repr__`` redacts them.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import math
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TEAM_ID = "T0001"
TEAM_NAME = "Reviewbot Test"
TEAM_URL = "https://reviewbot-test.slack.com/"
BOT_USER_ID = "UBOT"
BOT_USER_NAME = "reviewbot"
BOT_ID = "B0001"
APP_ID = "A0001"  # the app's id (``api_app_id`` in what Slack sends it, ``app_id`` on its messages)

#: Pseudo method name under which uploads to an upload URL can be made to fail with ``fail_next``.
UPLOAD = "upload"
#: Prefix of the pseudo method name under which POSTs to ``response_url(name)`` are recorded.
RESPONSE_URL_PREFIX = "response_url:"

# Fields that Slack expects as JSON-encoded strings in form bodies; recorded args hold them decoded.
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls"})

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Call:
    """One recorded request.

    ``args`` is the merged query string and body (form fields as ``str``, repeated fields as lists,
    JSON-valued form fields such as ``blocks``/``view``/``files`` decoded).  ``headers`` keys are
    lower-cased.  ``status`` and ``response`` describe what the fake answered.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    response: Any = None
    #: Refused by the fake's rate limits (HTTP 429, or 404 ``used_url`` for a ``response_url``).
    limited: bool = False
    #: Made before the ``Retry-After`` of an earlier 429 for this method in this workspace had passed.
    early: bool = False
    #: Which limit refused it: ``"workspace"``, ``"channel"`` (its bucket was empty) or ``"pause"``
    #: (an earlier ``Retry-After`` had not passed); None when admitted.
    refused_by: str | None = None
    #: When the fake answered it (``time.monotonic()``); the benchmark times what users see by it.
    at: float = 0.0
    #: The ``ts`` of the channel message an accepted in-channel ``response_url`` POST created (Slack's
    #: answer does not say it; the bot learns it from the message event, as from Slack).
    posted_ts: str | None = None

    @property
    def token(self) -> str | None:
        """The token of the request: ``Authorization: Bearer`` header, else a ``token`` argument."""
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        token = self.args.get("token")
        return token if isinstance(token, str) and token else None

    def __repr__(self) -> str:
        headers = {k: ("<redacted>" if k == "authorization" else v) for k, v in self.headers.items()}
        args = {k: ("<redacted>" if k == "token" else v) for k, v in self.args.items()}
        flags = "".join(f", {name}=True" for name in ("limited", "early") if getattr(self, name))
        return f"Call(method={self.method!r}, args={args!r}, headers={headers!r}, status={self.status}{flags})"


@dataclass
class Upload:
    """A file uploaded through the files upload v2 flow.

    ``file_id``/``filename`` come from ``files.getUploadURLExternal``, ``content`` from the POST to the
    upload URL; the remaining fields are filled in by ``files.completeUploadExternal``.
    """

    file_id: str
    filename: str
    content: bytes
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    error: str | None
    remaining: int


@dataclass
class _PendingUpload:
    filename: str
    length: int | None
    upload: Upload | None = None
    completed: bool = False


@dataclass
class _State:
    """Mutable server state, guarded by ``FakeSlack._lock``."""

    ts_micros: int = 1_700_000_000_000_000
    next_id: int = 0
    pending_uploads: dict[str, _PendingUpload] = field(default_factory=dict)


@dataclass(frozen=True)
class Limit:
    """A token bucket's size: ``per_minute`` tokens a minute, at most ``burst`` at once."""

    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


#: Slack's published tiers, at their minimums ("20+ per minute"...).  Slack does not publish burst
#: sizes; these allow about a fifth of a minute's budget at once ("sporadic" / "generous" bursts).
TIER_2 = Limit(20, 5)
TIER_3 = Limit(50, 10)
TIER_4 = Limit(100, 20)
#: ``chat.postMessage``: about one message a second per channel with short bursts, and several
#: hundred a minute per workspace; both must have room for a message to be posted.
POST_MESSAGE_PER_CHANNEL = Limit(60, 4)
POST_MESSAGE_PER_WORKSPACE = Limit(300, 60)
#: ``auth.test`` and ``chat.getPermalink``: "hundreds per minute".
HUNDREDS = Limit(600, 120)

#: The per-workspace limit of each method; methods not named here are not limited.
METHOD_LIMITS: dict[str, Limit] = {
    "users.list": TIER_2,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "reactions.add": TIER_3,
    "conversations.info": TIER_3,
    "chat.postEphemeral": TIER_4,
    "users.info": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "files.info": TIER_4,
    "chat.postMessage": POST_MESSAGE_PER_WORKSPACE,
    "auth.test": HUNDREDS,
    "chat.getPermalink": HUNDREDS,
}
#: Methods limited per channel as well (the ``channel`` argument), on top of ``METHOD_LIMITS``.
CHANNEL_LIMITS: dict[str, Limit] = {"chat.postMessage": POST_MESSAGE_PER_CHANNEL}
#: How many times one ``response_url`` may be used (Slack: 5 times within 30 minutes; the
#: 30 minutes are not modelled, no test runs that long).
RESPONSE_URL_USES = 5

# Tolerance for float arithmetic when a test's clock moves by exactly one token's worth of time.
_EPSILON = 1e-9


class _Bucket:
    """A token bucket: starts full (``limit.burst`` tokens), refills continuously at
    ``limit.per_second``; a call takes one token."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0.0 if one is available now)."""
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.per_second)
        self.stamp = max(self.stamp, now)
        missing = 1.0 - self.tokens
        return 0.0 if missing <= _EPSILON else missing / self.limit.per_second

    def take(self) -> None:
        self.tokens -= 1.0


@dataclass(frozen=True)
class Verdict:
    """What :meth:`RateLimits.admit` decided: ``retry_after`` seconds (whole, at least 1) when the
    call is refused, else None; ``early`` when the call came before an earlier ``Retry-After``
    for its method in its workspace had passed; ``refused_by`` names the limit that refused it
    (``"workspace"``, ``"channel"`` or ``"pause"``)."""

    retry_after: int | None
    early: bool
    refused_by: str | None = None


class RateLimits:
    """Slack's rate limits as token buckets, per workspace per method.

    Limits (Slack's published minimums: docs.slack.dev/apis/web-api/rate-limits for the tiers, each
    method's reference page for its tier; burst sizes are not published and are chosen here):

    * Tier 2, 20 a minute, bursts of 5: ``users.list``;
    * Tier 3, 50 a minute, bursts of 10: ``chat.update``, ``chat.delete``, ``reactions.add``,
      ``conversations.info``;
    * Tier 4, 100 a minute, bursts of 20: ``chat.postEphemeral``, ``users.info``, ``views.open``,
      ``views.update``, ``views.publish``, ``files.getUploadURLExternal``,
      ``files.completeUploadExternal``, ``files.info``;
    * ``chat.postMessage``: 1 a second per channel, bursts of 4, and 300 a minute per workspace,
      bursts of 60;
    * ``auth.test``, ``chat.getPermalink``: 600 a minute;
    * a ``response_url``: 5 uses.

    A call over a limit is refused with ``Retry-After``: the whole seconds until a token is
    available, at least 1.  That blocks the method in the whole workspace until then, as Slack
    expects apps to wait: a call made before it has passed is *early*, counted, and refused too
    (with the time that is left, which a refusal does not extend).  A refused call takes no token.
    ``monotonic`` is the clock (seconds); tests may pass one they move by hand.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.early_calls = 0
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._blocked_until: dict[tuple[str, str], float] = {}
        self._url_uses: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, workspace: str, method: str, channel: str | None = None) -> Verdict:
        """Decide on one call of ``method`` in ``workspace`` (to ``channel``); take its tokens if admitted."""
        with self._lock:
            now = self.monotonic()
            key = (workspace, method)
            blocked_until = self._blocked_until.get(key)
            if blocked_until is not None and now < blocked_until - _EPSILON:
                self.early_calls += 1
                return Verdict(_whole_seconds(blocked_until - now), early=True, refused_by="pause")
            buckets = self._buckets_for(workspace, method, channel or "", now)
            waits = {scope: bucket.wait(now) for scope, bucket in buckets.items()}
            scope, wait = max(waits.items(), key=lambda item: item[1], default=("", 0.0))
            if wait > 0.0:
                retry_after = _whole_seconds(wait)
                self._blocked_until[key] = now + retry_after
                return Verdict(retry_after, early=False, refused_by=scope)
            for bucket in buckets.values():
                bucket.take()
            return Verdict(None, early=False)

    def use_response_url(self, url: str) -> bool:
        """Count one use of ``url``; False when it was already used ``RESPONSE_URL_USES`` times."""
        with self._lock:
            uses = self._url_uses.get(url, 0)
            if uses >= RESPONSE_URL_USES:
                return False
            self._url_uses[url] = uses + 1
            return True

    def _buckets_for(self, workspace: str, method: str, channel: str, now: float) -> dict[str, _Bucket]:
        """The buckets a call must take a token from, by scope (``"workspace"``, ``"channel"``)."""
        wanted: list[tuple[str, tuple[str, ...], Limit]] = []
        if method in METHOD_LIMITS:
            wanted.append(("workspace", (workspace, method), METHOD_LIMITS[method]))
        if method in CHANNEL_LIMITS:
            wanted.append(("channel", (workspace, method, channel), CHANNEL_LIMITS[method]))
        buckets = {}
        for scope, key, limit in wanted:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(limit, now)
            buckets[scope] = bucket
        return buckets


def _whole_seconds(seconds: float) -> int:
    """``Retry-After``: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(seconds - _EPSILON))


class FakeSlack:
    """Fake Slack Web API server.  Use ``with FakeSlack() as slack:`` or ``start()``/``stop()``.

    Configuration (may be changed at any time, also while running):

    * ``users[user_id] = {"name": ..., "display_name": ..., "real_name": ...}`` (optional extra keys:
      ``tz``, ``tz_offset``, ``is_bot``, ``deleted``, ``email``) for ``users.info`` and ``users.list``
      (paged by ``limit`` and ``cursor``).
    * ``channels[channel_id] = {"name": ...}`` (optional ``is_private``, ``is_im``) for
      ``conversations.info``; ``C0001`` ("general") is predefined.
    * ``invalid_token = True``: every API method answers ``{"ok": false, "error": "invalid_auth"}``.
    * ``fail_next(...)``: inject rate limits, server errors or ``ok: false`` errors (these take
      precedence over the rate limits, and neither spend nor set them).
    * ``set_handler(method, func)``: answer an extra method with ``func(args) -> dict``.
    * ``rate_limits = False`` (or ``FakeSlack(rate_limits=False)``): no rate limits; they are on by
      default (:class:`RateLimits`), on a clock given as ``FakeSlack(monotonic=...)``.
    * ``on_message = deliver``: each message the bot posts in a channel (``chat.postMessage``, or an
      in-channel ``response_url`` POST for a URL given a channel) is handed, as the ``message``
      event Slack would send the app, to ``deliver(event)``, in order, on a thread of its own.

    Every token belongs to the workspace ``TEAM_ID`` (as ``auth.test`` says); the rate limits are
    kept per workspace.

    State for assertions: ``calls`` (all requests, including failed ones), ``limited_calls`` and
    ``early_calls`` (see :class:`Call`), ``uploads`` (files), ``messages`` (current state of posted
    messages keyed by ``(channel, ts)``), ``views`` (by view id).
    """

    def __init__(self, *, rate_limits: bool = True, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate_limits = rate_limits
        self.limiter = RateLimits(monotonic)
        self.users: dict[str, dict[str, Any]] = {
            BOT_USER_ID: {
                "name": BOT_USER_NAME,
                "display_name": "Reviewbot",
                "real_name": "Reviewbot",
                "is_bot": True,
            },
        }
        self.channels: dict[str, dict[str, Any]] = {"C0001": {"name": "general"}}
        self.invalid_token = False
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.reactions: dict[tuple[str, str], list[str]] = {}  # the bot's reactions, by (channel, ts)
        self._calls: list[Call] = []
        self._uploads: list[Upload] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._handlers: dict[str, Handler] = {}
        self._state = _State()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._response_urls = itertools.count(1)
        self._response_url_channels: dict[str, str] = {}  # URL number: the channel it answers in
        self.on_message: Callable[[dict[str, Any]], None] | None = None
        self._events: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._event_thread: threading.Thread | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        if self._server is not None:
            raise RuntimeError("FakeSlack is already running")
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler_class(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if self._event_thread is not None:
            self._events.put(None)
            self._event_thread.join(timeout=5)
            self._event_thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ URLs

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; use start() or a with block")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``; ends with "/" as slack_sdk's urljoin needs."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "x", channel: str | None = None) -> str:
        """A new ``response_url`` whose POSTs are recorded as calls to ``"response_url:<name>"``.

        Each call gives another URL (as Slack gives one per payload), each usable
        ``RESPONSE_URL_USES`` times; all of them are recorded under ``name``. Given the *channel*
        the payload came from, an ``in_channel`` response (not replacing or deleting the original)
        posts a message there, in the thread ``thread_ts`` if given, as Slack does.
        """
        number = str(next(self._response_urls))
        if channel is not None:
            with self._lock:
                self._response_url_channels[number] = channel
        return f"{self.base_url}/response/{name}/{number}"

    # ------------------------------------------------------------------ recorded state

    @property
    def calls(self) -> list[Call]:
        """A snapshot (copy) of all recorded calls, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def uploads(self) -> list[Upload]:
        """A snapshot of the files whose bytes were uploaded, oldest first."""
        with self._lock:
            return list(self._uploads)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    @property
    def limited_calls(self) -> list[Call]:
        """The recorded calls the rate limits refused (injected faults are not among them)."""
        with self._lock:
            return [c for c in self._calls if c.limited]

    @property
    def early_calls(self) -> list[Call]:
        """The recorded calls made before the ``Retry-After`` of their method had passed."""
        with self._lock:
            return [c for c in self._calls if c.early]

    @property
    def early_call_count(self) -> int:
        """How many calls came before their ``Retry-After`` since the start (``clear`` keeps it)."""
        return self.limiter.early_calls

    def responses(self, name: str = "x") -> list[dict[str, Any]]:
        """The bodies POSTed to ``response_url(name)``."""
        return [c.args for c in self.calls_to(RESPONSE_URL_PREFIX + name)]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` were recorded; return all calls to it.

        Raises AssertionError (listing everything received) on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [c for c in self._calls if c.method == method]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    received = "\n  ".join(repr(c) for c in self._calls) or "(nothing)"
                    raise AssertionError(
                        f"expected {count} call(s) to {method!r} within {timeout}s, got {len(matching)}; "
                        f"received:\n  {received}"
                    )
                self._changed.wait(remaining)

    def wait_for_response(self, name: str = "x", count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Like ``wait_for`` for POSTs to ``response_url(name)``; returns their bodies."""
        return [c.args for c in self.wait_for(RESPONSE_URL_PREFIX + name, count, timeout)]

    def clear(self) -> None:
        """Forget recorded calls and uploads (configuration, messages and views are kept)."""
        with self._lock:
            self._calls.clear()
            self._uploads.clear()

    # ------------------------------------------------------------------ configuration

    def user(self, user_id: str) -> dict[str, Any]:
        """The user object Slack gives for ``users[user_id]`` (in ``users.info``, ``users.list``, events)."""
        with self._lock:
            return _user_object(user_id, self.users[user_id])

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        *,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        * default: HTTP 429 with ``Retry-After: <retry_after>`` (omitted if ``retry_after`` is None)
          and body ``{"ok": false, "error": "ratelimited"}``;
        * ``status=500`` (or any other status): that HTTP status with an ``ok: false`` JSON body;
        * ``error="channel_not_found"``: HTTP 200 (unless ``status`` is given) with
          ``{"ok": false, "error": "channel_not_found"}``.

        ``method`` may also be ``UPLOAD`` ("upload") for the POST to an upload URL, or
        ``"response_url:<name>"``.  Faults queue up in the order they were added.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if status is None:
            status = 200 if error is not None else 429
        with self._lock:
            self._faults.setdefault(method, []).append(_Fault(status, retry_after, error, times))

    def set_handler(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(args)`` (a dict; ``ok`` defaults to True); overrides built-ins."""
        with self._lock:
            self._handlers[method] = handler

    # ------------------------------------------------------------------ request handling (server side)

    def _record(self, call: Call) -> None:
        call.at = time.monotonic()
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.pop(0)
            return fault

    def _next_ts(self) -> str:
        with self._lock:
            self._state.ts_micros += 100
            micros = self._state.ts_micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._state.next_id += 1
            return f"{prefix}{self._state.next_id:08d}"

    def _handle_api(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> _Reply:
        call = Call(method=method, args=args, headers=headers)
        fault = self._take_fault(method)
        if fault is not None:
            reply = _fault_reply(fault)
        elif self.invalid_token:
            reply = _Reply.error("invalid_auth")
        elif call.token is None:
            reply = _Reply.error("not_authed")
        else:
            reply = self._admit(call) or self._dispatch(method, args)
        call.status, call.response = reply.status, reply.body
        self._record(call)
        return reply

    def _admit(self, call: Call) -> _Reply | None:
        """None when the rate limits let ``call`` through, else the 429 that refuses it."""
        if not self.rate_limits:
            return None
        channel = call.args.get("channel")
        verdict = self.limiter.admit(TEAM_ID, call.method, channel if isinstance(channel, str) else None)
        call.early, call.refused_by = verdict.early, verdict.refused_by
        if verdict.retry_after is None:
            return None
        call.limited = True
        headers = {"Retry-After": str(verdict.retry_after)}
        return _Reply(429, {"ok": False, "error": "ratelimited"}, headers=headers)

    def _dispatch(self, method: str, args: dict[str, Any]) -> _Reply:
        with self._lock:
            custom = self._handlers.get(method)
        if custom is not None:
            return _Reply.ok(custom(args))
        builtin = _BUILTINS.get(method)
        if builtin is None:
            return _Reply(200, {"ok": False, "error": "unknown_method", "req_method": method})
        return builtin(self, args)

    def _handle_upload(self, file_id: str, content: bytes, headers: dict[str, str]) -> _Reply:
        args: dict[str, Any] = {"file_id": file_id, "length": len(content)}
        call = Call(method=UPLOAD, args=args, headers=headers)
        fault = self._take_fault(UPLOAD)
        if fault is not None:
            reply = _fault_reply(fault)
        else:
            with self._lock:
                pending = self._state.pending_uploads.get(file_id)
                if pending is None:
                    reply = _Reply(404, "file not found", content_type="text/plain")
                else:
                    args["filename"] = pending.filename
                    pending.upload = Upload(file_id=file_id, filename=pending.filename, content=content)
                    self._uploads.append(pending.upload)
                    reply = _Reply(200, f"OK - {len(content)}", content_type="text/plain")
        call.status, call.response = reply.status, reply.body
        self._record(call)
        return reply

    def _handle_response_url(self, name: str, url: str, args: dict[str, Any], headers: dict[str, str]) -> _Reply:
        method = RESPONSE_URL_PREFIX + name
        call = Call(method=method, args=args, headers=headers)
        fault = self._take_fault(method)
        if fault is not None:
            reply = _fault_reply(fault)
        elif self.rate_limits and not self.limiter.use_response_url(url):
            # Slack does not document its answer to a sixth use; like its other refusals of a
            # webhook-style URL that is gone, it is taken to be a 404 naming the reason.
            call.limited = True
            reply = _Reply(404, {"ok": False, "error": "used_url"})
        else:
            reply = self._respond_in_channel(url, args, call)
        call.status, call.response = reply.status, reply.body
        self._record(call)
        return reply

    def _respond_in_channel(self, url: str, args: dict[str, Any], call: Call) -> _Reply:
        """Slack's answer to an accepted ``response_url`` POST; an in-channel response (one that
        neither replaces nor deletes the original) becomes a message in the payload's channel."""
        with self._lock:
            channel = self._response_url_channels.get(url.rstrip("/").rsplit("/", 1)[-1])
        flags = ("replace_original", "delete_original")
        in_channel = args.get("response_type") == "in_channel" and not any(_truthy(args.get(f)) for f in flags)
        if channel is not None and in_channel:
            if not (args.get("text") or args.get("blocks") or args.get("attachments")):
                return _Reply(400, "no_text", content_type="text/plain")
            ts = self._next_ts()
            message = self._message(args, ts)
            with self._lock:
                self.messages[(channel, ts)] = message
            call.posted_ts = ts
            self._announce(channel, message)
        return _Reply(200, "ok", content_type="text/plain")

    def _announce(self, channel: str, message: dict[str, Any]) -> None:
        """Hand a new channel message to ``on_message`` as Slack's ``message`` event, in order."""
        if self.on_message is None:
            return
        event = {**message, "channel": channel, "event_ts": message["ts"], "channel_type": "channel"}
        with self._lock:
            if self._event_thread is None:
                self._event_thread = threading.Thread(target=self._deliver_events, name="FakeSlack-events", daemon=True)
                self._event_thread.start()
        self._events.put(event)

    def _deliver_events(self) -> None:
        while (event := self._events.get()) is not None:
            deliver = self.on_message
            if deliver is not None:
                try:
                    deliver(event)
                except Exception:  # a test's receiver failing must not stop the others' events
                    traceback.print_exc()

    # ------------------------------------------------------------------ built-in API methods

    def _auth_test(self, args: dict[str, Any]) -> _Reply:
        return _Reply.ok(
            {
                "url": TEAM_URL,
                "team": TEAM_NAME,
                "user": BOT_USER_NAME,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        )

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": args.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if args.get(key) not in (None, ""):
                message[key] = args[key]
        return message

    def _chat_post_message(self, args: dict[str, Any]) -> _Reply:
        channel = args.get("channel")
        if not channel:
            return _Reply.error("channel_not_found")
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return _Reply.error("no_text")
        ts = self._next_ts()
        message = self._message(args, ts)
        with self._lock:
            self.messages[(channel, ts)] = message
        self._announce(channel, message)
        return _Reply.ok({"channel": channel, "ts": ts, "message": message})

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> _Reply:
        if not args.get("channel"):
            return _Reply.error("channel_not_found")
        if not args.get("user"):
            return _Reply.error("user_not_in_channel")
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return _Reply.error("no_text")
        return _Reply.ok({"message_ts": self._next_ts()})

    def _chat_update(self, args: dict[str, Any]) -> _Reply:
        channel, ts = args.get("channel", ""), args.get("ts", "")
        with self._lock:
            old = self.messages.get((channel, ts))
            if old is None:
                return _Reply.error("message_not_found")
            message = {**old, **self._message(args, ts), "edited": {"user": BOT_USER_ID, "ts": ts}}
            if "thread_ts" in old:
                message["thread_ts"] = old["thread_ts"]
            self.messages[(channel, ts)] = message
        return _Reply.ok({"channel": channel, "ts": ts, "text": message["text"], "message": message})

    def _chat_delete(self, args: dict[str, Any]) -> _Reply:
        channel, ts = args.get("channel", ""), args.get("ts", "")
        with self._lock:
            if self.messages.pop((channel, ts), None) is None:
                return _Reply.error("message_not_found")
        return _Reply.ok({"channel": channel, "ts": ts})

    def _reactions_add(self, args: dict[str, Any]) -> _Reply:
        """``reactions.add``: the bot's reaction *name* on the message (*channel*, *timestamp*)."""
        channel, ts, name = args.get("channel", ""), args.get("timestamp", ""), args.get("name", "")
        if not channel or not ts:
            return _Reply.error("no_item_specified")
        if not name:
            return _Reply.error("invalid_name")
        with self._lock:
            names = self.reactions.setdefault((channel, ts), [])
            if name in names:
                return _Reply.error("already_reacted")
            names.append(name)
        return _Reply.ok({})

    def _users_info(self, args: dict[str, Any]) -> _Reply:
        user_id = args.get("user", "")
        with self._lock:
            conf = self.users.get(user_id)
        if conf is None:
            return _Reply.error("user_not_found")
        return _Reply.ok({"user": _user_object(user_id, conf)})

    def _users_list(self, args: dict[str, Any]) -> _Reply:
        """``users.list``, paged as Slack pages it: ``limit`` users a page (default 200), the next
        page's ``cursor`` in ``response_metadata.next_cursor`` ("" after the last page)."""
        with self._lock:
            users = sorted(self.users.items())
        try:
            limit = max(1, min(int(args.get("limit") or 200), 1000))
            start = int(args.get("cursor") or "0")
        except ValueError:
            return _Reply.error("invalid_cursor")
        page = users[start : start + limit]
        more = start + limit < len(users)
        members = [_user_object(user_id, conf) for user_id, conf in page]
        return _Reply.ok({"members": members, "response_metadata": {"next_cursor": str(start + limit) if more else ""}})

    def _conversations_info(self, args: dict[str, Any]) -> _Reply:
        channel_id = args.get("channel", "")
        with self._lock:
            conf = self.channels.get(channel_id)
        if conf is None:
            return _Reply.error("channel_not_found")
        is_im = bool(conf.get("is_im", False))
        channel = {
            "id": channel_id,
            "name": conf.get("name", channel_id.lower()),
            "is_channel": not is_im,
            "is_private": bool(conf.get("is_private", False)),
            "is_im": is_im,
            "is_member": True,
        }
        return _Reply.ok({"channel": channel})

    def _view(self, view: Any, view_id: str) -> dict[str, Any]:
        result = dict(view) if isinstance(view, dict) else {}
        result.update(
            {
                "id": view_id,
                "team_id": TEAM_ID,
                "app_id": "A0001",
                "bot_id": BOT_ID,
                "hash": f"{time.time_ns()}.{view_id}",
            }
        )
        return result

    def _views_open(self, args: dict[str, Any]) -> _Reply:
        if not args.get("trigger_id"):
            return _Reply.error("invalid_arguments")
        if not isinstance(args.get("view"), dict):
            return _Reply.error("invalid_arguments")
        view = self._view(args["view"], self._next_id("V"))
        with self._lock:
            self.views[view["id"]] = view
        return _Reply.ok({"view": view})

    def _views_update(self, args: dict[str, Any]) -> _Reply:
        if not isinstance(args.get("view"), dict):
            return _Reply.error("invalid_arguments")
        with self._lock:
            view_id = args.get("view_id")
            if not view_id and args.get("external_id"):
                view_id = next(
                    (v["id"] for v in self.views.values() if v.get("external_id") == args["external_id"]),
                    None,
                )
            if not view_id or view_id not in self.views:
                return _Reply.error("not_found")
            view = self._view(args["view"], view_id)
            self.views[view_id] = view
        return _Reply.ok({"view": view})

    def _views_publish(self, args: dict[str, Any]) -> _Reply:
        if not args.get("user_id") or not isinstance(args.get("view"), dict):
            return _Reply.error("invalid_arguments")
        view = self._view(args["view"], self._next_id("V"))
        with self._lock:
            self.views[view["id"]] = view
        return _Reply.ok({"view": view})

    def _files_get_upload_url(self, args: dict[str, Any]) -> _Reply:
        filename = args.get("filename")
        length = args.get("length")
        if not filename or length in (None, ""):
            return _Reply.error("invalid_arguments")
        try:
            length_int = int(length)
        except (TypeError, ValueError):
            return _Reply.error("invalid_arguments")
        file_id = self._next_id("F")
        with self._lock:
            self._state.pending_uploads[file_id] = _PendingUpload(filename=filename, length=length_int)
        return _Reply.ok({"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id})

    def _files_complete_upload(self, args: dict[str, Any]) -> _Reply:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return _Reply.error("invalid_arguments")
        result = []
        with self._lock:
            for entry in files:
                file_id = entry.get("id") if isinstance(entry, dict) else None
                pending = self._state.pending_uploads.get(file_id or "")
                if pending is None or pending.upload is None or pending.completed:
                    return _Reply.error("file_not_found")
            for entry in files:
                pending = self._state.pending_uploads[entry["id"]]
                upload = pending.upload
                assert upload is not None
                pending.completed = upload.completed = True
                upload.title = entry.get("title") or upload.filename
                upload.channel_id = args.get("channel_id") or None
                upload.initial_comment = args.get("initial_comment") or None
                upload.thread_ts = args.get("thread_ts") or None
                result.append(
                    {
                        "id": upload.file_id,
                        "name": upload.filename,
                        "title": upload.title,
                        "size": len(upload.content),
                        "user": BOT_USER_ID,
                        "channels": [upload.channel_id] if upload.channel_id else [],
                        "permalink": f"https://reviewbot-test.slack.com/files/{BOT_USER_ID}/{upload.file_id}/x",
                    }
                )
        return _Reply.ok({"files": result})


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    @classmethod
    def ok(cls, data: dict[str, Any]) -> _Reply:
        return cls(200, {"ok": True, **data})

    @classmethod
    def error(cls, error: str) -> _Reply:
        return cls(200, {"ok": False, "error": error})

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


def _truthy(value: Any) -> bool:
    """A flag as sent in JSON (``true``) or in a form (``"true"``)."""
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _fault_reply(fault: _Fault) -> _Reply:
    if fault.error is not None:
        error = fault.error
    elif fault.status == 429:
        error = "ratelimited"
    else:
        error = "internal_error"
    headers = {}
    if fault.status == 429 and fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    return _Reply(fault.status, {"ok": False, "error": error}, headers=headers)


def _user_object(user_id: str, conf: dict[str, Any]) -> dict[str, Any]:
    """A user as ``users.info`` and ``users.list`` describe one."""
    name = conf.get("name", user_id.lower())
    real_name = conf.get("real_name", name)
    display_name = conf.get("display_name", "")
    profile: dict[str, Any] = {
        "real_name": real_name,
        "real_name_normalized": real_name,
        "display_name": display_name,
        "display_name_normalized": display_name,
        "team": TEAM_ID,
    }
    if "email" in conf:
        profile["email"] = conf["email"]
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": real_name,
        "deleted": conf.get("deleted", False),
        "is_bot": conf.get("is_bot", False),
        "tz": conf.get("tz", "Europe/Berlin"),
        "tz_offset": conf.get("tz_offset", 3600),
        "profile": profile,
    }
    return user


_BUILTINS: dict[str, Callable[[FakeSlack, dict[str, Any]], _Reply]] = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.update": FakeSlack._chat_update,
    "chat.delete": FakeSlack._chat_delete,
    "reactions.add": FakeSlack._reactions_add,
    "users.info": FakeSlack._users_info,
    "users.list": FakeSlack._users_list,
    "conversations.info": FakeSlack._conversations_info,
    "views.open": FakeSlack._views_open,
    "views.update": FakeSlack._views_update,
    "views.publish": FakeSlack._views_publish,
    "files.getUploadURLExternal": FakeSlack._files_get_upload_url,
    "files.completeUploadExternal": FakeSlack._files_complete_upload,
}


# ---------------------------------------------------------------------- body parsing


def _form_to_dict(query: str) -> dict[str, Any]:
    parsed = parse_qs(query, keep_blank_values=True)
    return {k: (v[0] if len(v) == 1 else v) for k, v in parsed.items()}


def _multipart_to_dict(body: bytes, content_type: str) -> dict[str, Any]:
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    result: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            result[name] = payload.decode("utf-8", errors="replace")
        else:
            result[name] = payload
    return result


def _parse_args(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    args = _form_to_dict(query) if query else {}
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not body:
        pass
    elif ctype == "application/json":
        data = json.loads(body.decode("utf-8"))
        if isinstance(data, dict):
            args.update(data)
        else:
            args["_json"] = data
    elif ctype == "multipart/form-data":
        args.update(_multipart_to_dict(body, content_type))
    else:
        args.update(_form_to_dict(body.decode("utf-8")))
    for key in _JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


def _iter_path(path: str) -> Iterator[str]:
    return (unquote(p) for p in path.strip("/").split("/"))


def _make_handler_class(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        server_version = "FakeSlack/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """No access log (it would be noise, and we never want tokens near a log)."""

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            content_type = self.headers.get("Content-Type", "")
            parts = list(_iter_path(split.path))
            try:
                if len(parts) == 2 and parts[0] == "api":
                    reply = fake._handle_api(parts[1], _parse_args(split.query, body, content_type), headers)
                elif len(parts) == 3 and parts[:2] == ["upload", "v1"] and self.command == "POST":
                    reply = fake._handle_upload(parts[2], body, headers)
                elif len(parts) in (2, 3) and parts[0] == "response":
                    reply = fake._handle_response_url(
                        parts[1], split.path, _parse_args(split.query, body, content_type), headers
                    )
                else:
                    reply = _Reply(404, "not found", content_type="text/plain")
            except ValueError as exc:  # undecodable body
                reply = _Reply(400, {"ok": False, "error": "invalid_form_data", "detail": str(exc)})
            payload = reply.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return _Handler
