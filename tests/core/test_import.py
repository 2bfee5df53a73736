"""Storing imported minutes (reviewbot import), on SQLite and PostgreSQL: round trip, re-import, CLI."""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from reviewbot import cli
from reviewbot.console import CHANNEL, WORKSPACE, Console
from reviewbot.core import Caller
from reviewbot.core.followups import publish_report
from reviewbot.core.imports.importer import (
    ARCHIVE_CHANNEL,
    ARCHIVE_WORKSPACE,
    Importer,
    ImportReport,
    Source,
    wiki_source,
)
from reviewbot.import_command import run_import
from reviewbot.store.schema import Channel, Meeting, Note, NoteKind
from tests.support.fakewiki import FakeWiki
from tests.support.paths import EXAMPLES, ROOT
from tests.support.wiki_structure import headings, list_items

MESSY = ROOT / "tests" / "data" / "imports"


@pytest.fixture
def importer(runtime, clock):
    return Importer(runtime.db, runtime.commands.wording, "America/Los_Angeles", clock)


def export(runtime, meeting_id: int) -> str:
    return runtime.commands.minutes_file(runtime.meetings.record(meeting_id)).content


def source(path, page=None) -> Source:
    return Source(wiki="file", page=page or str(path), text=path.read_text(), title_hint=path.stem)


def test_import_then_export_gives_the_same_wikitext(runtime, importer):
    report = ImportReport()
    channel = importer.channel(None)
    paths = [*sorted(EXAMPLES.glob("*.wiki")), MESSY / "fundraising-tech-2015-q4.wiki"]
    ids = [importer.import_one(source(path), channel, report) for path in paths]
    for meeting_id, path in zip(ids, paths, strict=True):
        assert export(runtime, meeting_id) == path.read_text(), path.name
    assert report.line() == "imported 3 meetings, 124 notes, 6 lines kept as raw wikitext"
    with runtime.db.read() as session:
        meeting = session.get(Meeting, ids[1])
        assert meeting.status.value == "ended" and meeting.source_wiki == "file"
        archive = session.get(Channel, meeting.channel_pk)
        assert (archive.workspace_id, archive.channel_id, archive.private) == (
            ARCHIVE_WORKSPACE,
            ARCHIVE_CHANNEL,
            False,
        )
        actions = session.scalars(select(Note).where(Note.kind == NoteKind.ACTION)).all()
        assert actions and all(a.closed_at is not None for a in actions)  # history, not open work


@pytest.mark.parametrize("path", sorted(MESSY.glob("*.wiki")), ids=lambda p: p.stem)
def test_messy_pages_keep_headings_and_list_items_through_the_database(runtime, importer, path):
    meeting_id = importer.import_one(source(path), importer.channel(None), ImportReport())
    out = export(runtime, meeting_id)
    assert headings(out) == headings(path.read_text())
    assert list_items(out) == list_items(path.read_text())


def test_importing_again_updates_the_meeting_never_duplicates_it(runtime, importer):
    path = EXAMPLES / "search-platform-2026-q3.wiki"
    channel = importer.channel(None)
    first = importer.import_one(source(path, page="Reviews/Search"), channel, ImportReport())
    edited = path.read_text().replace("two met, one moved to Q4", "all three met")
    edited = edited.replace("== Open questions ==", "== Open questions ==\n* Dana: one more note")
    report = ImportReport()
    again = importer.import_one(replace(source(path, page="Reviews/Search"), text=edited, revision=7), channel, report)
    assert again == first
    assert report.line() == "imported 1 meeting (0 new, 1 updated), 19 notes, 2 lines kept as raw wikitext"
    assert export(runtime, first).split("-->\n", 1)[1] == edited.split("-->\n", 1)[1]
    with runtime.db.read() as session:
        assert session.scalar(select(func.count(Meeting.id))) == 1
        assert session.scalar(select(func.count(Note.id))) == 19
        assert session.get(Meeting, first).source_revision == 7


def test_an_undated_page_keeps_its_date_when_imported_again(runtime, importer, clock):
    page = Source(wiki="file", page="p", text="== A ==\n* a\n")
    meeting_id = importer.import_one(page, None, ImportReport())
    first = runtime.meetings.record(meeting_id).started_at
    clock.advance(days=3)
    importer.import_one(page, None, ImportReport())
    assert runtime.meetings.record(meeting_id).started_at == first


