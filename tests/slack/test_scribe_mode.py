"""Scribe mode over the Events API: messages typed in the channel are the notes, and follow edits."""

from __future__ import annotations

from sqlalchemy import select

from reviewbot.store.schema import NoteRevision
from tests.slack.test_slack_live import ephemerals, idle, start_meeting
from tests.support.fakeslack import FakeSlack
from tests.support.slack_client import SlackPerson


def draft(bot, meeting_id: int) -> str:
    """The wiki draft of the meeting as it is now."""
    return bot.runtime.commands.minutes_file(bot.runtime.meetings.record(meeting_id)).content


def reactions(fake_slack: FakeSlack, ts: str) -> list[str]:
    return [c.args["name"] for c in fake_slack.calls_to("reactions.add") if c.args.get("timestamp") == ts]


def section_thread(fake_slack: FakeSlack, title: str) -> str:
    """The ts of the heading message the bot posted for the section *title*."""
    for call in fake_slack.calls_to("chat.postMessage"):
        heading = "blocks" in call.args and call.args["blocks"][0].get("type") != "header"
        if heading and title in call.args.get("text", "") and not call.args.get("thread_ts"):
            return str(call.response["ts"])
    raise AssertionError(f"no heading for {title}")


def test_a_scribes_messages_are_notes_and_others_are_conversation(bot, fake_slack):
    chair, _agenda, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    bob = SlackPerson(bot, fake_slack, "U400", "Bob")
    reply = ann.ok("/review", "scribe me")
    assert reply["response_type"] == "in_channel" and "Ann is now a scribe" in reply["text"]
    chair.ok("/review", "present Katherine")

    recorded = ann.say(
        "Katherine: congrats on the failover\n// just an aside\n> Wes: thanks!\n\naction Wes: write it up"
    )
    chatter = bob.say("anyone for coffee after this?")
    idle(bot)
    wiki = draft(bot, meeting_id)
    assert "* Katherine: congrats on the failover\n** Wes: thanks!\n* '''Action:''' Wes: write it up" in wiki
    assert "aside" not in wiki and "coffee" not in wiki
    assert reactions(fake_slack, recorded) == ["white_check_mark"] and reactions(fake_slack, chatter) == []
    # The message is the echo: nothing of it is posted again in the section's thread.
    assert not any("congrats" in c.args.get("text", "") for c in fake_slack.calls_to("chat.postMessage"))

    listing = bob.ok("/review", "scribe")
    assert listing["response_type"] == "ephemeral" and "Scribes: Ann." in listing["text"]
    refused = bob.command("/review", "scribe <@U300>", escape=False)[1]
    assert "Only the meeting's chairs (Tilman)" in refused["text"]
    assert "Bob is now a scribe" in chair.command("/review", "scribe <@U400>", escape=False)[1]["text"]
    bob.say("Bob: now I take notes too")
    idle(bot)
    assert "* Bob: now I take notes too" in draft(bot, meeting_id)
    assert "Bob no longer scribes" in bob.ok("/review", "scribe off")["text"]
    bob.say("not a note any more")
    idle(bot)
    assert "not a note any more" not in draft(bot, meeting_id)


def test_anyone_replying_in_a_sections_thread_adds_to_that_section(bot, fake_slack):
    chair, _agenda, meeting_id = start_meeting(bot, fake_slack)
    thread = section_thread(fake_slack, "Backup Datacenter")
    chair.ok("/review", "next")
    idle(bot)
    guest = SlackPerson(bot, fake_slack, "U500", "Guest")
    guest.say("Guest: the switchover took 8 minutes", thread_ts=thread)
    other = guest.say("a reply to someone's message", thread_ts=guest.say("a message of my own"))
    idle(bot)
    wiki = draft(bot, meeting_id)
    assert "== Backup Datacenter ==\n* Guest: the switchover took 8 minutes\n" in wiki
    assert "reply to someone" not in wiki and reactions(fake_slack, other) == []


