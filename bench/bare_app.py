"""The benchmark's baseline: a bare Bolt app that only acknowledges, served as reviewbot is served.

Same settings (``load_settings``), same Web API client, same Bolt options and signature check, the
same WSGI wrapper, the same waitress server with the same number of threads, the start-up heap
frozen out of the garbage collector as reviewbot's is; the only
difference from reviewbot is that its ``/note`` and ``/review`` listeners call ``ack()`` and
nothing else. Started by ``bench.run`` as ``python bench/bare_app.py`` with the bot's
environment.
"""

from __future__ import annotations

import logging
import sys

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from reviewbot import logs
from reviewbot.config import Settings, load_settings
from reviewbot.slack.app import bolt_logger, bolt_options, web_client
from reviewbot.slack.server import EVENTS_PATH, settle_heap, waitress_server, wsgi_app

log = logging.getLogger("bare")


def build_bare_app(settings: Settings) -> App:
    """A Bolt app with reviewbot's client and options whose listeners only acknowledge."""
    app = App(
        client=web_client(settings.slack_bot_token or "", settings.slack_api_url),
        signing_secret=settings.slack_signing_secret or "",
        logger=bolt_logger("bare.bolt"),
        **bolt_options(settings),
    )

    def ack_only(ack: Ack) -> None:
        ack()

    app.command("/note")(ack_only)
    app.command("/review")(ack_only)
    return app


def main() -> int:
    """Serve the bare app until interrupted."""
    settings = load_settings(dotenv_path=None)
    logs.configure(settings.log_level)
    application = wsgi_app(SlackRequestHandler(build_bare_app(settings), path=EVENTS_PATH))
    server = waitress_server(application, settings)
    log.info(
        "bare Bolt app: HTTP mode at http://%s:%s%s (%d threads)",
        settings.host,
        server.effective_port,
        EVENTS_PATH,
        settings.http_threads,
    )
    settle_heap()  # as reviewbot does before serving
    try:
        server.run()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
