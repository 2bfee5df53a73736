"""Echoes of ``/note`` through the command's own ``response_url``: into the section's thread, at
once, spending no ``chat.postMessage``; the echo's ``ts`` learnt from Slack's ``message`` event
(so that an edit still updates it); a refused URL falls back to ``chat.postMessage``, once.

The fake Slack posts an in-channel response in the payload's channel (in ``thread_ts``) and, like
Slack, sends the app a ``message`` event for every message it posts (``fake_slack.on_message``)."""

from __future__ import annotations

import time

from reviewbot.slack import messages
from reviewbot.store.schema import Note, SlackMessage
from tests.support.fakeslack import RESPONSE_URL_PREFIX, FakeSlack
from tests.support.slack_client import SlackPerson


def idle(bot) -> None:
    assert bot.slack.poster.wait_idle(10), "the posting queue did not drain"


def start(bot, fake_slack: FakeSlack, events: bool = True) -> tuple[SlackPerson, str]:
    """Tilman starts a meeting of two sections; returns him and the first section's thread ts.
    With *events*, the bot is sent the ``message`` event of each message it posts."""
    chair = SlackPerson(bot, fake_slack, "U100", "Tilman")
    if events:
        fake_slack.on_message = chair.event
    chair.ok("/review", "agenda add Backup Datacenter")
    chair.ok("/review", "agenda add Architecture")
    chair.ok("/review", "start Tech II")
    idle(bot)
    _agenda, heading = fake_slack.calls_to("chat.postMessage")[:2]
    assert "thread_ts" not in heading.args and heading.args["text"].startswith("1 Backup")
    return chair, heading.response["ts"]


def echoes_through_urls(fake_slack: FakeSlack) -> list:
    return [c for c in fake_slack.calls if c.method.startswith(RESPONSE_URL_PREFIX) and c.posted_ts]


def echo_row(bot, seq: int) -> SlackMessage:
    with bot.runtime.db.read() as session:
        note = session.query(Note).filter(Note.seq == seq).one()
        row = session.query(SlackMessage).filter_by(kind=messages.NOTE, ref_id=note.id).one()
        session.expunge(row)
        return row


def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_note_is_echoed_into_its_thread_through_its_own_response_url(bot, fake_slack):
    _chair, thread = start(bot, fake_slack)
    posts = len(fake_slack.calls_to("chat.postMessage"))
    katherine = SlackPerson(bot, fake_slack, "U200", "Katherine")
    reply = katherine.ok("/note", "<b>congrats</b> & thanks")
    assert reply["response_type"] == "ephemeral"  # the acknowledgement is private; the echo is not
    idle(bot)
    (echo,) = echoes_through_urls(fake_slack)
    assert echo.method == RESPONSE_URL_PREFIX + "U200"  # Katherine's command's own URL
    assert echo.args["response_type"] == "in_channel" and echo.args["replace_original"] is False
    assert echo.args["thread_ts"] == thread
    shown = fake_slack.messages[("C0001", echo.posted_ts)]
    assert shown["thread_ts"] == thread and "&lt;b&gt;congrats&lt;/b&gt; &amp; thanks" in shown["text"]
    assert len(fake_slack.calls_to("chat.postMessage")) == posts  # no post of Slack's budget spent
    wait_until(lambda: echo_row(bot, 1).ts == echo.posted_ts)  # learnt from Slack's message event

    # An undo shows in that very message, by the ts the event told.
    katherine.ok("/note", "undo")
    idle(bot)
    (update,) = fake_slack.calls_to("chat.update")[-1:]
    assert update.args["ts"] == echo.posted_ts and "~" in update.args["blocks"][0]["text"]["text"]
    assert fake_slack.early_call_count == 0 and not fake_slack.limited_calls


