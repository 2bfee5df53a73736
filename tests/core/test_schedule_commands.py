"""`/review schedule`, `/review actions`, carried-over action items and time used, through the core."""

from __future__ import annotations

from reviewbot.core import Caller

ANN = Caller("T0001", "C0001", "U1", "Ann")
BOB = Caller("T0001", "C0001", "U2", "Bob")
OCT_13 = "Thursday, October 13, 2016 at 8:00 AM PDT"
JAN_12 = "Thursday, January 12, 2017 at 8:00 AM PST"


def run(runtime, text, caller=ANN, command="/review"):
    return runtime.commands.handle(command, text, caller)


def test_setting_showing_skipping_and_cancelling_the_series(runtime):
    reply = run(runtime, "schedule 2016-07-14 08:00 America/Los_Angeles quarterly")
    assert reply.public
    assert "*Review schedule set*: the second Thursday of January, April, July and October at 08:00" in reply.text
    assert f"Next: {OCT_13}" in reply.text and "reviewing Q1 FY2016–17" in reply.text
    assert "Reminders 14d, 1d and 15m before" in reply.text

    for text in ("schedule", "schedule list"):
        listing = run(runtime, text, BOB)
        assert not listing.public
        assert len(listing.marks) == 4 + 3  # four meetings, three reminders of the next one, each marked
        assert f"• {OCT_13}" in listing.text and "reviews Q1 FY2016–17" in listing.text
        assert "• 14d before: Thursday, September 29, 2016 at 8:00 AM PDT" in listing.text

    reply = run(runtime, "schedule skip")
    assert reply.public and f"The review on {OCT_13}" in reply.text and "*skipped*" in reply.text
    assert f"The next one is {JAN_12}" in reply.text and "reviewing Q2 FY2016–17" in reply.text
    listing = run(runtime, "schedule").text
    assert f"• {OCT_13}" in listing and "_skipped_" in listing
    assert "• 1d before: Wednesday, January 11, 2017 at 8:00 AM PST" in listing

    reply = run(runtime, "schedule remind 7d 1h")
    assert reply.public and "7d and 1h before" in reply.text
    assert "• 7d before" in run(runtime, "schedule").text

    reply = run(runtime, "schedule cancel")
    assert reply.public and "cancelled" in reply.text
    assert "no review schedule" in run(runtime, "schedule").text


def test_a_new_series_replaces_the_old_one_and_keeps_its_reminders(runtime):
    run(runtime, "schedule 2016-07-14 08:00")
    run(runtime, "schedule remind 2d")
    reply = run(runtime, "schedule 2016-08-04 17:30 Europe/Berlin once")
    assert "once, on Thursday, August 4, 2016 at 17:30 (Europe/Berlin)" in reply.text
    assert "Reminders 2d before" in reply.text
    listing = run(runtime, "schedule")
    assert listing.text.count("• Thursday") == 1 and "reviews Q4 FY2015–16" in listing.text
    assert len(listing.marks) == 2  # the meeting and its one reminder
    assert len(runtime.schedules.active()) == 1


def test_schedule_mistakes_get_short_private_help(runtime):
    for text, expected in [
        ("schedule", "no review schedule"),
        ("schedule skip", "no review schedule"),
        ("schedule remind 1d", "no review schedule"),
        ("schedule next thursday", "Use `/review schedule <YYYY-MM-DD> <HH:MM>"),
        ("schedule 2016-10-13", "Give the first meeting's date and time"),
        ("schedule 2016-13-01 08:00", "is not a date"),
        ("schedule 2016-10-13 8pm", "is not a time"),
        ("schedule 2016-10-13 08:00 Moon/Base", "is not a timezone"),
        ("schedule 2016-07-01 08:00 once", "in the past"),
    ]:
        reply = run(runtime, text)
        assert not reply.public and expected in reply.text, (text, reply.text)
    run(runtime, "schedule 2016-10-13 08:00 once")
    for text, expected in [
        ("schedule remind", "Give the reminder times"),
        ("schedule remind 3 days", "is not a reminder time"),
        ("schedule remind 100d", "from 1 minute to 60 days"),
    ]:
        reply = run(runtime, text)
        assert not reply.public and expected in reply.text, (text, reply.text)
    run(runtime, "schedule skip")
    assert "no meeting ahead" in run(runtime, "schedule skip").text


