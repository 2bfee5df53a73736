"""Property-based fuzzing of ``/note`` and ``/review`` text through the real HTTP app.

Text is built as Slack sends it: what people type, escaped (``&amp;`` ``&lt;`` ``&gt;``), mixed
with the ``<...>`` tokens Slack writes for mentions, channels, special mentions and links, plus
control characters, newlines and long strings. Every request must get a reply (never a 500) and,
afterwards, the wiki draft must be well-formed: one list item per stored note, each showing
exactly the note's text, and no template, link, tag or comment that nobody wrote on purpose.
"""

from __future__ import annotations

import html

import mwparserfromhell
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewbot.core.minutes import render_wikitext
from reviewbot.store.schema import Meeting, MeetingStatus, Note
from reviewbot.wikitext import normalize
from tests.support.slack_client import SlackPerson, SlackUser
from tests.support.slack_signing import slack_escape

EXAMPLES = 150

SLACK_TOKENS = [
    "<@U123>", "<@U2|bob>", "<@UNKNOWN>", "<#C1|general>", "<#C2>", "<!here>", "<!channel>", "<!everyone>",
    "<!subteam^S1|@leads>", "<!date^1392734382^{date_short}|Feb 18, 2014>", "<https://example.org|label>",
    "<https://example.org/a?b=c&amp;d=e>", "<mailto:a@example.org|a@example.org>", "<>", "<|>", "<@>",
]  # fmt: skip
TYPED = [
    "&", "<", ">", "&amp;", "&lt;b&gt;", "<b>bold</b>", "[[Main Page]]", "{{template}}", "{{{1}}}", "''", "'''",
    "~~~~", "----", "__TOC__", "== heading ==", "* item", "# item", ": indent", "; term", "|}", "{|", "<!--",
    "-->", "<nowiki>", "&nbsp;", "&#91;", "RFC 1234", "ISBN 978-3-16-148410-0", "http://example.org",
    "//example.org", "mailto:x@y.z", "Heather:", "action ", "decision ", ">", ">>", "undo", "\n", "\r\n", "\t",
    "\x00", "\x1b[31m", "\u2028", "\u200b", "\ufeff", "é", "漢字", "🙂", ":", " ",
]  # fmt: skip

fragment = st.one_of(
    st.sampled_from(SLACK_TOKENS),
    st.sampled_from(TYPED).map(slack_escape),
    st.text(max_size=12).map(slack_escape),
)
slack_text = st.one_of(
    st.lists(fragment, max_size=10).map("".join),
    st.text(min_size=3900, max_size=4300).map(slack_escape),
)
review_text = st.tuples(
    st.sampled_from(
        ["agenda add", "agenda add -", "agenda remove", "agenda", "section", "section -", "present", "remote",
         "goto", "next", "prev", "slides", "status", "start", "history", "export", "help", "bogus", ""]
    ),
    slack_text,
).map(lambda pair: f"{pair[0]} {pair[1]}")  # fmt: skip
command = st.one_of(
    st.tuples(st.just("/note"), slack_text),
    st.tuples(st.just("/note"), slack_text),
    st.tuples(st.just("/review"), review_text),
)


def test_fuzzed_commands_always_get_a_reply_and_the_draft_stays_well_formed(bot, fake_slack):
    ann = SlackUser(bot, fake_slack, "U1", "Ann")
    fake_slack.users["U2"] = {"name": "bob", "display_name": "Bob <&> [[b]]"}
    ann.ok("/review", "agenda add Opening")
    ann.ok("/review", "start Fuzzing & <friends>")

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(st.lists(command, min_size=1, max_size=3))
    def commands_are_answered(commands: list[tuple[str, str]]) -> None:
        for name, text in commands:
            status, reply = ann.command(name, text, escape=False)
            assert status == 200, (name, text, status, reply)
            if reply == "" and name == "/review" and opens_editor(text):
                continue  # answered with the agenda editor (a modal) instead of a message
            assert isinstance(reply, dict) and reply.get("text"), (name, text, reply)
            assert reply["response_type"] in ("ephemeral", "in_channel")

    commands_are_answered()

    with bot.runtime.db.read() as session:
        meeting = session.query(Meeting).filter(Meeting.status == MeetingStatus.RUNNING).one()
        meeting_id = meeting.id
    record = bot.runtime.meetings.record(meeting_id)
    notes = list(record.all_notes())
    draft = render_wikitext(record)
    assert_well_formed(draft, record.slides_url is not None)
    body = draft.split("\n== Action items ==\n")[0].split("\n== Decisions ==\n")[0]
    items = [line for line in body.splitlines() if line.startswith("*")]
    assert len(items) == len(notes)
    for line, note in zip(items, notes, strict=True):
        marker = {"action": "Action: ", "decision": "Decision: "}.get(note.kind, "")
        assert line.startswith("*" * (note.depth + 1) + " ")
        assert shown(line.lstrip("*").strip()) == marker + normalize(note.text), (line, note)


def opens_editor(slack_text: str) -> bool:
    """Whether ``/review <slack_text>`` opens the agenda editor rather than answering in text."""
    from reviewbot.slack import text as slack_format
    from reviewbot.slack.listeners.commands import EDITOR_TEXTS

    return " ".join(slack_format.to_plain(slack_text).lower().split()) in EDITOR_TEXTS


