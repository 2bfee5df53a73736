"""``/review search`` over signed HTTP: results as blocks (escaped, matched words bold, a link),
the "More" button, and channel privacy learnt from Slack for ``in:all``."""

from __future__ import annotations

import json
import time

from reviewbot.slack.privacy import ChannelPrivacy
from reviewbot.store.schema import Channel, SlackMessage
from tests.support.slack_client import SlackPerson


def run_meeting(person: SlackPerson, title: str, *notes: str) -> None:
    person.ok("/review", "agenda add Budget review")
    person.ok("/review", "present Katherine, Wes")
    person.ok("/review", f"start {title}")
    for note in notes:
        person.ok("/note", note)
    person.ok("/review", "end")


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def minutes_posted(bot) -> bool:
    with bot.runtime.db.read() as session:
        return session.query(SlackMessage).filter_by(kind="minutes").count() > 0


def privacy(bot, channel: str, timeout: float = 5.0) -> bool | None:
    deadline = time.monotonic() + timeout
    while True:
        with bot.runtime.db.read() as session:
            row = session.query(Channel).filter_by(channel_id=channel).one_or_none()
            value = None if row is None else row.private
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_search_answers_privately_with_bold_matches_and_more(bot, fake_slack):
    tilman = SlackPerson(bot, fake_slack, "U100", "Tilman")
    notes = [f"Wes: zebra budget item {n}" for n in range(12)]
    run_meeting(tilman, "Tech <Q1> & review", "Katherine: the *zebra* <!channel> budget & giraffe", *notes)
    fake_slack.wait_for("files.completeUploadExternal")
    wait_until(lambda: minutes_posted(bot))

    reply = tilman.ok("/review", "search zebra")
    assert reply["response_type"] == "ephemeral"
    blocks = reply["blocks"]
    assert "Results 1–10 for `zebra`" in blocks[0]["text"]["text"]
    results = [b["text"]["text"] for b in blocks[1:] if b["type"] == "section"]
    assert len(results) == 10
    (hostile,) = [b["text"]["text"] for b in tilman.ok("/review", "search zebra giraffe")["blocks"][1:]]
    assert "&lt;!channel&gt;" in hostile and "<!channel>" not in hostile
    assert "*zebra*" in hostile and "**zebra**" not in hostile and "&amp; *giraffe*" in hostile
    assert "Tech &lt;Q1&gt; &amp; review" in hostile and "Budget review" in hostile
    assert "<http" in hostile  # the meeting links to the posted minutes
    more = blocks[-1]
    assert more["type"] == "actions"
    button = more["elements"][0]
    assert json.loads(button["value"]) == {"q": "zebra", "o": 10}

    status, _ = tilman.click(button["action_id"], "1700000000.000100", button["value"])
    assert status == 200
    (answer,) = private_responses(fake_slack, "U100")
    assert answer["replace_original"] is True
    assert "Results 11–13 for `zebra`" in answer["blocks"][0]["text"]["text"]
    assert all(b["type"] != "actions" for b in answer["blocks"])  # nothing more


def test_bad_searches_get_private_help(bot, fake_slack):
    tilman = SlackPerson(bot, fake_slack, "U100", "Tilman")
    for text, says in [
        ("search", "/review search &lt;words&gt;"),
        ("search budget after:2016-02-31", "is not a date I know"),
        ("search zeppelin", "Nothing found"),
    ]:
        reply = tilman.ok("/review", text)
        assert reply["response_type"] == "ephemeral" and says in reply["text"], (text, reply)
    status, _ = tilman.click("search_more", "1700000000.000200", "not json")
    assert status == 200
    (answer,) = private_responses(fake_slack, "U100")
    assert "cannot go on" in answer["text"] and answer["replace_original"] is False


def test_in_all_finds_public_channels_only_as_slack_says(bot, fake_slack):
    fake_slack.channels["C0002"] = {"name": "ops"}
    fake_slack.channels["C0003"] = {"name": "hr", "is_private": True}
    general = SlackPerson(bot, fake_slack, "U100", "Tilman", channel="C0001")
    ops = SlackPerson(bot, fake_slack, "U100", "Tilman", channel="C0002")
    hr = SlackPerson(bot, fake_slack, "U100", "Tilman", channel="C0003")
    legacy = SlackPerson(bot, fake_slack, "U100", "Tilman", channel="G0004")
    run_meeting(ops, "Ops", "Wes: zebra outage")
    run_meeting(hr, "HR", "Wes: zebra layoffs")
    run_meeting(legacy, "Legacy", "Wes: zebra secrets")
    assert privacy(bot, "C0002") is False
    assert privacy(bot, "C0003") is True
    assert privacy(bot, "G0004") is True  # from the payload alone
    assert not any(c.args.get("channel") == "G0004" for c in fake_slack.calls_to("conversations.info"))

    text = " ".join(b["text"]["text"] for b in general.ok("/review", "search zebra in:all")["blocks"])
    assert "*zebra* outage" in text and "layoffs" not in text and "secrets" not in text
    assert "layoffs" in " ".join(b["text"]["text"] for b in hr.ok("/review", "search zebra in:all")["blocks"])
    # Each channel is asked about once, however many commands come from it.
    asked = [c.args.get("channel") for c in fake_slack.calls_to("conversations.info")]
    assert asked.count("C0002") == 1


def test_a_channel_whose_privacy_another_process_learnt_is_not_asked_again(bot, fake_slack):
    fake_slack.channels["C0002"] = {"name": "ops"}
    ops = SlackPerson(bot, fake_slack, "U100", "Tilman", channel="C0002")
    ops.ok("/review", "agenda add Budget review")
    assert privacy(bot, "C0002") is False
    # Another process (its own memory, the same database) gets a command from the channel:
    other = ChannelPrivacy(bot.runtime.db, bot.runtime.meetings.clock)
    other.learn(bot.slack.poster.client, {"team_id": ops.team, "channel_id": "C0002", "channel_name": "ops"})
    other.close()
    asked = [c.args.get("channel") for c in fake_slack.calls_to("conversations.info")]
    assert asked.count("C0002") == 1  # it took what the first one learnt
    with bot.runtime.db.read() as session:
        row = session.query(Channel).filter_by(channel_id="C0002").one()
        assert row.privacy_checked_at is not None


def private_responses(fake_slack, name: str, timeout: float = 5.0) -> list[dict]:
    """The responses to *name* that are not in the channel (those are the echoes of /note), once
    there is one."""
    deadline = time.monotonic() + timeout
    while not (found := [r for r in fake_slack.responses(name) if r.get("response_type") != "in_channel"]):
        assert time.monotonic() < deadline, fake_slack.responses(name)
        time.sleep(0.05)
    return found