def test_a_page_that_is_not_minutes_is_skipped_and_reported(runtime, importer):
    report = ImportReport()
    bad = Source(wiki="file", page="Notes/Lunch", text="We had lunch.\n\nIt was good.\n")
    assert importer.import_one(bad, importer.channel(None), report) is None
    assert report.line().endswith("skipped 1 page: Notes/Lunch (no headings or notes)")
    with runtime.db.read() as session:
        assert session.scalar(select(func.count(Meeting.id))) == 0


def test_a_list_prefix_too_long_to_store_is_kept_raw(runtime, importer):
    """A prefix longer than notes.marker holds (PostgreSQL refused it; it cut trailing spaces)."""
    text = "== A ==\n" + "*#" * 20 + " deep\n:" + " " * 40 + "indented\n*: short\n"
    report = ImportReport()
    meeting_id = importer.import_one(Source(wiki="file", page="p", text=text), importer.channel(None), report)
    assert export(runtime, meeting_id) == text
    assert (report.notes, report.raw_lines) == (1, 2)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_page_imported_by_two_runs_at_once_is_one_meeting(runtime, importer, monkeypatch):
    """The second run to insert the page's meeting (unique source key) updates it instead."""
    from reviewbot.core.imports import importer as module

    page = Source(wiki="file", page="p", text="== A ==\n* a\n")
    other = Importer(runtime.db, runtime.commands.wording, "UTC", importer.clock)
    real = module.channel_row
    raced: list[int | None] = []

    def racing(session, caller, now):
        if not raced:  # after this run looked for the page's meeting, and before it inserts one
            raced.append(None)
            raced[0] = other.import_one(replace(page, text="== B ==\n* b\n"), ("archive", "archive"), ImportReport())
        return real(session, caller, now)

    monkeypatch.setattr(module, "channel_row", racing)
    report = ImportReport()
    assert importer.import_one(page, importer.channel(None), report) == raced[0]
    assert (report.created, report.updated) == (0, 1)
    assert export(runtime, raced[0]).startswith("== A ==\n* a\n")
    with runtime.db.read() as session:
        assert session.scalar(select(func.count(Meeting.id))) == 1


def test_a_blank_line_after_a_heading_comes_back(runtime, importer):
    """Kept as a raw note in its place (only the spaces inside ``==Foo==`` are not kept)."""
    text = "==Foo==\n\n* a\n\n\n== Bar ==\n\nA paragraph.\n* b\n"
    meeting_id = importer.import_one(Source(wiki="file", page="p", text=text), importer.channel(None), ImportReport())
    assert export(runtime, meeting_id) == "== Foo ==\n\n* a\n\n== Bar ==\n\nA paragraph.\n* b\n"


def test_importing_again_without_a_channel_leaves_the_meeting_in_its_channel(runtime, importer):
    """A private channel's imported meeting never moves to the public archive by a run without --channel."""
    page = Source(wiki="file", page="p", text="== Secret plans ==\n* x\n")
    meeting_id = importer.import_one(page, ("T1", "CPRIVATE"), ImportReport())
    assert importer.import_one(page, importer.channel(None), ImportReport()) == meeting_id
    with runtime.db.read() as session:
        channel = session.get(Channel, session.get(Meeting, meeting_id).channel_pk)
        assert (channel.workspace_id, channel.channel_id) == ("T1", "CPRIVATE")
    importer.import_one(page, (ARCHIVE_WORKSPACE, ARCHIVE_CHANNEL), ImportReport())  # said so: moved
    with runtime.db.read() as session:
        channel = session.get(Channel, session.get(Meeting, meeting_id).channel_pk)
        assert (channel.workspace_id, channel.channel_id, channel.private) == ("archive", "archive", False)


def test_meetings_attach_to_a_known_channel(runtime, importer):
    Console(runtime.commands).run_line("@tilman /review agenda add Something")  # the console channel exists now
    assert importer.channel(CHANNEL) == (WORKSPACE, CHANNEL)
    assert importer.channel("C999", "T1") == ("T1", "C999")
    with pytest.raises(Exception, match="not known yet"):
        importer.channel("C404")
    meeting_id = importer.import_one(source(EXAMPLES / "tech-ii-2016-07.wiki"), (WORKSPACE, CHANNEL), ImportReport())
    history = runtime.meetings.history(Caller(WORKSPACE, CHANNEL, "tilman", "tilman"))
    assert [m.id for m in history] == [meeting_id]
    assert ARCHIVE_WORKSPACE == "archive"