def shown(wikitext: str) -> str:
    """The text a wiki shows for one line of list-item wikitext."""
    code = mwparserfromhell.parse(wikitext)
    return html.unescape(code.strip_code(normalize=False, collapse=False)).strip()


def assert_well_formed(draft: str, has_slides: bool) -> None:
    """No markup in the draft except the headings, lists, bold labels and slides link we write."""
    code = mwparserfromhell.parse(draft)
    assert not code.filter_templates(), code.filter_templates()[:3]
    assert not code.filter_wikilinks(), code.filter_wikilinks()[:3]
    assert not code.filter_comments()
    assert not code.filter_arguments()
    links = code.filter_external_links()
    assert len(links) <= (1 if has_slides else 0), links[:3]
    for link in links:
        assert str(link).endswith(" presentation slides]"), link
    for tag in code.filter_tags():
        assert tag.wiki_markup, tag  # only list bullets and bold from our own markup, no HTML
    for line in draft.splitlines():
        assert line == line.strip() or line.startswith(("*", "=")), line


def _normalize_by_category(text: str) -> str:
    """normalize() as first defined: one Unicode category look-up per character."""
    import re
    import unicodedata

    def is_break(char: str) -> bool:
        return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in "\ufffe\uffff"

    text = re.sub(r"\s+", " ", "".join(" " if is_break(c) else c for c in text)).strip()
    return unicodedata.normalize("NFC", text)


@settings(max_examples=500, deadline=None, database=None)
@given(
    st.lists(
        st.one_of(
            st.characters(),
            st.sampled_from(["\ud800", "\udfff", "\ufffe", "\uffff", "\u2028", "\u2029", "\x85", "\x7f", "\x9f"]),
            st.characters(max_codepoint=0xFF),
        ),
        max_size=40,
    ).map("".join)
)
def test_normalize_drops_exactly_the_unicode_break_categories(text):
    assert normalize(text) == _normalize_by_category(text)


# -- scribe mode: message events, edits and deletions in any order -----------------------------

SCRIBE_EXAMPLES = 60
message_text = st.lists(
    st.one_of(fragment, st.sampled_from(["\n", "\n> ", "\n>> ", "\n// ", "\naction Wes: ", "\ndecision "])),
    max_size=8,
).map("".join)
message_event = st.tuples(
    st.sampled_from(["post", "post", "again", "edit", "edit", "delete", "thread"]),
    st.integers(min_value=0, max_value=4),  # which of five messages
    message_text,
)


def test_fuzzed_message_events_never_fail_duplicate_or_break_the_draft(bot, fake_slack):
    fake_slack.rate_limits = False  # about the notes, not pacing: hundreds of reactions at machine speed
    ann = SlackPerson(bot, fake_slack, "U1", "Ann")
    ann.ok("/review", "agenda add Opening")
    ann.ok("/review", "start Scribing & <friends>")
    ann.ok("/review", "scribe me")
    assert bot.slack.poster.wait_idle(10)
    thread = next(
        c.response["ts"]
        for c in fake_slack.calls_to("chat.postMessage")
        if "Opening" in c.args["text"] and c.args["blocks"][0]["type"] == "section"
    )

    @settings(max_examples=SCRIBE_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(st.lists(message_event, min_size=1, max_size=6))
    def events_are_answered(events: list[tuple[str, int, str]]) -> None:
        keys = [f"1700000{example_keys.__len__():03d}.00000{n}" for n in range(5)]
        example_keys.append(keys)
        for what, which, text in events:
            ts = keys[which]
            message = ann.message("", ts, thread if what == "thread" else None)
            message["text"] = text
            if what == "edit":
                status, _ = ann.event(
                    {
                        "type": "message",
                        "subtype": "message_changed",
                        "channel": "C0001",
                        "ts": ts,
                        "message": message,
                        "previous_message": message,
                    }
                )
            elif what == "delete":
                status, _ = ann.event(
                    {
                        "type": "message",
                        "subtype": "message_deleted",
                        "channel": "C0001",
                        "ts": ts,
                        "deleted_ts": ts,
                        "previous_message": message,
                    }
                )
            else:
                message["_event_id"] = f"Ev-{ts}"  # "again": the very event once more, as Slack retries
                status, _ = ann.event(message, retry=1 if what == "again" else 0)
            assert status == 200, (what, text, status)

    example_keys: list[list[str]] = []
    events_are_answered()

    with bot.runtime.db.read() as session:
        meeting_id = session.query(Meeting).filter(Meeting.status == MeetingStatus.RUNNING).one().id
        rows = session.query(Note.message_key, Note.message_line).filter(Note.message_key.is_not(None)).all()
    assert len(rows) == len(set(rows))  # never a second note for a line of a message
    record = bot.runtime.meetings.record(meeting_id)
    draft = render_wikitext(record)
    assert_well_formed(draft, record.slides_url is not None)
    body = draft.split("\n== Action items ==\n")[0].split("\n== Decisions ==\n")[0]
    assert len([line for line in body.splitlines() if line.startswith("*")]) == len(list(record.all_notes()))
