"""Searching notes on the database's own full-text search (SQLite FTS5, PostgreSQL tsvector).

Through the core (:class:`reviewbot.core.search.Search`) on a real database: words, phrases,
speakers, dates, kinds, edits and deletions reflected at once, and the privacy rule.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update

from reviewbot.core import Caller
from reviewbot.core.channels import ARCHIVE_CHANNEL, ARCHIVE_WORKSPACE
from reviewbot.core.context import UserError
from reviewbot.core.search import remember_privacy, results_text
from reviewbot.store.schema import Channel, Note

TEAM = "T1"
HERE = Caller(TEAM, "C1", "U1", "tilman")
PUBLIC = Caller(TEAM, "C2", "U1", "tilman")
SECRET = Caller(TEAM, "G3", "U1", "tilman")
ELSEWHERE = Caller("T2", "C9", "U1", "tilman")


def meeting(runtime, caller: Caller, title: str, *notes: str, present: str = "Katherine Maher, Wes") -> None:
    handle = runtime.commands.handle
    for line in ("agenda add Budget review", "agenda add Hiring plans"):
        assert "added" in handle("/review", line, caller).text.lower(), line
    handle("/review", f"present {present}", caller)
    handle("/review", f"start {title}", caller)
    for note in notes:
        if note == "next":
            handle("/review", "next", caller)
        else:
            handle("/note", note, caller)
    handle("/review", "end", caller)


def found(runtime, caller: Caller, query: str) -> list[str]:
    results = runtime.commands.search.find(caller, query)
    return ["".join(text for text, _ in result.segments) for result in results.results]


@pytest.fixture
def minutes(runtime, clock):
    meeting(
        runtime,
        HERE,
        "Tech Q1 review",
        "Katherine Maher: the budget for next quarter is approved",
        "Wes: we are hiring two engineers",
        "next",
        "action Wes: draft the hiring plans",
        "decision Freeze the budgets until July",
    )
    clock.advance(days=90)
    meeting(runtime, HERE, "Tech Q2 review", "Wes: state of the art caching cut the budget", "Katherine: no news")
    return runtime


def test_words_phrases_speakers_kinds(minutes):
    assert sorted(found(minutes, HERE, "budget")) == [
        "Freeze the budgets until July",
        "Katherine Maher: the budget for next quarter is approved",
        "Wes: state of the art caching cut the budget",
    ]
    assert found(minutes, HERE, '"next quarter"') == ["Katherine Maher: the budget for next quarter is approved"]
    assert found(minutes, HERE, '"quarter next"') == []
    # Very common words are left out, on both databases; a phrase keeps the others near each other.
    assert found(minutes, HERE, '"budget for next quarter"') == [
        "Katherine Maher: the budget for next quarter is approved"
    ]
    assert found(minutes, HERE, '"quarter for budget"') == [] or minutes.db.is_sqlite
    assert found(minutes, HERE, "“next quarter”") == ["Katherine Maher: the budget for next quarter is approved"]
    assert found(minutes, HERE, "budget speaker:Katherine") == [
        "Katherine Maher: the budget for next quarter is approved"
    ]
    assert found(minutes, HERE, 'speaker:"katherine maher"') == [
        "Katherine Maher: the budget for next quarter is approved"
    ]
    assert sorted(found(minutes, HERE, "speaker:wes")) == [
        "Wes: draft the hiring plans",
        "Wes: state of the art caching cut the budget",
        "Wes: we are hiring two engineers",
    ]
    assert found(minutes, HERE, "hiring is:action") == ["Wes: draft the hiring plans"]
    assert found(minutes, HERE, "budget is:decision") == ["Freeze the budgets until July"]
    assert sorted(found(minutes, HERE, "hiring is:action is:decision")) == ["Wes: draft the hiring plans"]
    assert len(found(minutes, HERE, "katherine")) == 2  # the speaker's name is searched too


def test_matched_words_are_marked_and_results_say_where(minutes):
    results = minutes.commands.search.find(HERE, "hiring engineers")
    (result,) = results.results
    assert [text for text, matched in result.segments if matched] == ["hiring", "engineers"]
    assert result.meeting_title == "Tech Q1 review"
    assert result.section == "Budget review"
    assert result.speaker == "Wes"
    assert str(result.meeting_date) == "2016-07-14"
    assert result.link is None  # neither published nor imported


def test_dates(minutes):
    assert sorted(found(minutes, HERE, "budget before:2016-08-01")) == [
        "Freeze the budgets until July",
        "Katherine Maher: the budget for next quarter is approved",
    ]
    assert found(minutes, HERE, "budget after:2016-10") == ["Wes: state of the art caching cut the budget"]
    assert found(minutes, HERE, "budget after:2016-07-14 before:2016-07-15") != []
    assert found(minutes, HERE, "budget after:2017") == []


def test_edits_and_deletions_are_reflected_at_once(minutes):
    (hit,) = minutes.commands.search.find(HERE, "engineers").results
    minutes.commands.edit_note(HERE, hit.note_id, "Wes: we are hiring two designers")
    assert found(minutes, HERE, "engineers") == []
    assert found(minutes, HERE, "designers") == ["Wes: we are hiring two designers"]
    minutes.commands.delete_note(HERE, hit.note_id)
    assert found(minutes, HERE, "designers") == []
    assert "Wes: draft the hiring plans" in found(minutes, HERE, "hiring")
    assert not any("designers" in note for note in found(minutes, HERE, "hiring"))


def test_deleted_notes_are_never_found_even_if_edited_after(minutes):
    (hit,) = minutes.commands.search.find(HERE, "caching").results
    with minutes.db.write() as session:  # soft-deleted, then changed behind the editor's back
        session.execute(update(Note).where(Note.id == hit.note_id).values(deleted_at=minutes.meetings.clock.now()))
    assert found(minutes, HERE, "caching") == []
    with minutes.db.write() as session:
        session.execute(update(Note).where(Note.id == hit.note_id).values(text="caching again"))
    assert found(minutes, HERE, "caching") == []
    with minutes.db.write() as session:
        session.execute(update(Note).where(Note.id == hit.note_id).values(deleted_at=None))
    assert found(minutes, HERE, "caching") == ["caching again"]


def test_privacy(runtime, clock):
    meeting(runtime, HERE, "Here", "Wes: the zebra budget")
    meeting(runtime, PUBLIC, "Public", "Wes: the zebra launch")
    meeting(runtime, SECRET, "Secret", "Wes: the zebra layoffs")
    meeting(runtime, ELSEWHERE, "Other workspace", "Wes: the zebra merger")
    # Nothing is known of the channels yet: every one counts as private.
    assert found(runtime, HERE, "zebra in:all") == ["Wes: the zebra budget"]
    remember_privacy(runtime.db, TEAM, "C2", False, clock.now())
    remember_privacy(runtime.db, TEAM, "G3", True, clock.now())
    remember_privacy(runtime.db, "T2", "C9", False, clock.now())
    assert found(runtime, HERE, "zebra") == ["Wes: the zebra budget"]
    assert sorted(found(runtime, HERE, "zebra in:all")) == ["Wes: the zebra budget", "Wes: the zebra launch"]
    assert found(runtime, PUBLIC, "zebra") == ["Wes: the zebra launch"]
    # HERE's privacy is unknown: from PUBLIC it is not found, even with in:all.
    assert found(runtime, PUBLIC, "zebra in:all") == ["Wes: the zebra launch"]
    # The private channel's minutes are found from there, and only from there.
    assert sorted(found(runtime, SECRET, "zebra in:all")) == ["Wes: the zebra launch", "Wes: the zebra layoffs"]
    assert "Wes: the zebra layoffs" not in found(runtime, PUBLIC, "zebra in:all")
    assert found(runtime, Caller(TEAM, "C7", "U1", "x"), "layoffs in:all") == []
    # A channel that turns private is no longer found from elsewhere.
    remember_privacy(runtime.db, TEAM, "C2", True, clock.now())
    assert found(runtime, HERE, "zebra in:all") == ["Wes: the zebra budget"]


def test_archive_channels_count_as_public(runtime, clock):
    archive = Caller(ARCHIVE_WORKSPACE, ARCHIVE_CHANNEL, "U1", "importer")
    meeting(runtime, archive, "Old review", "Wes: the zebra of 2013")
    assert found(runtime, HERE, "zebra") == []
    assert found(runtime, HERE, "zebra in:all") == ["Wes: the zebra of 2013"]


def test_paging(runtime):
    meeting(runtime, HERE, "Many", *[f"Wes: zebra number {i}" for i in range(23)])
    search = runtime.commands.search
    first = search.find(HERE, "zebra")
    assert len(first.results) == 10 and first.more
    third = search.find(HERE, "zebra", 20)
    assert len(third.results) == 3 and not third.more
    seen = {r.note_id for offset in (0, 10, 20) for r in search.find(HERE, "zebra", offset).results}
    assert len(seen) == 23


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "/review search <words>"),
        ("   ", "/review search <words>"),
        ("after:2016-13-01 budget", "not a date"),
        ("before:yesterday budget", "not a date"),
        ("is:question budget", "is:action"),
        ("in:general budget", "in:all"),
        ("speaker: budget", "needs a name"),
        ("!!! ...", "nothing to search for"),
        ('the "of the" is:action', "very common words"),
        ("budget after:2017 before:2016", "earlier date"),
    ],
)
def test_bad_searches_say_what_to_type(runtime, query, says):
    with pytest.raises(UserError, match=None) as error:
        runtime.commands.search.find(HERE, query)
    assert says in str(error.value)
    reply = runtime.commands.handle("/review", f"search {query}", HERE)
    assert not reply.public and says in reply.text


def test_nothing_found_says_so_and_suggests_in_all(minutes):
    reply = minutes.commands.handle("/review", "search zeppelin", HERE)
    assert "Nothing found" in reply.text and "in:all" in reply.text and not reply.public


def test_hostile_queries_are_only_words(minutes):
    for query in ['budget" OR "x', "budget' | 'x", "NEAR(budget x)", "budget*", "-budget", "budget:*", "(budget"]:
        assert minutes.commands.search.find(HERE, query) is not None
    assert found(minutes, HERE, "NEAR(quarter approved)") == []
    # The channel and kind the index holds for each note are not words anyone can find.
    with minutes.db.read() as session:
        pk = session.query(Channel).filter_by(channel_id="C1").one().id
    for query in (f"ch{pk}", f"ch#{pk}", f"scope:ch{pk}", "action", "k#action", "k_action", "decision"):
        assert found(minutes, HERE, query) == [], query


def test_published_minutes_link_to_the_section(minutes):
    from reviewbot.store.schema import Publication

    (hit,) = minutes.commands.search.find(HERE, "engineers").results
    with minutes.db.write() as session:
        session.add(Publication(
            meeting_id=hit.meeting_id, wiki="w", page_title="Tech Q1", revision_id=1,
            url="https://wiki.example/wiki/Tech_Q1", draft=False, published_at=minutes.meetings.clock.now(),
        ))  # fmt: skip
    (hit,) = minutes.commands.search.find(HERE, "engineers").results
    assert hit.link.url == "https://wiki.example/wiki/Tech_Q1#Budget_review"


def test_channel_privacy_is_remembered(runtime, clock):
    assert remember_privacy(runtime.db, TEAM, "C5", False, clock.now())
    assert not remember_privacy(runtime.db, TEAM, "C5", False, clock.now() + timedelta(seconds=1))
    with runtime.db.read() as session:
        assert session.query(Channel).filter_by(channel_id="C5").one().private is False


def test_the_index_follows_meetings_moved_and_deleted(runtime):
    from reviewbot.store.schema import Meeting

    meeting(runtime, HERE, "Moving", "Wes: zebra crossing")
    meeting(runtime, PUBLIC, "Staying", "Wes: zebra stripes")
    with runtime.db.write() as session:
        moving = session.query(Meeting).filter_by(title="Moving").one()
        public = session.query(Channel).filter_by(channel_id="C2").one()
        moving.channel_pk = public.id
    assert found(runtime, HERE, "zebra") == []
    assert sorted(found(runtime, PUBLIC, "zebra")) == ["Wes: zebra crossing", "Wes: zebra stripes"]
    with runtime.db.write() as session:
        session.delete(session.query(Meeting).filter_by(title="Moving").one())
    assert found(runtime, PUBLIC, "zebra") == ["Wes: zebra stripes"]
    check_index(runtime)


def test_the_index_stays_whole_through_edits_and_deletions(minutes):
    (hit,) = minutes.commands.search.find(HERE, "engineers").results
    minutes.commands.edit_note(HERE, hit.note_id, "Wes: hire two designers")
    assert found(minutes, HERE, "designers") == ["Wes: hire two designers"]
    check_index(minutes)
    minutes.commands.delete_note(HERE, hit.note_id)
    with minutes.db.write() as session:
        session.query(Note).filter(Note.text.like("%caching%")).delete(synchronize_session=False)
    assert found(minutes, HERE, "caching") == []
    check_index(minutes)


def check_index(runtime) -> None:
    """SQLite: FTS5's own check that the index matches its content (nothing missing or stale)."""
    if runtime.db.is_sqlite:
        with runtime.db.write() as session:
            session.execute(text("INSERT INTO notes_fts(notes_fts, rank) VALUES ('integrity-check', 1)"))