def test_a_person_editing_an_imported_note_is_escaped_again(runtime, importer):
    """An edit (through NoteEditor, as from Slack) makes the note typed text: escaped from then on."""
    page = Source(wiki="file", page="p", text="== A ==\n* [[Foo]] said hi\nA paragraph.\n")
    meeting_id = importer.import_one(page, importer.channel(None), ImportReport())
    with runtime.db.read() as session:
        note_ids = session.scalars(select(Note.id).where(Note.meeting_id == meeting_id).order_by(Note.seq)).all()
    # Only its author or a chair may edit a note: for an imported one, the import itself.
    editor = Caller(ARCHIVE_WORKSPACE, ARCHIVE_CHANNEL, "import", "import")
    runtime.commands.editor.edit(editor, note_ids[0], "[[Category:Spam]]")
    runtime.commands.editor.edit(editor, note_ids[1], "{{Delete}} <b>x</b>")
    out = export(runtime, meeting_id)
    assert "* &#91;&#91;Category:Spam&#93;&#93;\n* &#123;&#123;Delete&#125;&#125; &lt;b&gt;x&lt;/b&gt;\n" in out
    with pytest.raises(Exception, match="Only import, who took this note, or a chair"):
        runtime.commands.editor.edit(Caller(ARCHIVE_WORKSPACE, ARCHIVE_CHANNEL, "U1", "Eve"), note_ids[0], "x")


