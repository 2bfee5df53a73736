"""The notice sweep: reminders at their offsets, after a restart, exactly once; timebox notices."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from reviewbot.core import Caller, PostError
from reviewbot.core.replies import Moment
from reviewbot.runtime import build_runtime
from reviewbot.store.schema import NoticeSend, NoticeStatus
from tests.support.doubles import RecordingPoster

ANN = Caller("T0001", "C0001", "U1", "Ann")
MEETING = datetime(2016, 10, 13, 15, 0, tzinfo=UTC)  # 08:00 PDT, the second Thursday of October


def run(runtime, text, command="/review"):
    return runtime.commands.handle(command, text, ANN)


def at(clock, moment):
    clock.current = moment


def sent_log(runtime):
    with runtime.db.read() as session:
        return {row.key: row.status for row in session.query(NoticeSend)}


def test_reminders_go_out_at_their_offsets_with_agenda_quarter_and_open_actions(runtime, clock, poster):
    run(runtime, "agenda add Backup Datacenter")
    run(runtime, "start Tech II")
    run(runtime, "action Katherine: share the failover write-up", command="/note")
    run(runtime, "end")
    run(runtime, "schedule 2016-07-14 08:00")
    run(runtime, "agenda add Architecture [10m]")
    run(runtime, "agenda add - Document RFC")

    at(clock, MEETING - timedelta(days=14, seconds=1))
    assert runtime.notices.sweep(poster).sent == [] and poster.posts == []
    at(clock, MEETING - timedelta(days=14))
    report = runtime.notices.sweep(poster)
    assert report.sent == ["reminder:1:2016-10-13T15:00Z:20160"]
    channel, text = poster.posts[0]
    assert channel == "C0001"
    assert text.startswith(
        "🗓️ *Quarterly review in 14 days*: Thursday, October 13, 2016 at 8:00 AM PDT, reviewing Q1 FY2016–17."
    )
    assert poster.marks[0] == (Moment(MEETING, "America/Los_Angeles"),)  # Slack shows it in each reader's time
    assert "Add agenda items and slides" in text
    assert "*Agenda of the next meeting*\n1. Architecture [10m]\n    1.1. Document RFC" in text
    assert "*Open action items from the last meeting* (July 14, 2016):\n• Katherine: share the failover" in text
    assert runtime.notices.sweep(poster).sent == [] and len(poster.posts) == 1  # never twice

    run(runtime, "actions done 1")
    at(clock, MEETING - timedelta(days=1))
    runtime.notices.sweep(poster)
    assert "*Quarterly review in 24 hours*" in poster.texts[1] and "Open action items" not in poster.texts[1]
    at(clock, MEETING - timedelta(minutes=14))  # a sweep a minute late
    runtime.notices.sweep(poster)
    assert poster.texts[2].startswith("⏰ *Quarterly review starting soon*: Thursday, October 13, 2016 at 8:00 AM")
    assert "(in 14 minutes), reviewing Q1 FY2016–17" in poster.texts[2] and "`/review start" in poster.texts[2]
    at(clock, MEETING + timedelta(days=60))
    runtime.notices.sweep(poster)
    assert len(poster.posts) == 3
    assert set(sent_log(runtime).values()) == {NoticeStatus.SENT}


def test_a_reminder_missed_while_down_is_sent_once_after_restart(settings, clock, poster, caplog):
    first = build_runtime(settings, clock=clock)
    run(first, "schedule 2016-07-14 08:00")
    first.close()  # the bot goes down before the 14-day reminder...

    at(clock, MEETING - timedelta(days=2))  # ...and comes back two days before the meeting
    restarted = build_runtime(settings, clock=clock)
    report = restarted.notices.sweep(poster)
    assert report.sent == ["reminder:1:2016-10-13T15:00Z:20160"]
    assert "*Quarterly review in 2 days*" in poster.texts[0]
    restarted.close()

    again = build_runtime(settings, clock=clock)  # another restart sends nothing again
    assert again.notices.sweep(poster).sent == [] and len(poster.posts) == 1

    # Down from before the 1-day reminder until after the meeting: both reminders are dropped, logged.
    at(clock, MEETING + timedelta(hours=3))
    with caplog.at_level(logging.WARNING, logger="reviewbot.core.notices"):
        report = again.notices.sweep(poster)
    assert report.sent == [] and len(poster.posts) == 1
    assert sorted(report.dropped) == ["reminder:1:2016-10-13T15:00Z:1440", "reminder:1:2016-10-13T15:00Z:15"]
    assert caplog.text.count("dropped reminder") == 2 and "already past" in caplog.text
    assert again.notices.sweep(poster).dropped == []  # logged once

    # Down across several reminders of a meeting still ahead: only the latest goes out.
    at(clock, datetime(2017, 1, 11, 20, 0, tzinfo=UTC))  # 20 hours before January 12, 16:00 UTC
    report = again.notices.sweep(poster)
    assert report.sent == ["reminder:1:2017-01-12T16:00Z:1440"]
    assert report.dropped == ["reminder:1:2017-01-12T16:00Z:20160"]
    assert "*Quarterly review in 20 hours*" in poster.texts[-1] and "reviewing Q2 FY2016–17" in poster.texts[-1]
    again.close()


def test_reminders_set_late_do_not_flood_and_skips_and_cancel_are_respected(runtime, clock, poster):
    at(clock, MEETING - timedelta(hours=5))
    run(runtime, "schedule 2016-10-13 08:00")  # set five hours before: the 14d and 1d reminders are past
    at(clock, MEETING - timedelta(hours=1))
    assert runtime.notices.sweep(poster).sent == []
    run(runtime, "schedule skip")
    at(clock, MEETING - timedelta(minutes=15))
    assert runtime.notices.sweep(poster).sent == []  # October is skipped
    at(clock, datetime(2016, 12, 29, 16, 0, tzinfo=UTC))  # 14 days before January 12
    assert runtime.notices.sweep(poster).sent == ["reminder:1:2017-01-12T16:00Z:20160"]
    run(runtime, "schedule cancel")
    at(clock, datetime(2017, 1, 11, 16, 0, tzinfo=UTC))
    assert runtime.notices.sweep(poster).sent == [] and len(poster.posts) == 1


def test_refused_posts_are_retried_and_uncertain_ones_never(runtime, clock, poster):
    run(runtime, "schedule 2016-07-14 08:00")
    poster.failures = [PostError("ratelimited", retry=True)]
    at(clock, MEETING - timedelta(days=14))
    assert runtime.notices.sweep(poster).failed == ["reminder:1:2016-10-13T15:00Z:20160"]
    assert runtime.notices.sweep(poster).sent == ["reminder:1:2016-10-13T15:00Z:20160"]
    assert len(poster.posts) == 1

    poster.failures = [PostError("timed out", retry=False)]
    at(clock, MEETING - timedelta(days=1))
    assert runtime.notices.sweep(poster).failed == ["reminder:1:2016-10-13T15:00Z:1440"]
    assert runtime.notices.sweep(poster).sent == []
    assert sent_log(runtime)["reminder:1:2016-10-13T15:00Z:1440"] is NoticeStatus.UNKNOWN
    assert len(poster.posts) == 1


def test_a_claim_left_by_a_dead_process_is_never_resent(runtime, clock, poster):
    run(runtime, "schedule 2016-07-14 08:00")
    at(clock, MEETING - timedelta(days=14))

    class Dies:
        def post(self, workspace_id, channel_id, text, marks=()):
            raise KeyboardInterrupt  # the process dies in the middle of posting

    with pytest.raises(KeyboardInterrupt):
        runtime.notices.sweep(Dies())
    assert sent_log(runtime) == {"reminder:1:2016-10-13T15:00Z:20160": NoticeStatus.CLAIMED}
    clock.advance(minutes=30)
    assert runtime.notices.sweep(poster).sent == [] and poster.posts == []
    assert sent_log(runtime) == {"reminder:1:2016-10-13T15:00Z:20160": NoticeStatus.UNKNOWN}


def test_two_processes_sweeping_at_once_send_each_reminder_once(settings, clock):
    """Even without the election (split brain), the send log lets one post through: while one
    process is posting, the other sweeps completely and posts nothing."""
    one, two = build_runtime(settings, clock=clock), build_runtime(settings, clock=clock)
    run(one, "schedule 2016-07-14 08:00")
    at(clock, MEETING - timedelta(days=14))
    posted = RecordingPoster()
    gate = threading.Barrier(2)
    finished = {id(one): threading.Event(), id(two): threading.Event()}

    class HoldingPoster:
        def __init__(self, other):
            self.other = other

        def post(self, workspace_id, channel_id, text, marks=()):
            posted.post(workspace_id, channel_id, text)
            assert finished[id(self.other)].wait(10)  # the other one finishes while this one posts

    def sweep(runtime, other):
        gate.wait(timeout=10)
        try:
            runtime.notices.sweep(HoldingPoster(other))
        finally:
            finished[id(runtime)].set()

    threads = [threading.Thread(target=sweep, args=pair) for pair in ((one, two), (two, one))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(posted.posts) == 1
    assert set(sent_log(one).values()) == {NoticeStatus.SENT}
    one.close()
    two.close()


def test_timebox_heads_up_and_over_time_notices(runtime, clock, poster):
    run(runtime, "agenda add Backup Datacenter [10m]")
    run(runtime, "agenda add Architecture [5m]")
    run(runtime, "agenda add - Document RFC")
    run(runtime, "start Tech II")
    clock.advance(minutes=7, seconds=59)
    assert runtime.notices.sweep(poster).sent == []
    clock.advance(seconds=1)
    report = runtime.notices.sweep(poster)
    assert report.sent == ["timebox:1:heads-up"]
    assert poster.texts[-1] == "⏳ *1 Backup Datacenter*: 2 min left of the 10 min planned."
    clock.advance(minutes=2)
    assert runtime.notices.sweep(poster).sent == ["timebox:1:over"]
    assert poster.texts[-1] == (
        "⌛ *1 Backup Datacenter*: time is up (10 min used of 10 planned). `/review next` moves on."
    )
    clock.advance(minutes=3)
    assert runtime.notices.sweep(poster).sent == []

    run(runtime, "next")  # Architecture [5m]: the heads-up at 80 %, 1 minute before
    clock.advance(minutes=2)
    run(runtime, "next")  # Document RFC is part of Architecture's block
    clock.advance(minutes=2)
    assert runtime.notices.sweep(poster).sent == ["timebox:2:heads-up"]
    assert poster.texts[-1] == "⏳ *2 Architecture*: 1 min left of the 5 min planned."
    run(runtime, "goto 1")  # moved on before the time was up: no over-time notice for Architecture
    clock.advance(minutes=30)
    assert runtime.notices.sweep(poster).sent == []  # Backup Datacenter's notices were already sent
    run(runtime, "end")
    assert runtime.notices.sweep(poster).sent == [] and len(poster.posts) == 3


def test_short_sections_get_their_heads_up_at_80_percent(runtime, clock, poster):
    run(runtime, "agenda add Quick [1m]")
    run(runtime, "start Tech II")
    clock.advance(seconds=47)
    assert runtime.notices.sweep(poster).sent == []
    clock.advance(seconds=1)
    assert runtime.notices.sweep(poster).sent == ["timebox:1:heads-up"]
    assert poster.texts == ["⏳ *1 Quick*: under a minute left of the 1 min planned."]


def test_a_heads_up_missed_while_down_is_replaced_by_the_over_time_notice(runtime, clock, poster):
    run(runtime, "agenda add Backup Datacenter [10m]")
    run(runtime, "start Tech II")
    clock.advance(minutes=11)
    assert runtime.notices.sweep(poster).sent == ["timebox:1:over"]
    assert "11 min used of 10 planned" in poster.texts[0]


def test_a_meeting_taken_back_after_a_skip_gets_its_reminders_again(runtime, clock, poster):
    at(clock, MEETING - timedelta(days=2))
    run(runtime, "schedule 2016-10-13 08:00")
    run(runtime, "schedule skip")
    at(clock, MEETING - timedelta(days=1))
    assert runtime.notices.sweep(poster).sent == []  # October is skipped
    run(runtime, "schedule unskip")
    assert runtime.notices.sweep(poster).sent == ["reminder:1:2016-10-13T15:00Z:1440"]
