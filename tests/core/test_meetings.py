"""The meeting core on a real database (SQLite and PostgreSQL): rules, rendering, concurrency."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError

from reviewbot.console import CHANNEL, WORKSPACE, Console
from reviewbot.core import Caller, notes
from reviewbot.core.groupcommit import Pending
from reviewbot.core.meetings.note_taking import NoteRequest
from reviewbot.core.minutes import MeetingRecord, SectionRecord, render_wikitext, time_fields
from reviewbot.runtime import build_runtime
from reviewbot.store.note_batches import _DriverStatement as DriverStatement
from reviewbot.store.note_batches import _run_together as run_together
from tests.support.minutes_structure import parse_wikitext
from tests.support.paths import ROOT

TILMAN = Caller(WORKSPACE, CHANNEL, "tilman", "tilman")


def run(console: Console, *lines: str) -> None:
    for line in lines:
        console.run_line(line)


def test_action_items_and_decisions_are_marked_and_collected(runtime, capsys):
    console = Console(runtime.commands)
    run(
        console,
        "/review agenda add Ops",
        "/review start Ops review",
        "/review present Greg, Wes",
        "/note action Greg: file the Gerrit task",
        "/note decision Move to Scap3 next quarter",
        "/note action @Wes: share the survey",
        "/note action greg: write the postmortem",
        "/review end",
    )
    wiki = capsys.readouterr().out.split(".wiki -----\n", 1)[1]
    assert "* '''Action:''' Greg: file the Gerrit task" in wiki
    assert "* '''Decision:''' Move to Scap3 next quarter" in wiki
    tail = wiki.split("== Action items ==", 1)[1]
    assert tail.splitlines()[1:7] == [
        "* Greg",
        "** file the Gerrit task",
        "** write the postmortem",
        "* Wes",
        "** share the survey",
        "",
    ]
    assert "== Decisions ==\n* Move to Scap3 next quarter" in tail


def test_minutes_without_actions_keep_the_seed_shape(runtime, capsys):
    console = Console(runtime.commands)
    run(console, "/review start Plain", "/note hello", "/review end")
    wiki = capsys.readouterr().out.split(".wiki -----\n", 1)[1]
    assert "Action items" not in wiki and "Decisions" not in wiki


def test_slides_and_markdown_export(runtime, capsys):
    console = Console(runtime.commands)
    run(
        console,
        "/review agenda add Intro",
        "/review slides https://example.org/deck.pdf",
        "/review start Q1 *review*",
        "/note Katherine: see [this] & that",
        "/review end",
    )
    wiki = capsys.readouterr().out
    assert "'''Slides''': [https://example.org/deck.pdf presentation slides]" in wiki
    run(console, "/review export last markdown")
    markdown = capsys.readouterr().out
    assert "## Intro" in markdown
    assert r"- Katherine: see \[this\] &amp; that" in markdown
    assert r"Q1 \*review\*" in markdown
    assert "**Slides**: <https://example.org/deck.pdf>" in markdown
    run(console, "/review slides javascript:alert(1)")
    assert "Give the slides as a web link" in capsys.readouterr().out


def test_sections_inserted_during_the_meeting(runtime):
    m = runtime.meetings
    console = Console(runtime.commands)
    run(console, "/review agenda add A", "/review agenda add - A1", "/review agenda add B", "/review start T")
    run(
        console,
        "/review section - A0",
        "/review section Between",
        "/review goto A1",
        "/review section - A2",
        "/review section After A",
    )
    view = m.meeting_view(TILMAN)
    assert [(s.number, s.title) for s in view.sections] == [
        ("1", "A"),
        ("1.1", "A0"),
        ("1.2", "A1"),
        ("1.3", "A2"),
        ("2", "After A"),
        ("3", "Between"),
        ("4", "B"),
    ]
    assert view.current.title == "After A"
    assert [s.planned for s in view.sections] == [True, False, True, False, False, False, True]


def test_agenda_remove_and_status(runtime, capsys):
    console = Console(runtime.commands)
    run(console, "/review agenda add A", "/review agenda add B", "/review agenda remove 1", "/review agenda")
    out = capsys.readouterr().out
    assert "Removed 1 *A*" in out and "1. B" in out
    run(console, "/review status", "/review start T", "/note x", "/review agenda remove B", "/review status")
    out = capsys.readouterr().out
    assert "being prepared" in out and "That is the current section" in out
    assert "running for 0 min" in out and "1 note so far; 1 section on the agenda" in out


def test_history_and_cli_export(runtime, capsys, database_url, tmp_path):
    console = Console(runtime.commands)
    run(console, "/review history")
    assert "No meeting has ended" in capsys.readouterr().out
    run(
        console,
        "/review start First",
        "/note one",
        "/review end",
        "/review start Second",
        "/note two",
        "/review end",
        "/review history",
        "/review export 99",
        "/review export 1 pdf",
    )
    out = capsys.readouterr().out
    assert "#2" in out and "#1" in out and out.index("#2 2016") < out.index("#1 2016")
    assert "No such meeting" in out
    assert "I can export as `wiki` or `markdown`, not “pdf”" in out
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "export", "1", "--format", "wiki"],
        capture_output=True,
        text=True,
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == runtime.commands.minutes_file(runtime.meetings.record(1)).content
    assert parse_wikitext(result.stdout).sections == []
    run(console, "/review agenda add Next time")  # meeting #3, not started: no minutes yet
    planned = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "export", "3"],
        capture_output=True,
        text=True,
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=60,
    )
    assert planned.returncode == 1 and planned.stdout == ""
    assert "Meeting #3 has not started yet" in planned.stderr


def test_concurrent_note_takers_lose_nothing_and_keep_order(runtime):
    console = Console(runtime.commands)
    run(console, "/review agenda add Only", "/review start Busy")
    takers, per_taker = 8, 25
    acknowledged: dict[str, list[str]] = {f"u{i}": [] for i in range(takers)}
    errors: list[str] = []

    def take_notes(user: str) -> None:
        caller = Caller(WORKSPACE, CHANNEL, user, user)
        for n in range(per_taker):
            reply = runtime.commands.handle("/note", f"{user} note {n}", caller)
            if reply.text.startswith("✓"):
                acknowledged[user].append(f"{user} note {n}")
            else:
                errors.append(reply.text)

    threads = [threading.Thread(target=take_notes, args=(u,)) for u in acknowledged]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = [n.text for n in runtime.meetings.record(1).all_notes()]
    assert len(stored) == takers * per_taker
    for user, taken in acknowledged.items():
        assert [s for s in stored if s.startswith(user + " ")] == taken


def test_a_batch_stores_every_field_as_typed(runtime):
    # One transaction of several notes, empty and filled optional fields side by side (on
    # PostgreSQL they travel as one array per column: store.note_batches). No agenda, so the
    # notes are outside any section.
    console = Console(runtime.commands)
    run(console, "/review present Heather", "/review start Arrays")
    lines = ["plain note", "Heather: the drill passed", "action @Ori: follow up", "> a reply", "decision ship it"]
    batch = [Pending(NoteRequest(TILMAN, notes.parse(line), None, None, time.monotonic())) for line in lines]
    runtime.meetings._write_notes(batch)
    assert [p.error for p in batch] == [None] * len(lines)
    views = [p.result for p in batch]
    assert [(v.seq, v.depth, v.kind, v.speaker, v.section) for v in views] == [
        (1, 0, "note", None, None),
        (2, 0, "note", "Heather", None),
        (3, 0, "action", "Ori", None),
        (4, 1, "note", None, None),
        (5, 0, "decision", None, None),
    ]
    stored = runtime.meetings.notes_of(views[0].meeting_id)
    assert [(n.id, n.seq, n.text, n.author_id) for n in stored] == [(v.id, v.seq, v.text, "tilman") for v in views]
    record = runtime.meetings.record(views[0].meeting_id)
    assert [n.owner for n in record.all_notes()] == [None, None, "Ori", None, None]


def test_driver_statements_run_in_the_transaction_and_fail_as_sqlalchemy_errors(runtime):
    # The note path's statements go straight to the driver's cursor (store.note_batches):
    # several at once share a round trip on PostgreSQL, and a driver error is SQLAlchemy's.
    ok = DriverStatement("SELECT :a, :b UNION ALL SELECT :b, :a")
    broken = DriverStatement("SELECT no_such_column FROM channels WHERE id = :a")
    with runtime.db.write() as session:
        connection = session.connection()
        assert run_together(connection, [(ok, {"a": 1, "b": 2}), (ok, {"a": 3, "b": 4})]) == [
            [(1, 2), (2, 1)],
            [(3, 4), (4, 3)],
        ]
    with pytest.raises(DBAPIError) as failure, runtime.db.engine.begin() as connection:
        run_together(connection, [(ok, {"a": 1, "b": 2}), (broken, {"a": 1})])
    assert "no_such_column" in str(failure.value)
    with runtime.db.read() as session:  # the connection went back to the pool in a usable state
        assert ok.rows(session.connection(), {"a": 5, "b": 6}) == [(5, 6), (6, 5)]


def test_authors_are_known_speakers_across_batches_and_processes(runtime, settings, clock):
    # "Name:" is a speaker when Name is an attendee or has written a note: the authors this process
    # writes are remembered as it writes them, and those another process wrote are read.
    console = Console(runtime.commands)
    run(console, "/review present Heather", "/review start Speakers")
    ori = Caller(WORKSPACE, CHANNEL, "ori", "Ori")
    gabriel = Caller(WORKSPACE, CHANNEL, "gabriel", "Gabriel")
    meetings = runtime.meetings
    assert meetings.add_note(ori, "Gabriel: not yet a person").speaker is None
    assert meetings.add_note(TILMAN, "Ori: an author by now").speaker == "Ori"
    other = build_runtime(settings, clock=clock, migrate=False)  # a second bot process
    try:
        other.meetings.add_note(gabriel, "written elsewhere")
    finally:
        other.close()
    assert meetings.add_note(TILMAN, "plain, between").speaker is None
    assert meetings.add_note(TILMAN, "Gabriel: known now").speaker == "Gabriel"
    assert meetings.add_note(ori, "Heather: an attendee").speaker == "Heather"


def test_a_new_meeting_in_the_channel_reads_its_authors_afresh(runtime, settings, clock):
    # The authors remembered for the channel's last meeting say nothing of the next one: its
    # authors are read from its first note, including one another process wrote.
    console = Console(runtime.commands)
    run(console, "/review start First")
    ori = Caller(WORKSPACE, CHANNEL, "ori", "Ori")
    for text in ("one", "two", "three", "Ori: read the people"):
        runtime.meetings.add_note(ori, text)
    run(console, "/review end", "/review start Second")
    other = build_runtime(settings, clock=clock, migrate=False)  # a second bot process
    try:
        other.meetings.add_note(Caller(WORKSPACE, CHANNEL, "gabriel", "Gabriel"), "written elsewhere")
    finally:
        other.close()
    assert runtime.meetings.add_note(TILMAN, "Gabriel: an author of this meeting").speaker == "Gabriel"


def test_time_window_formats():
    def record(start: tuple[int, int], end: tuple[int, int], zone: str = "America/Los_Angeles") -> dict[str, str]:
        return time_fields(
            MeetingRecord(
                title="x",
                timezone=zone,
                started_at=datetime(2016, 7, 14, *start, tzinfo=UTC),
                ended_at=datetime(2016, 7, 14, *end, tzinfo=UTC),
            )
        )

    seed = record((15, 0), (16, 30))
    assert (seed["date"], seed["start"], seed["end"], seed["tz"]) == ("July 14", "8:00", "9:30 AM", "PT")
    noon = record((18, 30), (20, 0))
    assert (noon["start"], noon["end"]) == ("11:30 AM", "1:00 PM")
    berlin = record((8, 0), (9, 0), "Europe/Berlin")
    assert (berlin["start"], berlin["end"], berlin["tz"]) == ("10:00", "11:00 AM", "CEST")


def test_empty_sections_and_headings_render():
    wiki = render_wikitext(
        MeetingRecord(
            title="T",
            timezone="UTC",
            started_at=datetime(2016, 7, 14, 15, tzinfo=UTC),
            sections=(SectionRecord("== Top =="), SectionRecord("Sub", 2)),
        )
    )
    assert "== &#61;&#61; Top &#61;&#61; ==\n\n=== Sub ===\n" in wiki
