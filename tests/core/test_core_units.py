"""Pure pieces of the core: agenda outlines, note parsing, Slack text, settings."""

from __future__ import annotations

import pytest

from reviewbot.config import ConfigError, load_settings
from reviewbot.core import UserError
from reviewbot.core.agenda import AgendaItem, block_end, find, numbers, parse_item
from reviewbot.core.notes import parse, speaker_of
from reviewbot.logs import redact
from reviewbot.slack.text import to_plain, unescape


def items(*spec: str) -> list[AgendaItem]:
    return [parse_item(s) for s in spec]


def test_agenda_items_and_numbers():
    outline = items("Backup", "Architecture", "- ArchCom", "- RFC [10m]", "Ops [1h]", "- HTTP/2")
    assert [i.level for i in outline] == [1, 1, 2, 2, 1, 2]
    assert outline[3] == AgendaItem(2, "RFC", 10)
    assert outline[4].duration_minutes == 60
    assert numbers(outline) == ["1", "2", "2.1", "2.2", "3", "3.1"]
    assert block_end(outline, 1) == 4 and block_end(outline, 2) == 4 and block_end(outline, 4) == 6
    assert parse_item("-dash title").title == "-dash title"  # no space: part of the title
    assert parse_item("Slide 24 [draft]").title == "Slide 24 [draft]"
    for bad in ["", "-", "   ", "x" * 201]:
        with pytest.raises(UserError):
            parse_item(bad)


def test_agenda_find_by_number_and_title():
    outline = items("Ops", "- Other successes and misses", "- Core", "Releng", "- Other successes and misses")
    assert find(outline, "2.1") == 4
    assert find(outline, "other successes and misses", current=0) == 1
    assert find(outline, "Other successes and misses", current=2) == 4
    assert find(outline, "releng") == 3
    assert find(outline, "cor") == 2
    with pytest.raises(UserError, match="matches several"):
        find(outline, "o")
    with pytest.raises(UserError, match="no section 7"):
        find(outline, "7")


def test_note_parsing():
    assert parse("Wes: Great rollout.").text == "Wes: Great rollout."
    reply = parse("> Zack: we will share findings")
    assert (reply.depth, reply.text) == (1, "Zack: we will share findings")
    assert parse(">> deeper").depth == 2
    action = parse("action Greg: file the task")
    assert (action.kind, action.owner, action.text) == ("action", "Greg", "Greg: file the task")
    assert parse("decision: ship it").kind == "decision"
    assert parse("decisions were hard").kind == "note"
    assert parse("actionable items").kind == "note"
    for bad in ["", "   ", "Katherine:", ">>>x", "action no owner"]:
        with pytest.raises(UserError):
            parse(bad)


def test_speakers_are_people_only():
    people = {"katherine", "wes", "robla"}.__contains__
    assert speaker_of("Katherine : that's what I find", people) == "Katherine"
    assert speaker_of("wes: api rate limits?", people) == "wes"
    assert speaker_of("Rob: Gerrit isn't gone yet", people) is None
    assert speaker_of("Background: Idea is to free up", people) is None
    assert speaker_of("@Zack: thanks", people) == "Zack"
    assert speaker_of("see https://example.org: it", people) is None


def test_slack_text_back_to_what_was_typed():
    names = {"U1": "Katherine Maher"}.get
    assert unescape("a &amp;lt; b &lt;c&gt;") == "a &lt; b <c>"
    assert to_plain("&lt;b&gt;hi&lt;/b&gt; &amp; <@U1>: ok", names) == "<b>hi</b> & @Katherine Maher: ok"
    assert to_plain("<@U2|zack> <#C1|general> <!here> <!subteam^S1|@ops>") == "@zack #general @here @ops"
    assert to_plain("see <https://x.org/a?b=1&amp;c=2>") == "see https://x.org/a?b=1&c=2"
    assert to_plain("<https://x.org|the slides>") == "the slides (https://x.org)"
    assert to_plain("<mailto:a@b.org|a@b.org>") == "a@b.org"


def test_settings_from_env_and_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=s\nPORT=4000\n")
    settings = load_settings({"PORT": "5000"}, dotenv)
    assert settings.mode == "http" and settings.port == 5000 and settings.slack_bot_token == "xoxb-from-file"
    assert "xoxb" not in repr(settings)
    assert load_settings({}, None).mode == "console"
    assert load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, None).mode == "socket"
    assert load_settings({"SLACK_API_URL": "http://127.0.0.1:9/api"}, None).slack_api_url.endswith("/api/")
    with pytest.raises(ConfigError, match="IANA"):
        load_settings({"REVIEWBOT_TIMEZONE": "Mars/Olympus"}, None)
    with pytest.raises(ConfigError, match="PORT"):
        load_settings({"PORT": "http"}, None)


def test_secrets_are_redacted_from_logs():
    line = "token xoxb-123-456-abc and xapp-1-A1-xyz at postgresql://bot:hunter2@db/reviewbot"
    assert redact(line) == "token xox?-*** and xox?-*** at postgresql://bot:***@db/reviewbot"
