"""Carrying agendas forward over signed HTTP: ``/review agenda copy`` and ``import`` as slash
commands, the reminder's "Copy last meeting's agenda" button, and the private refusals."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from reviewbot.core import Caller
from reviewbot.core.channels import channel_row, latest_meeting
from reviewbot.core.meetings.views import sections_of
from reviewbot.slack import blocks
from reviewbot.store.schema import MeetingStatus
from tests.support.botserver import BotServer, bot_client, bot_settings
from tests.support.fakewiki import FakeWiki
from tests.support.slack_client import SlackPerson

MEETING = datetime(2016, 10, 13, 15, 0, tzinfo=UTC)  # the series' next meeting (08:00 PDT)


def hold_meeting(person, title, *agenda):
    for line in agenda:
        person.ok("/review", f"agenda add {line}")
    person.ok("/review", f"start {title}")
    person.ok("/note", "Katherine: said in the meeting")
    person.ok("/review", "end")


def agenda_of(bot, person):
    """The next meeting's agenda in the person's channel (read without creating the channel's row,
    as the bot may be writing it at the same moment)."""
    caller = Caller(person.team, person.channel, person.user_id, person.name)
    with bot.runtime.db.read() as session:
        channel = channel_row(session, caller, datetime.now(UTC), lock=False)
        meeting = None if channel is None else latest_meeting(session, channel.id, MeetingStatus.PLANNED)
        sections = [] if meeting is None else sections_of(session, meeting.id)
        return [(s.level, s.title, s.duration_minutes) for s in sections]


def private(reply):
    assert reply["response_type"] == "ephemeral", reply
    return reply["text"]


def sweep(scheduler):
    runs = scheduler.runs
    assert scheduler.run_now() and scheduler.wait_for_runs(runs + 1)


def whispers(fake_slack, count):
    """The texts of the first *count* private messages (``chat.postEphemeral``), once they are sent."""
    return [c.args["text"] for c in fake_slack.wait_for("chat.postEphemeral", count)][:count]


def test_copy_as_a_slash_command_and_its_refusals(bot, fake_slack):
    tilman = SlackPerson(bot, fake_slack, "U100", "Tilman")
    assert private(tilman.ok("/review", "agenda copy")).startswith("No meeting has ended in this channel yet")
    hold_meeting(tilman, "Tech & Ops", "Backup <Datacenter> [10m]", "- Failover")

    text = private(tilman.ok("/review", "agenda copy last"))
    # The reply is Slack's text: what was typed is escaped, never markup.
    assert text.startswith("📋 Copied the agenda of meeting #1 (*Tech &amp; Ops*, 2016-07-14): 2 sections")
    assert "1. Backup &lt;Datacenter&gt; [10m]\n    1.1. Failover" in text
    assert agenda_of(bot, tilman) == [(1, "Backup <Datacenter>", 10), (2, "Failover", None)]

    assert "already has 2 sections" in private(tilman.ok("/review", "agenda copy"))
    assert "There is no past meeting #7 in this channel" in private(tilman.ok("/review", "agenda copy 7"))
    assert "Reading pages from a wiki is not set up" in imported(tilman, "Goals")
    tilman.ok("/review", "start Running")
    assert private(tilman.ok("/review", "agenda copy")).startswith("A meeting is running here")


def test_another_channels_meeting_is_not_copied(bot, fake_slack):
    there = SlackPerson(bot, fake_slack, "U100", "Tilman", channel="C0002")
    hold_meeting(there, "Private plans", "Secret")
    here = SlackPerson(bot, fake_slack, "U100", "Tilman")
    text = private(here.ok("/review", "agenda copy 1"))
    assert text.startswith("There is no past meeting #1 in this channel") and "Secret" not in text
    assert agenda_of(bot, here) == []


@pytest.fixture
def wiki_bot(database_url, fake_slack, clock):
    wiki = FakeWiki()
    wiki.someone_edits("Team goals/2016 Q2", "Intro.\n== Reliability [15m] ==\n=== [[SLO|SLOs]] ===\n== Hiring ==\n")
    wiki.someone_edits("Prose", "No headings at all.")
    server = BotServer(bot_settings(database_url, fake_slack), clock, slack_client=bot_client(fake_slack), wiki=wiki)
    yield server
    server.close()


def imported(person, page):
    """Type ``/review agenda import <page>``: acknowledged at once, answered once the wiki was read."""
    answered = len(person.slack.responses(person.user_id))
    assert private(person.ok("/review", f"agenda import {page}")) == "📖 Reading the page from the wiki…"
    (answer,) = person.slack.wait_for_response(person.user_id, answered + 1)[answered:]
    return private(answer)


def test_import_as_a_slash_command_and_its_refusals(wiki_bot, fake_slack):
    ann = SlackPerson(wiki_bot, fake_slack, "U100", "Ann")
    assert "no page called “Nope”" in imported(ann, "Nope")
    assert "has no headings" in imported(ann, "Prose")
    text = imported(ann, "Team goals/2016 Q2")
    assert text.startswith("📋 The next meeting's agenda is the headings of “Team goals/2016 Q2”: 3 sections.")
    assert agenda_of(wiki_bot, ann) == [(1, "Reliability", 15), (2, "SLOs", None), (1, "Hiring", None)]
    assert imported(ann, "Team goals/2016 Q2").startswith("The next meeting's agenda already has 3 sections")


def test_a_slow_wiki_is_answered_after_the_acknowledgement(wiki_bot, fake_slack):
    wiki = wiki_bot.runtime.commands.carry.reader
    read_page = wiki.read_page

    def slow(title, dated=True):
        time.sleep(4)  # longer than Slack waits for the acknowledgement
        return read_page(title, dated)

    wiki.read_page = slow
    ann = SlackPerson(wiki_bot, fake_slack, "U100", "Ann")
    started = time.monotonic()
    assert private(ann.ok("/review", "agenda import Team goals/2016 Q2")) == "📖 Reading the page from the wiki…"
    assert time.monotonic() - started < 2
    (answer,) = fake_slack.wait_for_response("U100", 1, timeout=10)
    assert private(answer).startswith("📋 The next meeting's agenda is the headings of “Team goals/2016 Q2”")


def test_the_reminders_button_copies_the_last_meetings_agenda(bot, fake_slack, clock):
    tilman = SlackPerson(bot, fake_slack, "U100", "Tilman")
    hold_meeting(tilman, "Tech II", "Backup Datacenter [10m]", "Architecture")
    tilman.ok("/review", "schedule 2016-07-14 08:00 America/Los_Angeles")
    scheduler = bot.runtime.scheduler
    assert scheduler is not None and scheduler.elect()

    clock.current = MEETING - timedelta(days=14)
    sweep(scheduler)
    (call,) = [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("text", "").startswith("🗓️")]
    assert "_No agenda items yet._ `/review agenda copy last` copies the last meeting's agenda." in call.args["text"]
    posted = call.args["blocks"]
    posted = json.loads(posted) if isinstance(posted, str) else posted
    (actions,) = [b for b in posted if b["type"] == "actions"]
    (button,) = actions["elements"]
    assert button["text"]["text"] == "Copy last meeting's agenda" and button["value"] == "agenda copy last"
    assert button["action_id"] == f"{blocks.OFFER}-0"
    reminder_ts = next(ts for (channel, ts), m in fake_slack.messages.items() if m["text"] == call.args["text"])

    ann = SlackPerson(bot, fake_slack, "U200", "Ann")
    status, _ = ann.click(button["action_id"], reminder_ts, button["value"])
    assert status == 200
    (told,) = whispers(fake_slack, 1)
    assert told.startswith("📋 Copied the agenda of meeting #1 (*Tech II*, 2016-07-14): 2 sections")
    assert agenda_of(bot, ann) == [(1, "Backup Datacenter", 10), (1, "Architecture", None)]
    assert fake_slack.calls_to("chat.postEphemeral")[0].args["user"] == "U200"  # only the clicker is told

    # A second click (or a colleague's) copies nothing more, and says why.
    status, _ = tilman.click(button["action_id"], reminder_ts, button["value"])
    assert status == 200
    assert whispers(fake_slack, 2)[1].startswith("The next meeting's agenda already has 2 sections")
    assert agenda_of(bot, ann) == [(1, "Backup Datacenter", 10), (1, "Architecture", None)]


def test_the_button_during_a_meeting_says_one_is_running(bot, fake_slack, clock):
    tilman = SlackPerson(bot, fake_slack, "U100", "Tilman")
    hold_meeting(tilman, "Tech II", "Backup Datacenter")
    tilman.ok("/review", "start Unplanned")
    status, _ = tilman.click(f"{blocks.OFFER}-0", "1.000001", "agenda copy last")
    assert status == 200
    assert whispers(fake_slack, 1)[0].startswith("A meeting is running here")
