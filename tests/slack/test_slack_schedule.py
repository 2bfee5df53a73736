"""Reminders and timebox notices reach the channel through the real bot (HTTP mode) and Slack's
Web API (the fake); how Slack failures are reported to the send log."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from urllib.error import URLError

import pytest

from reviewbot.console import ConsolePoster
from reviewbot.core import PostError
from reviewbot.core.replies import Moment
from reviewbot.slack.app import web_client
from reviewbot.slack.notice_poster import SlackNoticePoster
from reviewbot.slack.post_queue import PostQueue
from tests.support.credentials import BOT_TOKEN
from tests.support.slack_client import SlackUser

MEETING = datetime(2016, 10, 13, 15, 0, tzinfo=UTC)


def notices(fake_slack):
    """The reminders and timebox notices the bot posted (among its other messages)."""
    return [
        c.args for c in fake_slack.calls_to("chat.postMessage") if c.args.get("text", "").startswith(("🗓️", "⏳", "⌛"))
    ]


def sweep(scheduler):
    """Have the elected scheduler sweep now, and wait until it has (posts included)."""
    runs = scheduler.runs
    assert scheduler.run_now() and scheduler.wait_for_runs(runs + 1)


def test_reminders_and_timebox_notices_are_posted_to_the_channel(bot, fake_slack, clock):
    tilman = SlackUser(bot, fake_slack, "U100", "Tilman")
    reply = tilman.ok("/review", "schedule 2016-07-14 08:00 America/Los_Angeles")
    assert reply["response_type"] == "in_channel" and "<!date^1476370800^" in reply["text"]
    tilman.ok("/review", "agenda add Backup Datacenter [10m]")
    tilman.ok("/review", "agenda add Architecture")
    scheduler = bot.runtime.scheduler
    assert scheduler is not None and scheduler.elect()

    clock.current = MEETING - timedelta(days=14)
    sweep(scheduler)
    (reminder,) = notices(fake_slack)
    assert reminder["channel"] == "C0001"
    assert reminder["text"].startswith(
        "🗓️ *Quarterly review in 14 days*: <!date^1476370800^{date_long_pretty} at {time}|"
        "Thursday, October 13, 2016 at 8:00 AM PDT>, reviewing Q1 FY2016–17."
    )
    assert "1. Backup Datacenter [10m]\n2. Architecture" in reminder["text"]

    clock.current = MEETING
    tilman.ok("/review", "start Tech II")
    clock.advance(minutes=8)
    sweep(scheduler)
    assert notices(fake_slack)[1]["text"] == "⏳ *1 Backup Datacenter*: 2 min left of the 10 min planned."
    tilman.ok("/review", "next")
    clock.advance(minutes=30)
    sweep(scheduler)
    assert len(notices(fake_slack)) == 2  # moved on in time: no over-time notice


def test_slack_refusals_are_retryable_and_timeouts_are_not(fake_slack):
    queue = PostQueue(web_client(BOT_TOKEN, fake_slack.api_url), interval=0, attempts=1)
    poster = SlackNoticePoster(queue)
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(PostError) as refused:
        poster.post("T0001", "C0001", "reminder")
    assert refused.value.retry and refused.value.reason == "not_in_channel"
    poster.post("T0001", "C0001", "reminder")
    assert fake_slack.calls_to("chat.postMessage")[-1].args["text"] == "reminder"
    queue.close()

    class Unreachable:
        def __init__(self, error):
            self.error = error

        def chat_postMessage(self, **kwargs):
            raise self.error

    def outcome(error):
        with pytest.raises(PostError) as raised:
            SlackNoticePoster(PostQueue(Unreachable(error), interval=0, attempts=1)).post("T0001", "C0001", "x")
        return raised.value.retry

    assert not outcome(TimeoutError())  # it may have arrived: never posted again
    assert not outcome(URLError(TimeoutError()))
    assert outcome(URLError(ConnectionRefusedError()))


def test_the_console_prints_notices_with_readable_dates():
    out = io.StringIO()
    when = Moment(datetime(2016, 10, 13, 15, 0, tzinfo=UTC), "America/Los_Angeles")
    ConsolePoster(out).post("console", "console", f"🗓️ *Review*: {when} & <more>\nsecond line", [when])
    assert out.getvalue() == (
        "  [notice] 🗓️ *Review*: Thursday, October 13, 2016 at 8:00 AM PDT & <more>\n           second line\n"
    )