def test_notes_before_the_thread_go_with_its_heading_and_later_ones_through_their_urls(bot, fake_slack):
    chair, _ = start(bot, fake_slack)
    chair.ok("/review", "next")
    chair.ok("/note", "first of Architecture")  # may ride with the heading, or follow it
    idle(bot)
    chair.ok("/note", "second of Architecture")
    idle(bot)
    heading = next(c for c in fake_slack.calls_to("chat.postMessage") if c.args["text"].startswith("2 Architecture"))
    thread = heading.response["ts"]
    in_thread = [m for m in fake_slack.messages.values() if m.get("thread_ts") == thread]
    shown = [m["text"] for m in [fake_slack.messages[("C0001", thread)], *in_thread]]
    assert sum("first of Architecture" in t for t in shown) == 1
    assert sum("second of Architecture" in t for t in shown) == 1
    assert echoes_through_urls(fake_slack)[-1].args["thread_ts"] == thread


def test_a_refused_response_url_falls_back_to_chat_post_message_once(bot, fake_slack):
    chair, thread = start(bot, fake_slack)
    fake_slack.fail_next(RESPONSE_URL_PREFIX + "U100", status=404, error="expired_url")
    posts = len(fake_slack.calls_to("chat.postMessage"))
    chair.ok("/note", "kept anyway")
    idle(bot)
    assert not echoes_through_urls(fake_slack)
    echo = fake_slack.calls_to("chat.postMessage")[posts]
    assert echo.args["thread_ts"] == thread and "kept anyway" in echo.args["text"]
    assert len(fake_slack.calls_to("chat.postMessage")) == posts + 1
    assert echo_row(bot, 1).ts == echo.response["ts"]


def test_an_edit_waits_for_the_echos_ts_and_other_apps_messages_do_not_tell_it(bot, fake_slack):
    chair, _ = start(bot, fake_slack, events=False)  # Slack's event comes late
    chair.ok("/note", "oops")
    idle(bot)
    (echo,) = echoes_through_urls(fake_slack)
    assert echo_row(bot, 1).ts == messages.PENDING_TS
    # Another app's message carrying the same block ids tells nothing.
    forged = {**fake_slack.messages[("C0001", echo.posted_ts)], "channel": "C0001", "app_id": "A9999", "ts": "1.5"}
    assert chair.event(forged)[0] == 200
    bot.slack.live.echoes.timestamps.flush()
    assert echo_row(bot, 1).ts == messages.PENDING_TS
    chair.ok("/note", "undo")
    time.sleep(0.3)
    assert not fake_slack.calls_to("chat.update")  # nowhere to show it yet: tried again shortly
    event = {**fake_slack.messages[("C0001", echo.posted_ts)], "channel": "C0001", "event_ts": echo.posted_ts}
    assert chair.event(event)[0] == 200
    wait_until(lambda: echo_row(bot, 1).ts == echo.posted_ts)  # written with the next batch
    fake_slack.wait_for("chat.update", timeout=5)
    idle(bot)
    (update,) = fake_slack.calls_to("chat.update")[-1:]
    assert update.args["ts"] == echo.posted_ts and "~oops~" in update.args["blocks"][0]["text"]["text"]


def test_an_event_that_comes_before_its_echo_is_recorded_waits_for_it(bot, fake_slack):
    start(bot, fake_slack, events=False)
    chair = SlackPerson(bot, fake_slack, "U100", "Tilman")
    chair.ok("/note", "recorded")
    idle(bot)
    meeting_id = echo_row(bot, 1).meeting_id
    timestamps, store = bot.slack.live.echoes.timestamps, bot.slack.store
    timestamps.learn("C0001", [424242], "1700000001.000001")  # an echo not recorded yet
    timestamps.flush()
    assert timestamps._waiting  # kept for the next batches
    store.put_many(meeting_id, messages.NOTE, [424242], "C0001", messages.PENDING_TS)
    timestamps.flush()
    assert not timestamps._waiting
    assert store.get(meeting_id, messages.NOTE, 424242).ts == "1700000001.000001"
    # An echo posted with chat.postMessage already has its ts: settled at once, nothing written.
    heading = fake_slack.calls_to("chat.postMessage")[1]
    assert store.learn_ts([("C0001", [], heading.response["ts"])]) == [True]
