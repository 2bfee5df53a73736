"""Socket Mode end to end: ``python bot.py`` with an app token, as the README's quick route to Slack
runs it, against the fake Web API and a fake Socket Mode endpoint (:mod:`tests.support.fakesocketmode`).

Commands arrive as envelopes and their replies go back as the acknowledgements; notes are
committed before that and echoed in their section's thread; Slack's escaping is undone; and when
Slack asks the app to connect again (``disconnect``), or the connection drops, the bot connects
again by itself and the meeting goes on.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import create_engine, select

from reviewbot.store.schema import Note
from tests.support.botprocess import bot_env
from tests.support.fakeslack import FakeSlack
from tests.support.fakesocketmode import FakeSocketMode
from tests.support.paths import BOT_SCRIPT
from tests.support.slack_signing import slash_command_body

CHANNEL = "CSOCKET"


def command(line: str, user: tuple[str, str] = ("U100", "Tilman")) -> dict[str, str]:
    """A slash command's fields, as Socket Mode delivers them (``/note some text``)."""
    name, _, text = line.partition(" ")
    body = slash_command_body(name, text, user_id=user[0], user_name=user[1], channel_id=CHANNEL)
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def echoes(fake_slack: FakeSlack) -> list[str]:
    """Each echoed note's line (a section's first echo also carries its heading)."""
    posts = fake_slack.calls_to("chat.postMessage")
    return [line for c in posts for line in c.args["text"].split("\n") if re.match(r"#\d+ ", line)]


def wait_for_echoes(fake_slack: FakeSlack, count: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(found := echoes(fake_slack)) < count:
        assert time.monotonic() < deadline, f"echoes so far: {found}"
        time.sleep(0.01)
    return found


def stored_notes(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(select(Note.text).order_by(Note.id)))
    finally:
        engine.dispose()


@contextmanager
def socket_mode_bot(
    database_url: str, fake_slack: FakeSlack, socket_mode: FakeSocketMode, cwd: Path
) -> Iterator[list[str]]:
    """``python bot.py`` in Socket Mode, connected; stopped after; yields a list that gets its log."""
    fake_slack.set_handler("apps.connections.open", lambda args: {"url": socket_mode.url})
    env = bot_env(database_url, fake_slack.api_url, cwd, SLACK_APP_TOKEN="xapp-test-token")
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
    output: list[str] = []
    with (cwd / "bot.log").open("w+") as log:
        bot = subprocess.Popen(
            [sys.executable, str(BOT_SCRIPT)], cwd=cwd, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            socket_mode.wait_connected()
            yield output
        finally:
            bot.terminate()
            bot.wait(10)
            log.seek(0)
            output.append(log.read())


def test_socket_mode_runs_a_meeting_and_connects_again_when_slack_asks(database_url, fake_slack, tmp_path: Path):
    with FakeSocketMode() as socket_mode, socket_mode_bot(database_url, fake_slack, socket_mode, tmp_path) as log:
        assert "Socket Mode" in (tmp_path / "bot.log").read_text()
        for line in ("/review agenda add Backup Datacenter", "/review start Tech II"):
            reply = socket_mode.slash_command(command(line))
            assert reply is not None and reply["text"], line
        reply = socket_mode.slash_command(command("/note Katherine: congrats on the failover & <the rest>"))
        assert reply is not None and reply["text"].startswith("✓ Noted #1 in 1 Backup Datacenter")
        assert reply["response_type"] == "ephemeral"
        echoed = "#1 Tilman: Katherine: congrats on the failover &amp; &lt;the rest&gt;"  # escaped for Slack
        assert wait_for_echoes(fake_slack, 1) == [echoed]

        socket_mode.send({"type": "disconnect", "reason": "refresh_requested"})
        socket_mode.wait_connected(2)
        assert len(fake_slack.calls_to("apps.connections.open")) == 2
        reply = socket_mode.slash_command(command("/note > and to the team", ("U200", "Ann")))
        assert reply is not None and reply["text"].startswith("✓ Noted #2")
        reply = socket_mode.slash_command(command("/review bogus"))
        assert reply is not None and "bogus" in reply["text"] and reply["response_type"] == "ephemeral"
        assert len(wait_for_echoes(fake_slack, 2)) == 2
    output = log[0]
    assert "Traceback" not in output and " WARNING " not in output, output
    assert "xapp-test-token" not in output and "xoxb-" not in output  # tokens are never logged
    assert stored_notes(database_url) == ["Katherine: congrats on the failover & <the rest>", "and to the team"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_socket_mode_connects_again_by_itself_when_the_connection_drops(database_url, fake_slack, tmp_path: Path):
    with FakeSocketMode() as socket_mode, socket_mode_bot(database_url, fake_slack, socket_mode, tmp_path) as log:
        for line in ("/review agenda add Backup Datacenter", "/review start Tech II", "/note before the drop"):
            assert socket_mode.slash_command(command(line)) is not None, line
        socket_mode.drop()  # no disconnect message: the network went away
        socket_mode.wait_connected(2)
        reply = socket_mode.slash_command(command("/note after the drop"))
        assert reply is not None and reply["text"].startswith("✓ Noted #2")
    assert "Traceback" not in log[0], log[0]
    assert stored_notes(database_url) == ["before the drop", "after the drop"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_socket_mode_takes_a_scribes_messages(database_url, fake_slack, tmp_path: Path):
    """Scribe mode over Socket Mode: message events arrive as ``events_api`` envelopes."""
    with FakeSocketMode() as socket_mode, socket_mode_bot(database_url, fake_slack, socket_mode, tmp_path) as log:
        for line in ("/review agenda add Backup Datacenter", "/review start Tech II", "/review scribe me"):
            assert socket_mode.slash_command(command(line)) is not None, line
        message = {
            "type": "message",
            "user": "U100",
            "text": "Katherine: typed &amp; kept\n// aside",
            "ts": "1700000000.000200",
            "channel": CHANNEL,
            "event_ts": "1700000000.000200",
        }
        body = {
            "type": "event_callback",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event_id": "Ev1",
            "event_time": 1700000000,
            "event": message,
        }
        socket_mode.event(body)
        socket_mode.event(body, retry=1)  # Slack delivers it again
        fake_slack.wait_for("reactions.add")
    assert "Traceback" not in log[0], log[0]
    assert stored_notes(database_url) == ["Katherine: typed & kept"]