def test_action_items_stay_open_until_closed_and_carry_over(runtime, clock):
    assert "No open action items" in run(runtime, "actions").text
    run(runtime, "agenda add Backup Datacenter")
    run(runtime, "start Tech II")
    run(runtime, "action Katherine: share the failover write-up", command="/note")
    run(runtime, "action Wes: plan the next switchover", command="/note")
    run(runtime, "action Faidon: <b>order</b> hardware", command="/note")
    listing = run(runtime, "actions").text
    assert "1. Katherine: share the failover write-up _(meeting #1, July 14, 2016)_" in listing
    assert "3. Faidon: <b>order</b> hardware" in listing  # as typed: each surface makes it safe
    reply = run(runtime, "actions done 2")
    assert "✓ Closed: Wes: plan the next switchover" in reply.text and "2 open action items left" in reply.text
    run(runtime, "end")
    for text, expected in [
        ("actions done 7", "There is no open action item 7"),
        ("actions done two", "Say which item by its number"),
        ("actions finish 1", "Use `/review actions`"),
    ]:
        reply = run(runtime, text)
        assert not reply.public and expected in reply.text

    clock.advance(days=91)
    run(runtime, "agenda add Backup Datacenter")
    reply = run(runtime, "start Tech II, October")
    assert "Now at *1 Previous action items*" in reply.text
    run(runtime, "next")
    run(runtime, "note in the second section", command="/note")
    run(runtime, "actions done 1")  # Katherine's, closed during the second meeting
    reply = run(runtime, "end")
    assert reply.minutes is not None
    wiki = reply.minutes.render().content
    assert wiki.index("== Previous action items ==") < wiki.index("== Backup Datacenter ==")
    assert "* Katherine: share the failover write-up (from July 14, 2016)" in wiki
    assert "* Faidon: &lt;b&gt;order&lt;/b&gt; hardware (from July 14, 2016)" in wiki
    assert "Wes" not in wiki  # closed before the meeting: not carried over
    assert "== Action items ==" not in wiki  # carried items are not new action items
    assert run(runtime, "actions").text.count("\n") == 1  # only Faidon's is still open

    # The third meeting carries over only what the previous (second) meeting left open: nothing.
    reply = run(runtime, "start Tech II, January")
    assert "Previous action items" not in reply.text


def test_status_shows_time_used_against_plan(runtime, clock):
    run(runtime, "agenda add Backup Datacenter [10m]")
    run(runtime, "agenda add Architecture [5m]")
    run(runtime, "agenda add - Document RFC")
    run(runtime, "agenda add Wrap-up")
    run(runtime, "start Tech II")
    clock.advance(minutes=12)
    run(runtime, "next")
    clock.advance(minutes=2)
    run(runtime, "next")
    clock.advance(minutes=3)
    status = run(runtime, "status").text
    assert "*Time used*" in status
    assert "1 Backup Datacenter: 12 min of 10 planned ⚠️" in status
    assert "2 Architecture: 5 min of 5 planned\n" in status  # the block includes its subsection
    assert "    2.1 Document RFC: 3 min ◀" in status
    assert "Wrap-up" not in status  # neither planned nor visited
    run(runtime, "goto 1")
    clock.advance(minutes=1)
    assert "1 Backup Datacenter: 13 min of 10 planned ⚠️ ◀" in run(runtime, "status").text


def test_unskip_takes_back_the_latest_skip(runtime):
    run(runtime, "schedule 2016-07-14 08:00 America/Los_Angeles quarterly")
    reply = run(runtime, "schedule unskip")
    assert not reply.public and "No meeting ahead is skipped" in reply.text
    run(runtime, "schedule skip")  # October 13
    run(runtime, "schedule skip")  # January 12
    reply = run(runtime, "schedule unskip", BOB)
    assert reply.public and f"The review on {JAN_12}" in reply.text and "reviewing Q2 FY2016–17" in reply.text
    assert "*back on*" in reply.text
    meetings = [line for line in run(runtime, "schedule").text.splitlines() if line.startswith("• Thursday")]
    assert meetings[0].startswith(f"• {OCT_13}") and meetings[0].endswith("_skipped_")
    assert meetings[1].startswith(f"• {JAN_12}") and meetings[1].endswith("reviews Q2 FY2016–17")
    reply = run(runtime, "schedule restore")
    assert f"The review on {OCT_13}" in reply.text and "*back on*" in reply.text
    assert "_skipped_" not in run(runtime, "schedule").text
    assert "No meeting ahead is skipped" in run(runtime, "schedule unskip").text