def test_edits_and_deletions_flow_into_the_minutes_as_revisions(bot, fake_slack):
    chair, _agenda, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    ann.ok("/review", "scribe me")
    ts = ann.say("first line with a tpyo\nsecond line")
    gone = ann.say("said in error")
    idle(bot)
    assert ann.edit(ts, "first line with a typo fixed\nsecond line\nthird line, added")[0] == 200
    assert ann.delete(gone)[0] == 200
    wiki = draft(bot, meeting_id)
    assert "* first line with a typo fixed\n* second line\n* third line, added" in wiki
    assert "tpyo" not in wiki and "said in error" not in wiki
    with bot.runtime.db.read() as session:
        changes = [(r.action.value, r.editor_name, r.before, r.after) for r in session.scalars(select(NoteRevision))]
    assert ("edit", "Ann", "first line with a tpyo", "first line with a typo fixed") in changes
    assert ("delete", "Ann", "said in error", None) in changes

    ann.edit(ts, "first line with a typo fixed")  # two lines taken out
    chair.ok("/review", "end")
    ann.edit(ts, "first line, edited after the meeting")  # the draft follows, after the end too
    wiki = draft(bot, meeting_id)
    assert "* first line, edited after the meeting\n" in wiki and "second line" not in wiki
    late = ann.say("said after the meeting ended")
    idle(bot)
    assert "after the meeting ended" not in draft(bot, meeting_id) and reactions(fake_slack, late) == []


def test_a_retried_or_repeated_event_gives_one_note(bot, fake_slack):
    _chair, _agenda, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    ann.ok("/review", "scribe me")
    ann.say("said once, delivered three times", retries=2)
    broadcast = ann.message("said in a thread and to the channel", "1700000000.000100", subtype="thread_broadcast")
    ann.event(broadcast)
    ann.event(broadcast, retry=1)
    idle(bot)
    wiki = draft(bot, meeting_id)
    assert wiki.count("said once, delivered three times") == 1
    assert wiki.count("said in a thread and to the channel") == 1


def test_slack_markup_comes_back_as_typed(bot, fake_slack):
    _chair, _agenda, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    ann.ok("/review", "scribe me")
    fake_slack.users["U600"] = {"name": "katherine", "display_name": "Katherine", "real_name": "K M"}
    SlackPerson(bot, fake_slack, "U600", "Katherine")  # joins: the bot knows her name
    ts = ann.next_message_ts()
    message = ann.message("", ts)
    message["text"] = (
        "<@U600>: see <https://example.org/a?b=1&amp;c=2|the plan> &amp; <#C0001|general> :tada: &lt;b&gt;"
    )
    message["files"] = [{"id": "F1", "name": "slides.pdf", "permalink": "https://files.example/slides.pdf"}]
    ann.event(message)
    idle(bot)
    (note,) = [n for n in bot.runtime.meetings.notes_of(meeting_id) if n.from_message]
    assert note.text == (
        "@Katherine: see the plan (https://example.org/a?b=1&c=2) & #general :tada: <b>"
        " (slides.pdf (https://files.example/slides.pdf))"
    )
    assert note.speaker == "Katherine"
    assert "&lt;b&gt;" in draft(bot, meeting_id)  # and the wikitext shows it as typed


def test_bots_and_channel_notices_are_ignored(bot, fake_slack):
    _chair, _agenda, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    ann.ok("/review", "scribe me")
    for extra in (
        {"subtype": "channel_join"},
        {"subtype": "channel_topic"},
        {"bot_id": "B1"},
        {"subtype": "bot_message", "bot_id": "B2"},
    ):
        ann.event(ann.message(f"not minutes {extra}", ann.next_message_ts(), **extra))
    idle(bot)
    assert "not minutes" not in draft(bot, meeting_id)
    assert not fake_slack.calls_to("reactions.add")


def test_a_message_that_breaks_a_rule_gets_a_warning_and_an_explanation(bot, fake_slack):
    _chair, _agenda, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    ann.ok("/review", "scribe me")
    ts = ann.say("> a reply to nothing")
    idle(bot)
    assert reactions(fake_slack, ts) == ["warning"]
    fake_slack.wait_for("chat.postEphemeral")  # private messages go out on their own, soon after
    (told,) = ephemerals(fake_slack, "U300")
    assert "no note in this section to reply to" in told and "Edit it to try again" in told
    assert ann.edit(ts, "a note after all")[0] == 200
    idle(bot)
    assert "* a note after all" in draft(bot, meeting_id)
    assert reactions(fake_slack, ts) == ["warning", "white_check_mark"]


def test_a_message_from_someone_the_name_cache_does_not_know_takes_the_events_profile_name(bot, fake_slack):
    from reviewbot.store.schema import Note

    start_meeting(bot, fake_slack)
    thread = section_thread(fake_slack, "Backup Datacenter")
    dora = SlackPerson(bot, fake_slack, "U500", "Dora", joins=False)  # joined after the bot listed users
    dora.say("Dora: the cache is warm", thread_ts=thread, user_profile={"display_name": "Dora M.", "name": "dora"})
    idle(bot)
    with bot.runtime.db.read() as session:
        authors = session.scalars(select(Note.author_name).where(Note.author_id == "U500")).all()
    assert authors == ["Dora M."]
