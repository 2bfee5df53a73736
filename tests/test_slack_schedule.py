"""Reminders and timebox notices reach the channel through the real bot (HTTP mode) and Slack's
Web API (the fake); how Slack failures are reported to the send log."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from urllib.error import URLError

import pytest

from conftest import BOT_TOKEN
from reviewbot.console import ConsolePoster
from reviewbot.core import PostError
from reviewbot.slack.app import web_client
from reviewbot.slack.poster import SlackPoster
from slack_client import SlackUser

MEETING = datetime(2016, 10, 13, 15, 0, tzinfo=UTC)


def test_reminders_and_timebox_notices_are_posted_to_the_channel(bot, fake_slack, clock):
    tilman = SlackUser(bot, fake_slack, "U100", "Tilman")
    reply = tilman.ok("/review", "schedule 2016-07-14 08:00 America/Los_Angeles")
    assert reply["response_type"] == "in_channel" and "<!date^1476370800^" in reply["text"]
    tilman.ok("/review", "agenda add Backup Datacenter [10m]")
    tilman.ok("/review", "agenda add Architecture")
    scheduler = bot.runtime.scheduler
    assert scheduler is not None and scheduler.elect()

    clock.current = MEETING - timedelta(days=14)
    assert scheduler.run_now()
    (call,) = fake_slack.wait_for("chat.postMessage")
    assert call.args["channel"] == "C0001"
    assert call.args["text"].startswith(
        "🗓️ *Quarterly review in 14 days*: <!date^1476370800^{date_long_pretty} at {time}|"
        "Thursday, October 13, 2016 at 8:00 AM PDT>, reviewing Q1 FY2016–17."
    )
    assert "1. Backup Datacenter [10m]\n2. Architecture" in call.args["text"]

    clock.current = MEETING
    tilman.ok("/review", "start Tech II")
    clock.advance(minutes=8)
    assert scheduler.run_now()
    calls = fake_slack.wait_for("chat.postMessage", count=2)
    assert calls[1].args["text"] == "⏳ *1 Backup Datacenter*: 2 min left of the 10 min planned."
    tilman.ok("/review", "next")
    clock.advance(minutes=30)
    runs = scheduler.runs
    assert scheduler.run_now() and scheduler.wait_for_runs(runs + 1)
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # moved on in time: no over-time notice


def test_slack_refusals_are_retryable_and_timeouts_are_not(fake_slack):
    poster = SlackPoster(web_client(BOT_TOKEN, fake_slack.api_url))
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(PostError) as refused:
        poster.post("T0001", "C0001", "reminder")
    assert refused.value.retry and refused.value.reason == "not_in_channel"
    poster.post("T0001", "C0001", "reminder")
    assert fake_slack.calls_to("chat.postMessage")[-1].args["text"] == "reminder"

    class Unreachable:
        def __init__(self, error):
            self.error = error

        def chat_postMessage(self, **kwargs):
            raise self.error

    with pytest.raises(PostError) as timed_out:
        SlackPoster(Unreachable(TimeoutError())).post("T0001", "C0001", "x")
    assert not timed_out.value.retry  # it may have arrived: never posted again
    with pytest.raises(PostError) as also_timed_out:
        SlackPoster(Unreachable(URLError(TimeoutError()))).post("T0001", "C0001", "x")
    assert not also_timed_out.value.retry
    with pytest.raises(PostError) as refused_connection:
        SlackPoster(Unreachable(URLError(ConnectionRefusedError()))).post("T0001", "C0001", "x")
    assert refused_connection.value.retry


def test_the_console_prints_notices_with_readable_dates():
    out = io.StringIO()
    ConsolePoster(out).post("console", "console", "🗓️ *Review*: <!date^1476370800^{date_long_pretty}|Thursday, "
                            "October 13, 2016 at 8:00 AM PDT> &amp; more\nsecond line")
    assert out.getvalue() == (
        "  [notice] 🗓️ *Review*: Thursday, October 13, 2016 at 8:00 AM PDT & more\n           second line\n"
    )
