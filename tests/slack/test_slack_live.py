"""The live meeting in Slack: agenda message, section threads, buttons, modals, roles, shortcut,
App Home; driven by signed Slack payloads against the fake Web API, checking the exact calls.

Here every echo is a ``chat.postMessage`` (``REVIEWBOT_ECHO_VIA_RESPONSE_URL=false``): these tests
are about that path, its pacing, batching and recovery; echoes through a ``/note``'s own
``response_url`` are tested in ``test_response_url_echoes.py``."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reviewbot.slack import blocks, live
from reviewbot.store.live_leases import LiveLeases
from reviewbot.store.schema import Note, NoteRevision
from tests.support.botserver import BotServer, bot_client, bot_settings
from tests.support.fakeslack import RESPONSE_URL_PREFIX, FakeSlack
from tests.support.fakewiki import FakeWiki
from tests.support.slack_client import SlackPerson

ECHO_LINE = re.compile(r"#\d+ ")  # an echoed note's line: "#12 Tilman: text"


def posting_settings(database_url: str, fake_slack: FakeSlack):
    """The test bot's settings, every echo a ``chat.postMessage``."""
    return dataclasses.replace(bot_settings(database_url, fake_slack), echo_via_response_url=False)


@pytest.fixture
def bot(database_url: str, fake_slack: FakeSlack, clock) -> Iterator[BotServer]:
    """The real bot over HTTP against the fake Slack, echoing with ``chat.postMessage`` only."""
    server = BotServer(posting_settings(database_url, fake_slack), clock, slack_client=bot_client(fake_slack))
    yield server
    server.close()


def idle(bot) -> None:
    assert bot.slack.poster.wait_idle(10), "the posting queue did not drain"


