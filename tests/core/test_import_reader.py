"""Reading minutes pages (reviewbot import): the fields, the notes, and the round trip to wikitext."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reviewbot.core.imports.reader import read_minutes
from reviewbot.core.minutes import MeetingRecord, NoteRecord, SectionRecord, render_markdown, render_wikitext
from tests.support.paths import EXAMPLES, ROOT
from tests.support.wiki_structure import headings, list_items

MESSY = sorted((ROOT / "tests" / "data" / "imports").glob("*.wiki"))
LA = "America/Los_Angeles"


def without_licence(path: Path) -> str:
    text = path.read_text()
    return text.split("-->\n", 1)[1] if text.startswith("<!--") else text


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.wiki")), ids=lambda p: p.stem)
def test_the_bots_own_drafts_come_back_line_for_line_from_their_fields(example):
    text = without_licence(example)
    page = read_minutes(text, page_title=example.stem, timezone=LA)
    assert page.record.header is None  # intro, attendance and slides re-made from the meeting's fields
    assert page.raw_lines == 0
    assert render_wikitext(page.record) == text


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.wiki")), ids=lambda p: p.stem)
def test_a_page_with_lines_of_its_own_on_top_keeps_them(example):
    text = example.read_text()  # with its licence comment
    page = read_minutes(text, page_title=example.stem, timezone=LA)
    assert page.record.header is not None and page.raw_lines >= 2
    assert render_wikitext(page.record) == text


def test_the_seed_is_read_into_its_fields():
    page = read_minutes(
        without_licence(EXAMPLES / "tech-ii-2016-07.wiki"), page_title="Tech II, July 2016", timezone=LA
    )
    record = page.record
    assert record.title.startswith("the Wikimedia Foundation's Technology II: Architecture")
    assert record.started_at == datetime(2016, 7, 14, 15, 20, tzinfo=UTC)  # 8:20 AM PT
    assert record.ended_at == datetime(2016, 7, 14, 16, 27, tzinfo=UTC)
    assert record.present[:2] == ("Heather", "Gabriel") and len(record.present) == 9
    assert record.remote[-1] == "Wes" and len(record.remote) == 9
    assert len(record.sections) == 35 and page.note_count == 98
    assert [s.level for s in record.sections[:3]] == [1, 1, 2]
    notes = [n for s in record.sections for n in s.notes]
    assert all(n.wikitext for n in notes)
    speakers = {n.speaker for n in notes}
    assert {"Katherine", "Wes", "Rob", "Greg"} <= speakers  # Rob opens two notes, though not on the attendance
    assert not {"Background", "Team size", "Malu"} & speakers


def test_actions_decisions_and_replies_as_the_bot_writes_them():
    page = read_minutes(without_licence(EXAMPLES / "search-platform-2026-q3.wiki"), timezone=LA)
    record = page.record
    assert record.slides_url == "https://example.org/search-q3-review.pdf"
    notes = [n for s in record.sections for n in s.notes]
    actions = [n for n in notes if n.kind == "action"]
    assert (actions[0].owner, actions[0].text) == ("Mei", "Mei: publish the cache hit rate on the team dashboard")
    assert [n.text for n in notes if n.kind == "decision"][1].startswith("Move bulk imports")
    assert [n.depth for n in notes[2:5]] == [0, 1, 2]
    assert "Action items" not in [s.title for s in record.sections]  # made again from the notes
    assert record.summaries


def test_a_hand_written_page_in_the_seeds_shape_comes_back_line_for_line():
    text = (ROOT / "tests" / "data" / "imports" / "fundraising-tech-2015-q4.wiki").read_text()
    page = read_minutes(text, page_title="Quarterly reviews/Fundraising Tech, April 2015", timezone=LA)
    assert page.record.header is None and page.record.title == "Fundraising Tech"
    assert page.record.started_at == datetime(2015, 4, 16, 21, 0, tzinfo=UTC)  # the year from the title
    assert not page.record.summaries  # it has actions but no closing lists: none are added
    assert render_wikitext(page.record) == text


@pytest.mark.parametrize("path", MESSY, ids=lambda p: p.stem)
def test_messy_pages_give_back_the_same_headings_and_list_items(path):
    text = path.read_text()
    page = read_minutes(text, page_title=f"Quarterly reviews/{path.stem}", timezone=LA)
    out = render_wikitext(page.record)
    assert headings(out) == headings(text)
    assert list_items(out) == list_items(text)
    # Nothing dropped: every non-blank line of the page is in the export.
    for line in text.splitlines():
        assert line.strip() in out.replace("== ", "==").replace(" ==", "==") or line.startswith("=")


def test_what_cannot_be_structured_is_kept_raw_in_its_place():
    page = read_minutes((ROOT / "tests/data/imports/mobile-2014-q3.wiki").read_text(), timezone=LA)
    record = page.record
    assert record.title == "the Wikimedia Foundation's Mobile Apps team"
    assert record.started_at == datetime(2014, 10, 3, 16, 30, tzinfo=UTC)  # 9:30 AM PDT
    assert record.present[0] == "Lila" and record.remote == ("Maryana", "Adam")
    assert record.slides_url.startswith("https://commons.wikimedia.org/")
    goals = record.sections[1]
    assert goals.notes[0].kind == "raw" and goals.notes[0].text.endswith("<br>Two were met.")
    assert [(n.marker, n.depth) for n in goals.notes if n.marker] == [(":", 0), ("::", 1), ("*# ", 1), ("*# ", 1)]
    table = record.sections[2].notes[0]
    assert table.kind == "raw" and table.text.startswith("{|") and table.text.endswith("|}")
    assert record.sections[-1].notes[-1].text == "; Decision: reading first"
    assert page.raw_lines >= 9


def test_year_from_the_first_revision_and_attendance_written_by_hand():
    text = (ROOT / "tests/data/imports/design-2015-01.wiki").read_text()
    first = datetime(2015, 1, 23, tzinfo=UTC)
    page = read_minutes(text, page_title="Design review", first_edited=first, timezone=LA)
    assert page.record.started_at.astimezone(UTC).date().isoformat() == "2015-01-21"
    assert page.record.present == ("May", "Jared", "Kaity", "Nirzar", "Lila", "Damon")
    # A page created early in January for a December meeting: the year before.
    late = read_minutes("Review of December 18.\n== A ==\n* x\n", first_edited=datetime(2016, 1, 4, tzinfo=UTC))
    assert late.record.started_at.year == 2015
    # A hand-written "Action items" section is the page's own: kept as a section, nothing added.
    assert page.record.sections[-1].title == "Action items" and not page.record.summaries


def test_a_page_without_headings_or_notes_is_not_minutes():
    assert not read_minutes("Just a paragraph.\n\nAnd another one.\n").is_minutes
    assert read_minutes("== Only a heading ==\n").is_minutes


def test_headings_without_spaces_at_every_level():
    page = read_minutes("=Top=\n==Two==\n* a\n===Three===\n====Four====\n#b\n")
    assert [(s.level, s.title) for s in page.record.sections] == [(0, "Top"), (1, "Two"), (2, "Three"), (3, "Four")]
    out = render_wikitext(page.record)
    assert headings(out) == [(1, "Top"), (2, "Two"), (3, "Three"), (4, "Four")]
    assert "\n#b\n" in out


def test_imported_wikitext_is_not_escaped_but_typed_text_still_is():
    page = read_minutes("== [[Link|Title]] ==\n* {{done}} [[Foo]] &amp; <br> '''bold'''\n")
    out = render_wikitext(page.record)
    assert "== [[Link|Title]] ==" in out and "* {{done}} [[Foo]] &amp; <br> '''bold'''" in out
    assert page.record.sections[0].wikitext


def test_a_typed_action_items_owner_is_escaped_once_in_each_format():
    """The closing list's owner: escaped for the wiki when typed, as it was when imported, and never
    wikitext-escaped in Markdown (it was shown there as ``A&amp;lt;b&amp;gt;``)."""
    typed = NoteRecord(text="A<b>: do it", kind="action", owner="A<b>")
    imported = NoteRecord(text="{{u|C}}: go", kind="action", owner="{{u|C}}", wikitext=True)
    record = MeetingRecord(
        title="T", timezone="UTC", started_at=None, ended_at=None, present=(), remote=(), slides_url=None,
        sections=(SectionRecord(title="S", notes=(typed, imported)),),
    )  # fmt: skip
    wiki = render_wikitext(record).split("== Action items ==\n", 1)[1]
    assert wiki.startswith("* A&lt;b&gt;\n** do it\n* {{u|C}}\n** go\n")
    assert "- A\\<b\\>\n  - do it\n" in render_markdown(record).split("## Action items", 1)[1]


def test_markdown_shows_imported_wikitext_as_the_text_it_reads_as():
    text = (
        "== [[Editing|Editing team]] ==\n* {{done}} '''[[User:Ann|Ann]]''': shipped <ref>see [[Foo]]</ref>\n"
        "* '''Action:''' Ann: write the [https://example.org post]\nA paragraph with ''emphasis''.\n\n"
        "== Action items ==\n* Ann\n** write the [https://example.org post]\n"
    )
    out = render_markdown(read_minutes(text).record)
    assert "## Editing team\n\n- Ann: shipped\n- **Action:** Ann: write the post\nA paragraph with emphasis\\.\n" in out
    assert "- Ann\n  - write the post\n" in out  # the closing action items


def test_a_linked_name_is_the_speaker_or_owner():
    """``[[User:Ann|Ann]]: ...``: the colon inside the link does not end the name."""
    text = (
        "'''Present (in the office)''': Ann\n\n== A ==\n* [[User:Ann|Ann]]: hello\n"
        "* '''Action:''' [[User:Ann|Ann]]: write it\n\n== Action items ==\n* [[User:Ann|Ann]]\n** write it\n"
    )
    record = read_minutes(text).record
    hello, action = record.sections[0].notes
    assert hello.speaker == "Ann" and action.owner == "[[User:Ann|Ann]]"
    assert record.summaries and len(record.sections) == 1  # the closing list is what the notes make
    assert render_wikitext(record).endswith(text.split("\n\n", 1)[1])


_FRAGMENTS = [
    "* ", "** ", "# ", ": ", "; ", "==", "===", " ==", "\n", "\n\n", "{{", "}}", "[[", "]]", "<ref>", "</ref>",
    "<!--", "-->", "{|", "|}", "'''", "Katherine: ", "'''Action:''' ", "'''Decision:''' ", "text ", "<br>",
    "July 14, 8:00 - 9:30 AM PT.", "Present: A, B", "'''Present (in the office)''': X", "&amp;", "\r\n", "\t",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
def test_any_wikitext_is_read_without_losing_a_list_item(seed):
    """Random wikitext fragments: never an error; the export has the page's list items, and reading
    the export again gives the export again."""
    import random

    rng = random.Random(seed)
    for _ in range(300):
        text = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 60)))
        out = render_wikitext(read_minutes(text).record)
        assert list_items(out) == list_items(text.replace("\r\n", "\n").rstrip("\n")), text
        assert render_wikitext(read_minutes(out).record) == out, text


def test_the_year_of_a_fiscal_quarter_and_bold_speakers():
    text = "Review of April 16, 2:00 - 3:00 PM PT.\n== A ==\n* '''Katie:''' one\n* '''Katie:''' two\n"
    page = read_minutes(text, page_title="Quarterly reviews/Fundraising, Q3 2014-15")
    assert page.record.started_at.year == 2015  # April of the fiscal year 2014-15
    assert read_minutes(text, page_title="Reviews/2016-03").record.started_at.year == 2016  # not a fiscal year
    assert {n.speaker for n in page.record.sections[0].notes} == {"Katie"}


def test_a_long_page_with_lines_that_belong_together_is_read_quickly():
    """Only the runs of lines that may hold a template, tag or comment spanning lines are parsed."""
    import time

    body = "\n".join(
        f"== S{s} ==\n" + "\n".join(f"* Person: note {n} [[Link]]" for n in range(100)) for s in range(100)
    )
    text = body.replace("== S5 ==", "== S5 ==\n* a note<ref>over\ntwo lines</ref>\n{{template\n|x=1}}")
    started = time.perf_counter()
    page = read_minutes(text)
    assert time.perf_counter() - started < 5  # a whole-page parse took about 6 s on the test machine
    assert page.note_count == 10_000 and page.raw_lines == 4  # two notes of two lines each, kept raw
    assert page.record.sections[5].notes[0].text == "* a note<ref>over\ntwo lines</ref>\n{{template\n|x=1}}"