def _args(**kwargs) -> argparse.Namespace:
    values = {"file": None, "wiki": None, "wiki_prefix": None, "channel": None, "workspace": None}
    return argparse.Namespace(**{**values, **kwargs})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_import_and_export(database_url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    path = EXAMPLES / "tech-ii-2016-07.wiki"
    assert cli.main(["import", str(path)]) == 0
    assert "imported 1 meeting, 98 notes, 4 lines kept as raw wikitext" in capsys.readouterr().out
    assert cli.main(["export", "1"]) == 0
    assert capsys.readouterr().out == path.read_text()
    monkeypatch.setattr("sys.stdin", open(MESSY / "design-2015-01.wiki"))  # noqa: SIM115
    assert cli.main(["import", "-"]) == 0
    assert "meeting #2: (standard input) Imported minutes 2026-01-21 (10 notes)" in capsys.readouterr().out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_errors_are_one_sentence_and_an_exit_code(database_url, monkeypatch, capsys, tmp_path, settings):
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("WIKI_API_URL", "WIKI_USERNAME", "WIKI_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["import", "missing.wiki"]) == 1
    assert capsys.readouterr().err == "reviewbot: no such file: missing.wiki\n"
    assert cli.main(["import", "--wiki", "Some page"]) == 2
    assert "the wiki is not set up" in capsys.readouterr().err
    wiki = FakeWiki()
    assert run_import(_args(wiki="No such page"), settings, wiki=wiki) == 1
    assert capsys.readouterr().err == "reviewbot: there is no wiki page “No such page”\n"
    assert run_import(_args(wiki_prefix="Nothing/"), settings, wiki=wiki) == 1
    assert "no wiki page starts with" in capsys.readouterr().err
    assert run_import(_args(file=str(EXAMPLES / "tech-ii-2016-07.wiki"), channel="C404"), settings) == 1
    assert "Channel C404 is not known yet" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_bad_input_is_one_line_never_a_traceback(database_url, monkeypatch, capsys, tmp_path, settings):
    """Empty, binary, not UTF-8, a directory, standard input that is no text: one line each."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.wiki").write_text("")
    (tmp_path / "latin1.wiki").write_bytes("== Caf\xe9 ==\n* x\n".encode("latin-1"))
    (tmp_path / "nul.wiki").write_bytes(b"== A ==\n* x\0y\n")
    (tmp_path / "text.wiki").write_text("Only a paragraph.\n")

    def run(**kwargs) -> tuple[int, str, str]:
        code = run_import(_args(**kwargs), settings)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert run(file="empty.wiki")[:2] == (1, f"imported 0 meetings, 0 notes, 0 lines kept as raw wikitext; "
                                             f"skipped 1 page: {tmp_path / 'empty.wiki'} (empty)\n")  # fmt: skip
    assert run(file="latin1.wiki") == (1, "", "reviewbot: latin1.wiki is not UTF-8 text (byte 6 is not): "
                                              "wikitext is expected\n")  # fmt: skip
    assert run(file="nul.wiki")[1].endswith("nul.wiki (not wikitext: it holds NUL characters)\n")
    assert run(file="text.wiki")[1].endswith("text.wiki (no headings or notes)\n")
    assert run(file=str(tmp_path)) == (1, "", f"reviewbot: cannot read {tmp_path}: Is a directory\n")
    assert run(file="empty.wiki", workspace="T1")[2] == (
        "reviewbot: --workspace goes with --channel: it names the channel's workspace\n"
    )
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in (("WIKI_API_URL", "wiki.example.org"), ("WIKI_USERNAME", "a"), ("WIKI_PASSWORD", "b")):
        monkeypatch.setenv(name, value)
    assert cli.main(["import", "text.wiki"]) == 2  # the runtime's wiki client refuses the address
    assert capsys.readouterr().err == (
        "reviewbot: WIKI_API_URL must be the wiki's api.php address, not 'wiki.example.org'\n"
    )
    bad_url = replace(settings, wiki_api_url="wiki.example.org")
    assert run_import(_args(wiki="Some page"), bad_url) == 2
    assert capsys.readouterr().err == (
        "reviewbot: WIKI_API_URL must be the wiki's api.php address, not 'wiki.example.org'\n"
    )
    monkeypatch.setattr("sys.stdin", open(tmp_path / "latin1.wiki"))  # noqa: SIM115
    assert run(file="-")[2] == "reviewbot: standard input is not UTF-8 text (byte 6 is not): wikitext is expected\n"
    with runtime_db(settings) as db, db.read() as session:
        assert session.scalar(select(func.count(Meeting.id))) == 0


def test_undated_pages_from_standard_input_do_not_replace_each_other(runtime, settings, monkeypatch, capsys, tmp_path):
    for name, text in (("a", "== A ==\n* one\n"), ("b", "== B ==\n* two\n"), ("a2", "== A ==\n* one\n")):
        (tmp_path / name).write_text(text)
        monkeypatch.setattr("sys.stdin", open(tmp_path / name))  # noqa: SIM115
        assert run_import(_args(file="-"), settings) == 0
    out = capsys.readouterr().out
    assert out.count("meeting #1: (standard input) Imported minutes #") == 2 and "meeting #2:" in out
    assert "(1 note)" in out
    with runtime.db.read() as session:
        assert session.scalar(select(func.count(Meeting.id))) == 2


def test_cli_imports_a_prefix_from_a_wiki(runtime, settings, capsys):
    wiki = FakeWiki()
    wiki.someone_edits("Reviews/Tech II, July 2016", (EXAMPLES / "tech-ii-2016-07.wiki").read_text())
    wiki.someone_edits("Reviews/Design", (MESSY / "design-2015-01.wiki").read_text())
    wiki.someone_edits("Reviews/Lunch", "Just lunch.")
    wiki.someone_edits("Elsewhere", "== X ==\n* y\n")
    assert run_import(_args(wiki_prefix="Reviews/"), settings, wiki=wiki) == 0
    out = capsys.readouterr().out
    assert "imported 2 meetings, 108 notes" in out and "skipped 1 page: Reviews/Lunch" in out
    assert run_import(_args(wiki_prefix="Reviews/"), settings, wiki=wiki) == 0
    assert "imported 2 meetings (0 new, 2 updated)" in capsys.readouterr().out
    with runtime.db.read() as session:
        assert session.scalar(select(func.count(Meeting.id))) == 2
        assert {m.source_wiki for m in session.scalars(select(Meeting))} == {FakeWiki.name}


@contextmanager
def runtime_db(settings):
    from reviewbot.runtime import build_runtime

    rt = build_runtime(settings)
    try:
        yield rt.db
    finally:
        rt.close()


def test_a_page_gone_since_the_prefix_was_listed_is_reported(runtime, settings, capsys):
    class Racing(FakeWiki):
        def titles_with_prefix(self, prefix):
            return [*super().titles_with_prefix(prefix), "Reviews/Deleted"]

    wiki = Racing()
    wiki.someone_edits("Reviews/A", "== A ==\n* a\n")
    assert run_import(_args(wiki_prefix="Reviews/"), settings, wiki=wiki) == 0
    assert capsys.readouterr().out.endswith(
        "imported 1 meeting, 1 note, 0 lines kept as raw wikitext; "
        "skipped 1 page: Reviews/Deleted (no such page: gone since it was listed)\n"
    )


def big_page(sections: int = 100, notes_per_section: int = 50) -> str:
    lines = ["Notes from the Quarterly Review meeting with Everyone, July 14, 8:00 - 9:30 AM PT.", ""]
    for s in range(sections):
        lines.append(f"== Section {s} ==")
        for n in range(notes_per_section):
            lines.append(("*" * (1 + n % 3)) + f" Person{n % 7}: point {n} about [[Topic {s}]] and {{{{tmpl|{n}}}}}")
        lines.append("")
    return "\n".join(lines)


def test_import_rate_of_a_big_page(runtime, importer, request):
    page = Source(wiki="file", page="big", text=big_page())
    started = time.perf_counter()
    report = ImportReport()
    importer.import_one(page, importer.channel(None), report)
    seconds = time.perf_counter() - started
    assert report.notes == 5000
    rate = report.notes / seconds
    print(f"\nimport rate ({request.node.callspec.id}): {rate:,.0f} notes/s ({report.notes} notes in {seconds:.2f} s)")
    assert rate > 200  # a floor only: the machine is shared; the figure is printed (-s)


def test_pages_reviewbot_published_or_drafted_are_not_imported_again(wiki_runtime):
    runtime, wiki, clock = wiki_runtime
    console = Console(runtime.commands, publisher=runtime.publisher)
    for line in ["/review agenda add Backup Datacenter", "/review start Tech II", "/note Katherine: hi", "/review end"]:
        console.run_line("@tilman " + line)
    wiki.someone_edits("Reviews/Tech II, July 2016/reviewbot draft", "== A ==\n* b\n")
    importer = Importer(runtime.db, runtime.commands.wording, "America/Los_Angeles", clock)
    report = ImportReport()
    for title in ["Reviews/Tech II, July 2016", "Reviews/Tech II, July 2016/reviewbot draft"]:
        importer.import_one(wiki_source(wiki, title), importer.channel(None), report)
    assert report.line() == (
        "imported 0 meetings, 0 notes, 0 lines kept as raw wikitext; skipped 2 pages: "
        "Reviews/Tech II, July 2016 (the minutes of meeting #1, published by reviewbot); "
        "Reviews/Tech II, July 2016/reviewbot draft (a draft of reviewbot's)"
    )


@pytest.fixture
def wiki_runtime(settings, clock):
    from reviewbot.runtime import build_runtime

    wiki = FakeWiki()
    rt = build_runtime(replace(settings, wiki_page_title="Reviews/{title}, {month} {year}"), clock=clock, wiki=wiki)
    yield rt, wiki, clock
    rt.close()


def test_a_meeting_imported_from_the_wiki_is_not_published_to_it_again(wiki_runtime):
    """It would be a second copy of the page (or a draft subpage of it); a file's import may be published."""
    runtime, wiki, clock = wiki_runtime
    wiki.someone_edits("Old reviews/Tech II", (EXAMPLES / "tech-ii-2016-07.wiki").read_text())
    importer = Importer(runtime.db, runtime.commands.wording, "America/Los_Angeles", clock)
    from_wiki = importer.import_one(wiki_source(wiki, "Old reviews/Tech II"), None, ImportReport())
    from_file = importer.import_one(source(MESSY / "design-2015-01.wiki"), None, ImportReport())
    pages = dict(wiki.pages)
    assert publish_report(runtime.publisher, from_wiki, "U1").text == (
        f"Meeting #{from_wiki} was imported from the wiki page “Old reviews/Tech II”: its minutes are there already."
    )
    assert wiki.pages == pages
    assert publish_report(runtime.publisher, from_file, "U1").text.startswith("📘 Minutes published to the wiki")


def test_a_wiki_error_midway_keeps_what_was_imported_and_says_so(runtime, settings, capsys):
    from reviewbot.core.publishing import WikiError

    class FailingWiki(FakeWiki):
        def read_page(self, title, dated=True):
            if title.endswith("B"):
                raise WikiError("could not reach the wiki at wiki.example (ConnectionError)")
            return super().read_page(title, dated)

    wiki = FailingWiki()
    wiki.someone_edits("Reviews/A", "== A ==\n* a\n")
    wiki.someone_edits("Reviews/B", "== B ==\n* b\n")
    assert run_import(_args(wiki_prefix="Reviews/"), settings, wiki=wiki) == 1
    captured = capsys.readouterr()
    assert "imported 1 meeting, 1 note, 0 lines kept as raw wikitext, before this error:" in captured.out
    assert captured.err == "reviewbot: could not reach the wiki at wiki.example (ConnectionError)\n"
    with runtime.db.read() as session:
        assert session.scalar(select(func.count(Meeting.id))) == 1