def texts(call) -> str:
    """All mrkdwn/plain text of a recorded post or update, joined."""
    found: list[str] = [call.args.get("text", "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(call.args.get("blocks") or call.args.get("view"))
    return "\n".join(found)


def action_ids(call) -> list[str]:
    return [e["action_id"] for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]]


def agenda_updates(fake_slack: FakeSlack, agenda_ts: str) -> list[Any]:
    """The updates of the agenda message, in order: ``chat.update`` calls, and replacements through
    a click's ``response_url`` (recorded as ``response_url:<user>``)."""
    return [
        c
        for c in fake_slack.calls
        if (c.method == "chat.update" and c.args.get("ts") == agenda_ts)
        or (c.method.startswith(RESPONSE_URL_PREFIX) and c.args.get("replace_original") is True)
    ]


def echoed(fake_slack: FakeSlack) -> list[str]:
    """The notes echoed so far (accepted posts), a line each: ``#1 Tilman: text``; one message
    may carry several (a section's first also carries its heading, at the top of the channel)."""
    posts = fake_slack.calls_to("chat.postMessage")
    return [line for c in posts if c.response["ok"] for line in c.args["text"].split("\n") if ECHO_LINE.match(line)]


def ephemerals(fake_slack: FakeSlack, user: str) -> list[str]:
    return [c.args["text"] for c in fake_slack.calls_to("chat.postEphemeral") if c.args.get("user") == user]


def start_meeting(bot, fake_slack: FakeSlack) -> tuple[SlackPerson, str, int]:
    """Tilman prepares three sections and starts; returns him, the agenda message ts, meeting id."""
    chair = SlackPerson(bot, fake_slack, "U100", "Tilman")
    chair.ok("/review", "agenda add Backup Datacenter [10m]")
    chair.ok("/review", "agenda add Architecture")
    chair.ok("/review", "agenda add - Document RFC")
    chair.ok("/review", "start Tech II")
    idle(bot)
    agenda = fake_slack.calls_to("chat.postMessage")[0]
    meeting_id = int(agenda.args["blocks"][-2]["elements"][0]["value"])
    return chair, agenda.response["ts"], meeting_id


def paced(bot) -> None:
    """Pace the bot's posts per channel as production does (tests' settings do not), so that it
    keeps within the fake Slack's limits of one a second per channel, in bursts of four."""
    bot.slack.poster.interval = 1.0


def within_limits(fake_slack: FakeSlack) -> None:
    """Slack never had to refuse a call, and no call came before a Retry-After."""
    assert fake_slack.early_call_count == 0
    assert not fake_slack.limited_calls, fake_slack.limited_calls


def spy_on_note_reads(bot, monkeypatch) -> list[tuple[int, int | None, int]]:
    """Record each read of a meeting's notes: (after_seq, limit, notes returned)."""
    read: list[tuple[int, int | None, int]] = []
    notes_of = bot.runtime.meetings.notes_of

    def spy(meeting: int, include_deleted: bool = True, after_seq: int = 0, limit: int | None = None):
        found = notes_of(meeting, include_deleted, after_seq, limit)
        read.append((after_seq, limit, len(found)))
        return found

    monkeypatch.setattr(bot.runtime.meetings, "notes_of", spy)
    return read


def test_start_posts_the_agenda_once_and_every_move_updates_it_in_place(bot, fake_slack):
    chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    agenda, heading = fake_slack.calls_to("chat.postMessage")
    assert "thread_ts" not in agenda.args and "thread_ts" not in heading.args
    assert "▶️ *1 Backup Datacenter [10m]*" in texts(agenda) and "Document RFC" in texts(agenda)
    assert "elapsed" in texts(agenda) and "Chairs: Tilman" in texts(agenda)
    assert action_ids(agenda) == [blocks.PREV, blocks.NEXT, blocks.END, blocks.HERE, blocks.REMOTE]
    assert heading.args["text"] == "1 Backup Datacenter [10m]"

    fake_slack.clear()
    reply = chair.ok("/review", "next")  # the command: the mover alone gets the text
    assert reply["response_type"] == "ephemeral" and reply["text"].startswith("➡️ Now at *2 Architecture*")
    idle(bot)
    assert chair.click(blocks.NEXT, agenda_ts, str(meeting_id))[0] == 200  # the button
    idle(bot)
    assert chair.click(blocks.PREV, agenda_ts, str(meeting_id))[0] == 200
    idle(bot)
    updates = agenda_updates(fake_slack, agenda_ts)
    # The command's move through chat.update; each click's through its own response_url.
    assert [u.method for u in updates] == ["chat.update", "response_url:U100", "response_url:U100"]
    assert updates[0].args["channel"] == "C0001"
    assert "▶️ *2 Architecture*" in texts(updates[0])
    assert "▶️ *2.1 Document RFC*" in texts(updates[1])
    assert "▶️ *2 Architecture*" in texts(updates[2])
    # A heading starts each section's thread, once: going back does not post it again.
    headings = [c.args["text"] for c in fake_slack.calls_to("chat.postMessage")]
    assert headings == ["2 Architecture", "2.1 Document RFC"]
    assert len(fake_slack.messages) == 4  # agenda + three headings: nothing was re-posted


def test_notes_are_echoed_into_their_sections_thread_attributed_and_escaped(bot, fake_slack):
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    heading1 = fake_slack.calls_to("chat.postMessage")[1].response["ts"]
    katherine = SlackPerson(bot, fake_slack, "U200", "Katherine")
    katherine.ok("/note", "<b>congrats</b> & thanks")
    chair.ok("/review", "next")
    idle(bot)  # the heading goes alone when no note of its section waits by its turn
    chair.ok("/note", "action Rob: write the RFC")
    idle(bot)
    posts = fake_slack.calls_to("chat.postMessage")
    echo1, heading2, echo2 = posts[2], posts[3], posts[4]
    assert echo1.args["thread_ts"] == heading1
    assert "&lt;b&gt;congrats&lt;/b&gt; &amp; thanks" in texts(echo1) and "noted by Katherine" in texts(echo1)
    assert "<b>" not in texts(echo1)
    assert heading2.args["text"] == "2 Architecture" and "thread_ts" not in heading2.args
    assert echo2.args["thread_ts"] == heading2.response["ts"]
    assert "*Action:* Rob: write the RFC" in texts(echo2)
    menu = echo2.args["blocks"][0]["accessory"]
    assert menu["action_id"] == blocks.NOTE_MENU
    assert [o["value"] for o in menu["options"]] == [f"edit:{_note_id(bot, 2)}", f"delete:{_note_id(bot, 2)}"]
    assert len(fake_slack.calls_to("chat.update")) == 1  # the move; notes do not touch the agenda


def test_a_move_whose_turn_comes_after_notes_shows_its_heading_with_them(bot, fake_slack):
    """When Slack's budget is short the heading waits for the channel's turn like an echo, and
    the notes taken meanwhile go in the heading's message, which starts the section's thread (an
    edit keeps the heading); later notes go into that thread. One post, not two."""
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    gate = threading.Event()
    bot.slack.poster.submit("C0001", lambda lane: gate.wait(10), "hold the channel's echoes")
    before = len(fake_slack.calls_to("chat.postMessage"))
    chair.ok("/review", "next")
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    ann.ok("/note", "first of Architecture")
    ann.ok("/note", "second")
    gate.set()
    idle(bot)
    (start,) = fake_slack.calls_to("chat.postMessage")[before:]
    assert "thread_ts" not in start.args
    assert start.args["text"] == "2 Architecture\n#1 Ann: first of Architecture\n#2 Ann: second"
    assert texts(start).count("*2 Architecture*") == 1
    ann.ok("/note", "third")
    idle(bot)
    third = fake_slack.calls_to("chat.postMessage")[-1]
    assert third.args["thread_ts"] == start.response["ts"] and third.args["text"] == "#3 Ann: third"
    # Edited, the first message keeps its heading; a scribe's reply in its thread is in the section.
    ann.click(blocks.NOTE_MENU, start.response["ts"], selected=f"delete:{_note_id(bot, 2)}")
    idle(bot)
    update = fake_slack.calls_to("chat.update")[-1]
    assert update.args["ts"] == start.response["ts"]
    assert update.args["text"].startswith("2 Architecture\n#1 Ann: first of Architecture\n")
    posted = bot.slack.store.find("C0001", start.response["ts"], ["section"])
    assert posted is not None and posted.ref_id == bot.runtime.meetings.view_by_id(_meeting_id).current.id


def _note_id(bot, seq: int) -> int:
    with bot.runtime.db.read() as session:
        return session.query(Note).filter(Note.seq == seq).one().id


def test_only_chairs_move_end_and_change_a_running_agenda(bot, fake_slack):
    chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    fake_slack.clear()
    for command, text in [
        ("/review", "next"),
        ("/review", "end"),
        ("/review", "agenda add X"),
        ("/review", "section Y"),
        ("/review", "chair <@U300>"),
    ]:
        _status, reply = ann.command(command, text, escape=False)
        assert reply["response_type"] == "ephemeral", text
        assert "Only the meeting's chairs (Tilman) can" in reply["text"], (text, reply)
    assert ann.ok("/note", "everyone can note")["text"].startswith("✓ Noted #1")
    ann.click(blocks.NEXT, agenda_ts, str(meeting_id))
    ann.click(blocks.END, agenda_ts, str(meeting_id))
    fake_slack.wait_for("chat.postEphemeral", count=2)
    idle(bot)
    told = ephemerals(fake_slack, "U300")
    assert "move between sections" in told[0] and "end the meeting" in told[1]
    assert not fake_slack.calls_to("chat.update")
    assert bot.runtime.meetings.view_by_id(meeting_id).current.title == "Backup Datacenter"

    # A chair adds Ann (a real mention); she can then move, and the agenda shows both chairs.
    _status, reply = chair.command("/review", "chair <@U300>", escape=False)
    assert reply["response_type"] == "in_channel" and "made Ann a chair" in reply["text"]
    idle(bot)
    assert "Chairs: Tilman, Ann" in texts(fake_slack.calls_to("chat.update")[-1])
    assert ann.ok("/review", "next")["text"].startswith("➡️ Now at *2 Architecture*")
    assert "could not tell who" in chair.ok("/review", "chair Bob")["text"]


def test_attendance_buttons_add_the_clicker_by_display_name(bot, fake_slack):
    chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann Example")
    bob = SlackPerson(bot, fake_slack, "U400", "Bob")
    ann.click(blocks.HERE, agenda_ts, str(meeting_id))
    idle(bot)
    bob.click(blocks.REMOTE, agenda_ts, str(meeting_id))
    idle(bot)
    chair.ok("/review", "present Heather")
    idle(bot)
    # No private confirmation: the agenda, updated through each click's response_url, shows it.
    assert ephemerals(fake_slack, "U300") == [] and ephemerals(fake_slack, "U400") == []
    updates = agenda_updates(fake_slack, agenda_ts)
    assert [u.method for u in updates] == ["response_url:U300", "response_url:U400", "response_url:U400"]
    assert "*Present:* Ann Example\n*Remote:* —" in texts(updates[0])
    # Bob's click lent its URL (uses left) to the next update, the chair's command.
    assert "*Present:* Ann Example, Heather\n*Remote:* Bob" in texts(updates[-1])
    assert not fake_slack.calls_to("chat.update")
    # A click that is refused is still told, privately.
    bob.click(blocks.HERE, agenda_ts, "999")
    fake_slack.wait_for("chat.postEphemeral")
    assert "no longer running" in ephemerals(fake_slack, "U400")[0]
    chair.ok("/review", "end")
    upload = fake_slack.wait_for("files.completeUploadExternal")
    assert upload
    wiki = fake_slack.uploads[-1].content.decode()
    assert "'''Present (in the office)''': Ann Example, Heather; '''participating remotely''': Bob" in wiki


def test_a_stale_agenda_message_does_not_move_the_next_meeting(bot, fake_slack):
    chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    chair.ok("/review", "end")
    idle(bot)
    final = fake_slack.calls_to("chat.update")[-1]
    assert final.args["ts"] == agenda_ts and action_ids(final) == [] and "Ended" in texts(final)
    chair.ok("/review", "start Next one")
    idle(bot)
    fake_slack.clear()
    chair.click(blocks.NEXT, agenda_ts, str(meeting_id))
    fake_slack.wait_for("chat.postEphemeral")
    assert "no longer running" in ephemerals(fake_slack, "U100")[0]
    assert not fake_slack.calls_to("chat.update")


def test_end_button_ends_and_uploads_the_minutes(bot, fake_slack):
    chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    chair.ok("/note", "kept")
    chair.click(blocks.END, agenda_ts, str(meeting_id))
    fake_slack.wait_for("files.completeUploadExternal")
    idle(bot)
    assert "* kept" in fake_slack.uploads[-1].content.decode()
    assert fake_slack.uploads[-1].channel_id == "C0001"
    final = agenda_updates(fake_slack, agenda_ts)[-1]
    assert final.method == "response_url:U100" and action_ids(final) == [] and "Ended" in texts(final)


def open_view(fake_slack: FakeSlack, count: int = 1) -> dict[str, Any]:
    call = fake_slack.wait_for("views.open", count=count)[-1]
    assert call.response["ok"], call.response
    return call.response["view"]


def test_notes_are_edited_in_a_modal_and_deleted_with_history(bot, fake_slack):
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    bob = SlackPerson(bot, fake_slack, "U400", "Bob")
    ann.ok("/note", "Katherine: helo & welcome")
    idle(bot)  # each in a message of its own
    bob.ok("/note", "bob's note")
    idle(bot)
    echo_ann, echo_bob = fake_slack.calls_to("chat.postMessage")[2:4]
    ann_note, bob_note = _note_id(bot, 1), _note_id(bot, 2)

    # Bob may not edit Ann's note: polite explanation, no modal.
    bob.click(blocks.NOTE_MENU, echo_ann.response["ts"], selected=f"edit:{ann_note}")
    fake_slack.wait_for("chat.postEphemeral")
    assert "Only Ann, who took this note, or a chair (Tilman)" in ephemerals(fake_slack, "U400")[0]
    assert not fake_slack.calls_to("views.open")

    # Ann edits her own note; the modal holds the text as typed (not escaped).
    ann.click(blocks.NOTE_MENU, echo_ann.response["ts"], selected=f"edit:{ann_note}")
    view = open_view(fake_slack)
    element = view["blocks"][1]["element"]
    assert element["initial_value"] == "Katherine: helo & welcome"
    # An empty note is refused inline; the modal stays open.
    status, body = ann.submit(view, {blocks.NOTE_BLOCK: {blocks.NOTE_INPUT: "  "}})
    assert status == 200 and body["response_action"] == "errors" and blocks.NOTE_BLOCK in body["errors"]
    status, body = ann.submit(view, {blocks.NOTE_BLOCK: {blocks.NOTE_INPUT: "Katherine: hello & welcome"}})
    assert status == 200 and body == ""
    idle(bot)
    update = fake_slack.calls_to("chat.update")[-1]
    assert update.args["ts"] == echo_ann.response["ts"]
    assert "hello &amp; welcome" in texts(update) and "edited by Ann" in texts(update)

    # The chair deletes Bob's note: the echo shows it struck through, without a menu.
    chair.click(blocks.NOTE_MENU, echo_bob.response["ts"], selected=f"delete:{bob_note}")
    idle(bot)
    fake_slack.wait_for("chat.update", count=2)
    idle(bot)
    deleted = fake_slack.calls_to("chat.update")[-1]
    assert deleted.args["ts"] == echo_bob.response["ts"]
    assert "~bob&#39;s note~" in texts(deleted) or "~bob's note~" in texts(deleted)
    assert "deleted by Tilman" in texts(deleted) and "accessory" not in deleted.args["blocks"][0]

    with bot.runtime.db.read() as session:
        revisions = [
            (r.note_id, r.action.value, r.editor_id, r.before, r.after)
            for r in session.query(NoteRevision).order_by(NoteRevision.id)
        ]
    assert revisions == [
        (ann_note, "edit", "U300", "Katherine: helo & welcome", "Katherine: hello & welcome"),
        (bob_note, "delete", "U100", "bob's note", None),
    ]
    chair.ok("/review", "end")
    fake_slack.wait_for("files.completeUploadExternal")
    wiki = fake_slack.uploads[-1].content.decode()
    assert "* Katherine: hello & welcome" in wiki and "helo" not in wiki and "bob's note" not in wiki


def test_undo_shows_in_the_echo(bot, fake_slack):
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    chair.ok("/note", "oops")
    idle(bot)
    echo = fake_slack.calls_to("chat.postMessage")[-1]
    chair.ok("/note", "undo")
    idle(bot)
    update = fake_slack.calls_to("chat.update")[-1]
    assert update.args["ts"] == echo.response["ts"] and "~oops~" in texts(update)


def test_agenda_editor_modal(bot, fake_slack):
    tilman = SlackPerson(bot, fake_slack, "U100", "Tilman")
    tilman.ok("/review", "agenda add Backup Datacenter [10m]")
    status, body = tilman.command("/review", "agenda")
    assert status == 200 and body == ""
    view = open_view(fake_slack)
    assert view["callback_id"] == blocks.AGENDA_EDITOR
    assert view["blocks"][1]["element"]["initial_value"] == "Backup Datacenter [10m]"

    # Mistakes are shown next to the outline; nothing is saved, nothing typed is lost.
    bad = "- Orphan\nArchitecture"
    status, body = tilman.submit(view, {blocks.OUTLINE_BLOCK: {blocks.OUTLINE_INPUT: bad}})
    assert body["response_action"] == "errors"
    assert body["errors"][blocks.OUTLINE_BLOCK].startswith("Line 1: a subsection")
    status, body = tilman.submit(view, {blocks.OUTLINE_BLOCK: {blocks.OUTLINE_INPUT: "Ok\n" + "A" * 201}})
    assert body["errors"][blocks.OUTLINE_BLOCK] == "Line 2: Section titles can be at most 200 characters long."

    outline = "Backup Datacenter [15m]\n\nArchitecture\n  - Document RFC [5m]\nSecurity & <Privacy>"
    status, body = tilman.submit(view, {blocks.OUTLINE_BLOCK: {blocks.OUTLINE_INPUT: outline}})
    assert status == 200 and body == ""
    fake_slack.wait_for("chat.postEphemeral")
    assert ephemerals(fake_slack, "U100") == ["Agenda saved: 4 sections."]
    shown = tilman.ok("/review", "agenda show")["text"]
    assert "1. Backup Datacenter [15m]" in shown and "    2.1. Document RFC [5m]" in shown
    assert "3. Security &amp; &lt;Privacy&gt;" in shown

    # Running: only chairs may open it; a chair's save updates the live agenda once.
    tilman.ok("/review", "start Tech II")
    idle(bot)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    reply = ann.ok("/review", "agenda")
    assert reply["response_type"] == "ephemeral" and "Only the meeting's chairs" in reply["text"]
    assert len(fake_slack.calls_to("views.open")) == 1
    tilman.ok("/note", "keeps its section")
    tilman.command("/review", "agenda")
    view = open_view(fake_slack, count=2)
    assert view["blocks"][1]["element"]["initial_value"].splitlines()[0] == "Backup Datacenter [15m]"
    status, body = tilman.submit(view, {blocks.OUTLINE_BLOCK: {blocks.OUTLINE_INPUT: "Architecture"}})
    assert "current section" in body["errors"][blocks.OUTLINE_BLOCK]
    fake_slack.clear()
    status, body = tilman.submit(
        view, {blocks.OUTLINE_BLOCK: {blocks.OUTLINE_INPUT: "Backup Datacenter\nArchitecture\nWrap-up [5m]"}}
    )
    assert body == ""
    idle(bot)
    (update,) = fake_slack.calls_to("chat.update")
    assert "3 Wrap-up [5m]" in texts(update) and "Document RFC" not in texts(update)


def test_without_a_trigger_the_agenda_is_printed(bot, fake_slack):
    tilman = SlackPerson(bot, fake_slack, "U100", "Tilman")
    tilman.ok("/review", "agenda add Backup Datacenter")
    _status, body = tilman.command("/review", "agenda", trigger_id="")
    assert "1. Backup Datacenter" in body["text"]
    assert not fake_slack.calls_to("views.open")


def test_when_the_editor_cannot_open_the_agenda_is_shown_privately(bot, fake_slack):
    tilman = SlackPerson(bot, fake_slack, "U100", "Tilman")
    tilman.ok("/review", "agenda add Backup <Datacenter> [10m]")
    fake_slack.fail_next("views.open", error="expired_trigger_id")
    status, body = tilman.command("/review", "agenda")
    assert status == 200 and body == ""
    (shown,) = fake_slack.wait_for_response("U100")
    assert shown["response_type"] == "ephemeral"
    assert shown["text"].startswith("1 Backup &lt;Datacenter&gt; [10m]")  # as the live agenda lists it
    assert "`/review agenda add <Title>` adds a section" not in shown["text"]  # escaped, as all text


def test_add_to_minutes_shortcut(bot, fake_slack):
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    heading1 = fake_slack.calls_to("chat.postMessage")[1].response["ts"]
    fake_slack.users["U500"] = {"name": "katherine", "display_name": "Katherine", "real_name": "K M"}
    SlackPerson(bot, fake_slack, "U500", "Katherine")  # joins: the bot knows her name
    chair.ok("/review", "next")
    idle(bot)
    # A reply in the first section's thread goes to that section, though the meeting moved on.
    said = {
        "ts": "1699999999.000001",
        "thread_ts": heading1,
        "user": "U500",
        "text": "congrats &amp; thanks to <@U100>",
    }
    status, _ = chair.add_to_minutes(said)
    assert status == 200
    fake_slack.wait_for("chat.postEphemeral")
    idle(bot)
    assert ephemerals(fake_slack, "U100")[-1].startswith("✓ Noted #1 in 1 Backup Datacenter")
    echo = fake_slack.calls_to("chat.postMessage")[-1]
    assert echo.args["thread_ts"] == heading1
    assert "Katherine: congrats &amp; thanks to @Tilman" in texts(echo)
    with bot.runtime.db.read() as session:
        note = session.query(Note).one()
        assert (note.speaker, note.text, note.author_id) == (
            "Katherine",
            "Katherine: congrats & thanks to @Tilman",
            "U100",
        )
    # The same message again, or one of the bot's own messages: explained, not added twice.
    chair.add_to_minutes(said)
    chair.add_to_minutes({"ts": echo.response["ts"], "thread_ts": heading1, "user": "UBOT", "text": "x"})
    fake_slack.wait_for("chat.postEphemeral", count=3)
    told = ephemerals(fake_slack, "U100")
    assert "already in the minutes" in told[-2] and "my own messages" in told[-1]
    # A message outside any thread goes to the current section.
    chair.add_to_minutes({"ts": "1699999999.000002", "user": "U500", "text": "top level"})
    fake_slack.wait_for("chat.postEphemeral", count=4)
    assert ephemerals(fake_slack, "U100")[-1].startswith("✓ Noted #2 in 2 Architecture")
    # Nothing to add, or no meeting: a short explanation.
    chair.add_to_minutes({"ts": "1699999999.000003", "user": "U500", "text": ""})
    fake_slack.wait_for("chat.postEphemeral", count=5)
    assert "no text" in ephemerals(fake_slack, "U100")[-1]
    chair.ok("/review", "end")
    chair.add_to_minutes({"ts": "1699999999.000004", "user": "U500", "text": "late"})
    fake_slack.wait_for("chat.postEphemeral", count=6)
    assert "No meeting is running" in ephemerals(fake_slack, "U100")[-1]


def test_app_home_lists_upcoming_and_recent_meetings_with_their_drafts(bot, fake_slack):
    def complete_with_permalink(args: dict[str, Any]) -> dict[str, Any]:
        body = FakeSlack._files_complete_upload(fake_slack, args).body
        for entry in body.get("files", []):
            entry["permalink"] = f"https://reviewbot-test.slack.com/files/UBOT/{entry['id']}/minutes"
        return body

    def complete_without_permalink(args: dict[str, Any]) -> dict[str, Any]:
        body = FakeSlack._files_complete_upload(fake_slack, args).body
        for entry in body.get("files", []):
            entry.pop("permalink", None)
        return body

    chair, _agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    fake_slack.set_handler("files.completeUploadExternal", complete_without_permalink)
    chair.ok("/review", "end")
    fake_slack.wait_for("files.completeUploadExternal")
    fake_slack.set_handler("files.completeUploadExternal", complete_with_permalink)
    chair.ok("/review", "start Second")
    chair.ok("/review", "end")
    fake_slack.wait_for("files.completeUploadExternal", count=2)
    chair.ok("/review", "agenda add Next time")
    other = SlackPerson(bot, fake_slack, "U600", "Olga", channel="C0002")
    other.ok("/review", "agenda add Elsewhere")
    idle(bot)

    status, _ = chair.open_home()
    assert status == 200
    (publish,) = fake_slack.wait_for("views.publish")
    assert publish.args["user_id"] == "U100"
    shown = texts(publish)
    assert "*Next review* in <#C0001>: 1 section" in shown
    assert "Elsewhere" not in shown and "C0002" not in shown
    assert f"#{meeting_id} *Tech II* in <#C0001>" in shown
    assert f"`/review export {meeting_id}`" in shown  # no permalink known for the first upload
    assert "|📄 Wiki draft>" in shown and "https://reviewbot-test.slack.com/files/UBOT/" in shown


def test_acknowledgements_never_wait_for_slack_posts(bot, fake_slack):
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)

    def slow_post(args: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.6)
        return FakeSlack._chat_post_message(fake_slack, args).body

    fake_slack.set_handler("chat.postMessage", slow_post)
    started = time.monotonic()
    chair.ok("/note", "one")
    chair.ok("/note", "two")
    assert time.monotonic() - started < 0.5  # two acknowledgements, while one post takes 0.6 s
    with bot.runtime.db.read() as session:
        assert session.query(Note).count() == 2  # committed before the acknowledgement
    idle(bot)
    assert echoed(fake_slack) == ["#1 Tilman: one", "#2 Tilman: two"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rate_limited_echo_is_retried_after_retry_after(bot, fake_slack, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(bot.slack.poster, "sleep", slept.append)  # the posting queue's wait
    monkeypatch.setattr(bot.slack.poster.client.budget, "sleep", slept.append)  # and every caller's
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    # Refused more often than the queue tries a failing call: a rate limit is waited out, never given up.
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1, times=bot.slack.poster.attempts + 1)
    chair.ok("/note", "survives a rate limit")
    idle(bot)
    calls = fake_slack.calls_to("chat.postMessage")[2:]
    assert [c.status for c in calls] == [429] * (bot.slack.poster.attempts + 1) + [200]
    assert slept and 1 <= slept[0] < 2
    assert calls[-1].args["thread_ts"] == fake_slack.calls_to("chat.postMessage")[1].response["ts"]
    assert echoed(fake_slack) == ["#1 Tilman: survives a rate limit"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_failed_echo_never_loses_the_note_and_is_posted_with_the_next(bot, fake_slack):
    bot.slack.poster.backoff = 0.0
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    fake_slack.fail_next("chat.postMessage", error="internal_error", times=bot.slack.poster.attempts)
    reply = chair.ok("/note", "first")
    assert reply["text"].startswith("✓ Noted #1")
    idle(bot)
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")[2:]] == [200] * bot.slack.poster.attempts
    assert all(not c.response["ok"] for c in fake_slack.calls_to("chat.postMessage")[2:])
    chair.ok("/note", "second")
    idle(bot)
    # Both in one message: the first was still waiting when the second came.
    assert echoed(fake_slack) == ["#1 Tilman: first", "#2 Tilman: second"]
    chair.ok("/review", "end")
    fake_slack.wait_for("files.completeUploadExternal")
    wiki = fake_slack.uploads[-1].content.decode()
    assert "* first" in wiki and "* second" in wiki


def test_interactions_from_another_workspace_are_refused(bot, fake_slack):
    _chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    eve = SlackPerson(bot, fake_slack, "U9", "Eve", team="T9999")
    status, _ = eve.click(blocks.NEXT, agenda_ts, str(meeting_id))
    assert status == 403
    status, _ = eve.add_to_minutes({"ts": "1.2", "user": "U9", "text": "intrusion"})
    assert status == 403


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_end_button_uploads_then_publishes_in_order_and_home_links_the_page(database_url, fake_slack, clock):
    wiki = FakeWiki()
    server = BotServer(posting_settings(database_url, fake_slack), clock, wiki=wiki)
    try:
        chair, agenda_ts, meeting_id = start_meeting(server, fake_slack)
        chair.ok("/note", "published")
        chair.click(blocks.END, agenda_ts, str(meeting_id))
        idle(server)
        urgent = ("chat.update", "files.", "response_url:")
        methods = [
            c.method
            for c in fake_slack.calls
            if c.method.startswith(urgent) or (c.method == "chat.postMessage" and "thread_ts" not in c.args)
        ]
        # In the channel's order: the final agenda, the minutes file, then the wiki's answer.
        assert methods[-4:] == [
            "response_url:U100",
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
            "chat.postMessage",
        ]
        report = fake_slack.calls_to("chat.postMessage")[-1]
        assert "Minutes published to the wiki" in report.args["text"] and "thread_ts" not in report.args
        assert any("* published" in text[-1] for text in wiki.pages.values())
        chair.open_home()
        home = texts(fake_slack.wait_for("views.publish")[-1])
        assert f"#{meeting_id} *Tech II*" in home and "https://wiki.example/wiki/" in home
        assert "|📘 On the wiki>" in home
    finally:
        server.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_echo_jobs_read_a_page_of_new_notes_never_the_whole_meeting(bot, fake_slack, monkeypatch):
    paced(bot)
    monkeypatch.setattr("reviewbot.slack.echoes.ECHO_PAGE", 2)
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    read = spy_on_note_reads(bot, monkeypatch)
    for n in range(1, 6):
        chair.ok("/note", f"note {n}")
    idle(bot)
    chair.ok("/note", "note 6")
    idle(bot)
    assert echoed(fake_slack) == [f"#{n} Tilman: note {n}" for n in range(1, 7)]  # every note, in order
    assert all(limit == 2 and found <= 2 for _, limit, found in read)
    assert read[-2:] == [(5, 2, 1), (6, 2, 0)]  # the last job read only what came after note 5
    within_limits(fake_slack)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_backlog_of_echoes_lets_a_move_go_first(bot, fake_slack, monkeypatch):
    paced(bot)
    chair, agenda_ts, _meeting_id = start_meeting(bot, fake_slack)

    def slow_post(args: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.5)
        return FakeSlack._chat_post_message(fake_slack, args).body

    fake_slack.set_handler("chat.postMessage", slow_post)
    for n in range(1, 9):
        chair.ok("/note", f"note {n}")
    chair.ok("/review", "next")  # queued while echoes still wait
    idle(bot)
    calls = [c for c in fake_slack.calls if c.method in ("chat.postMessage", "chat.update")][2:]
    shown = [c.args["text"].split(":")[0] if c.method == "chat.postMessage" else "agenda" for c in calls]
    assert echoed(fake_slack) == [f"#{n} Tilman: note {n}" for n in range(1, 9)]  # all, in order, once
    last_echo = max(i for i, s in enumerate(shown) if s.startswith("#"))
    assert shown.index("agenda") < last_echo  # the move did not wait for the backlog
    assert calls[shown.index("agenda")].args["ts"] == agenda_ts
    within_limits(fake_slack)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)  # ids: rowid, sequence
def test_a_process_new_to_the_meeting_echoes_from_after_the_last_echoed_note(bot, fake_slack, monkeypatch):
    paced(bot)
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    for n in range(1, 4):
        chair.ok("/note", f"note {n}")
    idle(bot)
    bot.slack.live.echoes.forget_positions()  # as after a restart
    read = spy_on_note_reads(bot, monkeypatch)
    chair.ok("/note", "note 4")
    idle(bot)
    assert read[0][0] == 3  # not from the meeting's first note
    assert echoed(fake_slack) == [f"#{n} Tilman: note {n}" for n in range(1, 5)]  # each note once, in order
    within_limits(fake_slack)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_echo_slack_refuses_goes_out_as_text_or_is_left_out_never_holding_up_the_next(bot, fake_slack):
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    heading = fake_slack.calls_to("chat.postMessage")[1].response["ts"]
    fake_slack.fail_next("chat.postMessage", error="invalid_blocks")
    chair.ok("/note", "first")
    idle(bot)
    fake_slack.fail_next("chat.postMessage", error="msg_too_long", times=2)
    chair.ok("/note", "second")
    idle(bot)
    chair.ok("/note", "third")
    idle(bot)
    ok = [c for c in fake_slack.calls_to("chat.postMessage")[2:] if c.response["ok"]]
    assert [(c.args["text"], "blocks" in c.args, c.args["thread_ts"]) for c in ok] == [
        ("#1 Tilman: first", False, heading),  # as plain text, without the menu
        ("#3 Tilman: third", True, heading),  # the second was left out, not tried again
    ]
    assert len(fake_slack.calls_to("chat.postMessage")) == 2 + 2 + 2 + 1
    fake_slack.fail_next("chat.update", error="invalid_blocks")
    chair.ok("/note", "undo")  # the third note: its echo is updated, as plain text when Slack refuses blocks
    idle(bot)
    updates = [c for c in fake_slack.calls_to("chat.update") if c.args.get("ts") == ok[1].response["ts"]]
    assert [(c.response["ok"], c.args["text"], "blocks" in c.args) for c in updates] == [
        (False, "Note #3 was deleted", True),
        (True, "Note #3 was deleted", False),
    ]
    chair.ok("/review", "end")
    fake_slack.wait_for("files.completeUploadExternal")
    wiki = fake_slack.uploads[-1].content.decode()
    assert "* first" in wiki and "* second" in wiki and "third" not in wiki


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_minutes_are_uploaded_while_a_backlog_of_echoes_waits(bot, fake_slack):
    paced(bot)
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    release = threading.Event()

    def stuck_post(args: dict[str, Any]) -> dict[str, Any]:
        release.wait(10)  # an echo waiting for Slack (its budget, a Retry-After...)
        return FakeSlack._chat_post_message(fake_slack, args).body

    fake_slack.set_handler("chat.postMessage", stuck_post)
    for n in range(1, 6):
        chair.ok("/note", f"note {n}")
    chair.ok("/review", "end")
    fake_slack.wait_for("files.completeUploadExternal")  # while the first echo is still stuck
    assert fake_slack.calls_to("chat.update")[-1].args["text"].endswith("(ended)")  # and the agenda closed
    assert "* note 5" in fake_slack.uploads[-1].content.decode()
    release.set()
    idle(bot)
    assert echoed(fake_slack) == [f"#{n} Tilman: note {n}" for n in range(1, 6)]
    within_limits(fake_slack)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_burst_of_notes_is_echoed_in_few_messages_each_note_keeping_its_menu(bot, fake_slack):
    paced(bot)
    chair, _agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    heading = fake_slack.calls_to("chat.postMessage")[1].response["ts"]
    posting, release = threading.Event(), threading.Event()

    def held_post(args: dict[str, Any]) -> dict[str, Any]:
        if args.get("text", "").startswith("#1 "):
            posting.set()
            release.wait(10)  # the first echo waits (for Slack, say) while the burst comes
        return FakeSlack._chat_post_message(fake_slack, args).body

    fake_slack.set_handler("chat.postMessage", held_post)
    chair.ok("/note", "first")
    assert posting.wait(5)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    for n in range(2, 30):
        ann.ok("/note", f"burst {n}")
    release.set()
    idle(bot)
    posts = [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    # One message for the first note, then as many notes as Slack's 50 blocks allow, then the rest.
    assert [len(c.args["blocks"]) for c in posts] == [2, 50, 6]
    assert {c.args["thread_ts"] for c in posts} == {heading}
    assert echoed(fake_slack) == ["#1 Tilman: first"] + [f"#{n} Ann: burst {n}" for n in range(2, 30)]
    burst = posts[1]
    menus = [b["accessory"]["options"] for b in burst.args["blocks"] if "accessory" in b]
    ids = [_note_id(bot, n) for n in range(2, 27)]
    assert [[o["value"] for o in options] for options in menus] == [[f"edit:{i}", f"delete:{i}"] for i in ids]
    assert len({b["block_id"] for b in burst.args["blocks"]}) == 50  # unique in the message
    # Every note knows the message that echoes it.
    where = bot.slack.store.of_meeting(meeting_id, "note", [_note_id(bot, n) for n in range(1, 30)])
    assert {where[i].ts for i in ids} == {burst.response["ts"]}
    assert where[_note_id(bot, 1)].ts == posts[0].response["ts"]
    assert where[_note_id(bot, 29)].ts == posts[2].response["ts"]

    # Deleting one note of the burst (its own menu) shows the whole message again, that note struck.
    chair.click(blocks.NOTE_MENU, burst.response["ts"], selected=f"delete:{_note_id(bot, 5)}")
    idle(bot)
    (update,) = fake_slack.calls_to("chat.update")
    assert update.args["ts"] == burst.response["ts"] and len(update.args["blocks"]) == 50
    shown = texts(update)
    assert "~burst 5~" in shown and "deleted by Tilman" in shown and "burst 4" in shown and "burst 26" in shown
    assert sum("accessory" in b for b in update.args["blocks"]) == 24  # the deleted note has no menu
    assert len(posts) == len([c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("thread_ts")])
    within_limits(fake_slack)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_clicks_response_url_updates_the_agenda_five_times_then_chat_update_does(bot, fake_slack):
    chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    ann = SlackPerson(bot, fake_slack, "U300", "Ann")
    ann.click(blocks.HERE, agenda_ts, str(meeting_id))
    idle(bot)
    for n in range(5):  # each a separate update: the first four through Ann's click's URL
        chair.ok("/review", f"present Guest {n}")
        idle(bot)
    shown = agenda_updates(fake_slack, agenda_ts)
    assert [u.method for u in shown] == ["response_url:U300"] * 5 + ["chat.update"]
    assert all(u.args["replace_original"] is True and u.status == 200 for u in shown[:5])
    assert "Guest 4" in texts(shown[-1]) and "Ann" in texts(shown[-1])
    within_limits(fake_slack)  # a sixth use would have been refused


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_response_url_or_a_click_elsewhere_falls_back_to_chat_update(bot, fake_slack):
    chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    fake_slack.fail_next("response_url:U100", status=404, error="expired_url")
    chair.click(blocks.NEXT, agenda_ts, str(meeting_id))
    idle(bot)
    heading = fake_slack.calls_to("chat.postMessage")[1].response["ts"]
    chair.click(blocks.NEXT, heading, str(meeting_id))  # not on the agenda message: its URL cannot replace it
    idle(bot)
    shown = agenda_updates(fake_slack, agenda_ts)
    assert [(u.method, u.status) for u in shown] == [
        ("response_url:U100", 404),
        ("chat.update", 200),
        ("chat.update", 200),
    ]
    assert "▶️ *2.1 Document RFC*" in texts(shown[-1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_burst_of_moves_and_clicks_is_one_agenda_update(bot, fake_slack):
    chair, agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    updating, release = threading.Event(), threading.Event()

    def held_update(args: dict[str, Any]) -> dict[str, Any]:
        updating.set()
        release.wait(10)  # the agenda update in flight, while more changes come
        return FakeSlack._chat_update(fake_slack, args).body

    fake_slack.set_handler("chat.update", held_update)
    chair.ok("/review", "present Heather")
    assert updating.wait(5)
    for n in range(1, 5):
        chair.ok("/review", f"present Person {n}")
    chair.ok("/review", "next")
    chair.ok("/review", "next")
    release.set()
    idle(bot)
    shown = agenda_updates(fake_slack, agenda_ts)
    assert len(shown) == 2  # the one in flight, and one for the six changes after it
    assert "▶️ *2.1 Document RFC*" in texts(shown[-1]) and "Person 4" in texts(shown[-1])
    headings = [c.args["text"] for c in fake_slack.calls_to("chat.postMessage") if "thread_ts" not in c.args]
    # Headings go in line with the echoes, each once, the last where the moves ended.
    assert headings[-1] == "2.1 Document RFC" and len(set(headings)) == len(headings)


def refuse_echo_records(monkeypatch: pytest.MonkeyPatch, store: Any, times: int, reason: str) -> None:
    """The next *times* echo records fail as if the database were unreachable (*reason*); the
    tries again after a failure come at once."""
    from reviewbot.slack import echoes
    from reviewbot.store.database import DatabaseUnavailable

    monkeypatch.setattr(echoes, "RECORD_RETRY_DELAYS", (0.01, 0.01))
    put_many = store.put_many
    left = {"times": times}

    def failing_put_many(*args: Any, **kwargs: Any) -> None:
        if left["times"]:
            left["times"] -= 1
            raise DatabaseUnavailable(reason)
        put_many(*args, **kwargs)

    monkeypatch.setattr(store, "put_many", failing_put_many)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_echo_posted_while_the_database_is_lost_is_recorded_later_never_posted_again(bot, fake_slack, monkeypatch):
    chair, _agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    store = bot.slack.store
    refuse_echo_records(monkeypatch, store, 3, "connection lost")  # the first record and both tries again
    chair.ok("/note", "posted, not recorded")
    idle(bot)
    assert store.of_meeting(meeting_id, "note", [_note_id(bot, 1)]) == {}
    chair.ok("/note", "next")
    idle(bot)
    assert echoed(fake_slack) == ["#1 Tilman: posted, not recorded", "#2 Tilman: next"]  # once each
    recorded = store.of_meeting(meeting_id, "note", [_note_id(bot, 1), _note_id(bot, 2)])
    assert len(recorded) == 2  # the first recorded by the next echo job


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_echo_the_database_does_not_take_at_once_is_recorded_by_a_try_again(bot, fake_slack, monkeypatch):
    chair, _agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    store = bot.slack.store
    refuse_echo_records(monkeypatch, store, 2, "QueuePool limit reached, connection timed out")
    chair.ok("/note", "posted while the database is busy")
    idle(bot)
    # Recorded by the echo job itself, so another process sees it at once and does not post it again.
    assert len(store.of_meeting(meeting_id, "note", [_note_id(bot, 1)])) == 1
    assert echoed(fake_slack) == ["#1 Tilman: posted while the database is busy"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_notes_that_come_while_an_echo_waits_for_slacks_budget_go_in_that_message(bot, fake_slack, monkeypatch):
    chair, _agenda_ts, _meeting_id = start_meeting(bot, fake_slack)
    budget = bot.slack.poster.client.budget
    spend = budget.spend
    waiting, release = threading.Event(), threading.Event()

    def held_spend(method: str, max_wait: float | None = None, channel: str | None = None) -> None:
        if method == "chat.postMessage" and not release.is_set():
            waiting.set()
            release.wait(10)  # the workspace's posts are spent by other channels for a while
        spend(method, max_wait, channel)

    monkeypatch.setattr(budget, "spend", held_spend)
    chair.ok("/note", "first")
    assert waiting.wait(5)
    chair.ok("/note", "second")
    chair.ok("/note", "third")
    release.set()
    idle(bot)
    posts = [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert [c.args["text"] for c in posts] == ["#1 Tilman: first\n#2 Tilman: second\n#3 Tilman: third"]
    within_limits(fake_slack)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has one process: no leases
def test_while_another_process_holds_the_meetings_leases_nothing_is_posted_and_its_echoes_are_not_repeated(
    bot, fake_slack, monkeypatch
):
    """The jobs that find the leases held mark them wanted and wait; the holder, letting them go,
    learns it should run its jobs once more. Here the holder is not a bot: it echoes the note
    and lets go without running anything, as a holder that died would (its lease expiring), and
    the waiting jobs are tried again after :data:`live.LEASE_WAIT` (shortened here)."""
    monkeypatch.setattr(live, "LEASE_WAIT", 1.5)
    chair, agenda_ts, meeting_id = start_meeting(bot, fake_slack)
    other = LiveLeases(bot.runtime.db, "another process")
    assert other.take(meeting_id, "echo") and other.take(meeting_id, "agenda")
    before = len(fake_slack.calls)
    katherine = SlackPerson(bot, fake_slack, "U200", "Katherine")
    katherine.ok("/note", "echoed by the other process")
    chair.ok("/review", "next")
    time.sleep(0.5)  # the jobs found the leases held: nothing posted, and not asked again yet
    assert fake_slack.calls[before:] == []
    # The other process echoes the note (and records it); letting the leases go, it hears they
    # were wanted (a bot would run its jobs again), and lets them go for good.
    note = bot.runtime.meetings.notes_of(meeting_id, include_deleted=False)[0]
    bot.slack.store.put_many(meeting_id, "note", [note.id], "C1", "1700000000.000900")
    assert other.release(meeting_id, "echo") and other.release(meeting_id, "agenda")
    assert not other.release(meeting_id, "echo") and not other.release(meeting_id, "agenda")
    other.close()
    time.sleep(1.5)  # the waiting jobs' second try
    katherine.ok("/note", "echoed here")
    idle(bot)
    assert [line.split(": ", 1)[1] for line in echoed(fake_slack)] == ["echoed here"]
    assert len(agenda_updates(fake_slack, agenda_ts)) == 1  # the move, once the lease was free
    # The new section's heading, once (with the note, if it was waiting by the heading's turn).
    tops = [c.args["text"] for c in fake_slack.calls_to("chat.postMessage")[2:] if "thread_ts" not in c.args]
    assert len(tops) == 1 and tops[0].startswith("2 Architecture")
