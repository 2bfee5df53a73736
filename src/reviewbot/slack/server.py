"""Serving the Bolt app: Socket Mode, or HTTP on a production WSGI server (waitress)."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress.channel import HTTPChannel

from reviewbot import __version__
from reviewbot.config import Settings
from reviewbot.logs import redact
from reviewbot.runtime import build_runtime
from reviewbot.slack.app import SlackUnavailable, build_adapter
from reviewbot.slack.notice_poster import SlackNoticePoster
from reviewbot.slack.turns import Turns
from reviewbot.store.deadlines import DEADLINES

log = logging.getLogger("reviewbot")

EVENTS_PATH = "/slack/events"
#: Open connections waitress keeps (its default is 100). Past the limit it stops accepting, and a
#: request on a new connection waits, unanswered, until an idle keep-alive connection times out
#: (two minutes): in the workspace benchmark, 100 meetings' requests arrive over a few hundred
#: keep-alive connections, and 58 to 789 of 3,788 requests went unanswered for 30 s. Connections
#: beyond the serving threads cost a file descriptor each and wait their turn in waitress's queue.
HTTP_CONNECTIONS = 1000


def wsgi_app(
    bolt_handler: SlackRequestHandler, answer_within: float | None = None, turns: Turns | None = None
) -> Callable[..., Iterable[bytes]]:
    """The WSGI application: Slack requests at ``/slack/events``, a health check at ``/healthz``.

    With *answer_within* (seconds), the database work a request does has that deadline (see
    :class:`reviewbot.database.Deadlines`): a hung database makes the command answer that nothing
    was done, inside Slack's 3 seconds, instead of finishing (or not) after Slack gave up on it.
    With *turns*, background jobs hold back while requests are served (:mod:`reviewbot.slack.turns`).
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if not environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "0").isdigit():
            # Bolt's signature check fails with a 500 on a timestamp that is not a number.
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"invalid request\n"]
        with turns.request() if turns is not None else nullcontext():
            if answer_within is None:
                return bolt_handler(environ, start_response)
            with DEADLINES.request(answer_within):
                return bolt_handler(environ, start_response)

    return application


def waitress_server(application: Callable[..., Iterable[bytes]], settings: Settings) -> Any:
    """The waitress server for *application*, as the bot runs it (the benchmark's baseline too)."""
    from waitress import create_server

    server = create_server(
        application,
        host=settings.host,
        port=settings.port,
        threads=settings.http_threads,
        connection_limit=HTTP_CONNECTIONS,
        asyncore_use_poll=True,  # select() cannot watch a descriptor numbered 1024 or more
        ident="reviewbot",
    )
    server.channel_class = QuietChannel
    return server


class QuietChannel(HTTPChannel):
    """Waitress's connection, minus a busy loop: its main loop no longer polls a connection for
    writing while a request on it is still being served.

    Waitress's main loop asks every connection whether it has output to send; a task writing its
    response makes that true for a moment, so ``select`` returned at once, over and over, while
    the task itself sent the bytes (it sends what it writes) or waited for the GIL the loop was
    holding. Under load that was about six loop turns per request, each walking every connection.
    While a request runs, the task sends its output and wakes the loop when it is done; the loop
    still writes for it when a slow client lets output pile up past the high-water mark (the
    task waits for the loop then), and always when the connection is closing.
    """

    def writable(self) -> bool:
        """Whether the main loop should wait for this connection to take output."""
        if self.will_close or self.close_when_flushed:
            return True
        if not self.total_outbufs_len:
            return False
        return not self.requests or self.total_outbufs_len > self.adj.outbuf_high_watermark


def create_http_server(settings: Settings, slack_client: WebClient | None = None, **build: Any) -> Any:
    """Build the runtime, the Bolt app (with *slack_client*, else one made from the settings) and a
    waitress server for them (not yet serving)."""
    runtime = build_runtime(settings, **build)
    try:
        adapter = build_adapter(runtime, slack_client)
    except Exception:
        runtime.close()
        raise
    runtime.start_scheduler(SlackNoticePoster(adapter.poster))
    handler = SlackRequestHandler(adapter.app, path=EVENTS_PATH)
    server = waitress_server(wsgi_app(handler, settings.db_timeout_ms / 1000, adapter.turns), settings)
    server.runtime = runtime
    server.slack = adapter
    return server


def serve(settings: Settings) -> int:
    """Run the bot in Socket Mode or HTTP mode until interrupted."""
    try:
        return _serve(settings)
    except SlackUnavailable as error:
        log.error("%s", error)
        print(f"reviewbot: {error}", file=sys.stderr)
        return 4


def _serve(settings: Settings) -> int:
    where = f"database {redact(settings.database_url)}, Slack API {settings.slack_api_url}"
    if settings.mode == "socket":
        runtime = build_runtime(settings)
        try:
            adapter = build_adapter(runtime)
            runtime.start_scheduler(SlackNoticePoster(adapter.poster))
            log.info("reviewbot %s: Socket Mode, %s", __version__, where)
            settle_heap()
            handler = socket_mode_handler_class(settings.db_timeout_ms / 1000, adapter.turns)
            handler(adapter.app, settings.slack_app_token).start()
        finally:
            runtime.close()
        return 0
    server = create_http_server(settings)
    port = server.effective_port
    log.info(
        "reviewbot %s: HTTP mode at http://%s:%s%s (%d threads), %s",
        __version__,
        settings.host,
        port,
        EVENTS_PATH,
        settings.http_threads,
        where,
    )
    settle_heap()
    try:
        server.run()
    finally:
        server.runtime.close()
    return 0


def socket_mode_handler_class(answer_within: float, turns: Turns | None = None) -> Any:
    """Bolt's Socket Mode handler, with each request's database work given a deadline of
    *answer_within* seconds and served ahead of background jobs (*turns*), as :func:`wsgi_app`
    does for HTTP."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    class DeadlineSocketModeHandler(SocketModeHandler):
        def handle(self, client: Any, req: Any) -> None:
            with turns.request() if turns is not None else nullcontext(), DEADLINES.request(answer_within):
                super().handle(client, req)

    return DeadlineSocketModeHandler


def settle_heap() -> None:
    """Exempt what start-up built (modules, the app, compiled queries) from garbage collection.

    A full collection walks every tracked object; with the libraries' hundreds of thousands of
    objects that stalled every request in flight for tens of milliseconds, several times a minute
    under load. Frozen, they are never walked again; what requests create is collected as usual.
    """
    gc.collect()
    gc.freeze()