def test_command_line_search(runtime, database_url, tmp_path, clock):
    import subprocess
    import sys

    from tests.support.paths import ROOT

    meeting(runtime, HERE, "Here", "Wes: the zebra budget")
    meeting(runtime, PUBLIC, "Public", "Wes: the zebra launch")
    remember_privacy(runtime.db, TEAM, "C2", False, clock.now())

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "bot.py"), "search", *args], capture_output=True, text=True,
            env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}, cwd=tmp_path, timeout=60,
        )  # fmt: skip

    here = cli("zebra", "--channel", "C1")
    assert here.returncode == 0, here.stderr
    assert "*zebra* budget" in here.stdout and "launch" not in here.stdout
    assert "Here, July 14, 2016" in here.stdout
    everywhere = cli("zebra", "--channel", "C1", "--all")
    assert "*zebra* budget" in everywhere.stdout and "*zebra* launch" in everywhere.stdout
    nowhere = cli("zebra")  # no channel: the public channels only
    assert "launch" in nowhere.stdout and "budget" not in nowhere.stdout
    bad = cli("zebra", "after:someday", "--channel", "C1")
    assert bad.returncode == 1 and "not a date" in bad.stderr
    unknown = cli("zebra", "--channel", "C404")
    assert unknown.returncode == 1 and "C404 has no meetings" in unknown.stderr


def test_a_very_common_word_ranks_the_most_recent_matches(runtime, monkeypatch):
    from reviewbot.store import search as store_search

    meeting(runtime, HERE, "Old", *[f"Wes: zebra old {i}" for i in range(6)])
    meeting(runtime, HERE, "New", *[f"Wes: zebra zebra new {i}" for i in range(6)])
    monkeypatch.setattr(store_search, "RANKED", 4)
    monkeypatch.setattr("reviewbot.core.search.RANKED", 4)
    results = runtime.commands.search.find(HERE, "zebra")
    assert results.recent_only == 4 and "best of the 4 most recent matches" in results_text(results)
    assert len(results.results) == 4 and all("new" in "".join(t for t, _ in r.segments) for r in results.results)
    assert not results.more
    few = runtime.commands.search.find(HERE, "zebra old")  # six matches: the four most recent ranked
    assert few.recent_only == 4 and len(few.results) == 4
    assert runtime.commands.search.find(HERE, '"zebra old 1"').recent_only == 0
    # PostgreSQL's way for a great many matches: those among the newest ids (or, too few there, all).
    monkeypatch.setattr(store_search, "FEW_MATCHES", 0)
    many = runtime.commands.search.find(HERE, "zebra")
    assert 1 <= len(many.results) <= 10 and all("zebra" in "".join(t for t, _ in r.segments) for r in many.results)


def test_imported_minutes_are_found_with_a_link_to_their_wiki_section(runtime, clock):
    from reviewbot.core.imports.importer import Importer, ImportReport, Source
    from tests.support.paths import ROOT

    text = (ROOT / "tests" / "data" / "imports" / "design-2015-01.wiki").read_text()
    importer = Importer(runtime.db, runtime.commands.wording, "America/Los_Angeles", clock)
    page = Source(wiki="https://meta.example.org/w/api.php", page="Quarterly reviews/Design 2015-01", text=text)
    report = ImportReport()
    importer.import_one(page, (ARCHIVE_WORKSPACE, ARCHIVE_CHANNEL), report)
    assert report.line().startswith("imported 1 meeting")
    assert found(runtime, HERE, "usability") == []  # the archive is searched with in:all
    (hit,) = runtime.commands.search.find(HERE, "usability sessions in:all").results
    assert hit.section == "Design research"
    assert hit.link.url == (
        "https://meta.example.org/w/index.php?title=Quarterly_reviews/Design_2015-01#Design_research"
    )
    assert {text for text, matched in hit.segments if matched} == {"usability", "sessions"}
