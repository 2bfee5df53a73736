"""Core rules behind the Slack facilitation: chairs, note edits with history, the agenda outline,
adding a message to a section, a person's meetings;"""

from __future__ import annotations

import io

import pytest

from reviewbot.console import Console
from reviewbot.core import Caller, UserError
from reviewbot.core.agenda import AgendaItem, outline, parse_outline
from reviewbot.core.commands import CommandHandler
from reviewbot.core.roles import NotAllowed


def who(user: str, channel: str = "C1") -> Caller:
    return Caller("T1", channel, user, user.capitalize())


TILMAN, ANN, BOB = who("tilman"), who("ann"), who("bob")


def prepared(runtime, titles: str = "Backup Datacenter\nArchitecture\n- Document RFC") -> None:
    runtime.meetings.replace_agenda(TILMAN, parse_outline(titles))


def test_whoever_starts_chairs_and_only_chairs_run_the_meeting(runtime):
    meetings = runtime.meetings
    meetings.add_agenda_item(ANN, AgendaItem(1, "Prepared by anyone"))  # planned: anyone may
    prepared(runtime, "Prepared by anyone\nArchitecture")
    view = meetings.start(TILMAN, "Tech II")
    assert view.chairs == ("Tilman",)
    for attempt in (
        lambda: meetings.move(ANN, "next"),
        lambda: meetings.end(ANN),
        lambda: meetings.insert_section(ANN, AgendaItem(1, "X")),
        lambda: meetings.add_agenda_item(ANN, AgendaItem(1, "X")),
        lambda: meetings.remove_agenda_item(ANN, "2"),
        lambda: meetings.replace_agenda(ANN, []),
        lambda: meetings.editable_agenda(ANN),
        lambda: meetings.add_chairs(ANN, [("ann", "Ann")]),
    ):
        with pytest.raises(NotAllowed, match=r"Only the meeting's chairs \(Tilman\) can"):
            attempt()
    meetings.add_note(ANN, "everyone can note")
    added, view = meetings.add_chairs(TILMAN, [("ann", "Ann"), ("tilman", "Tilman")])
    assert added == ["Ann"] and view.chairs == ("Tilman", "Ann")
    assert meetings.move(ANN, "next").title == "Architecture"
    meetings.end(ANN)
    with pytest.raises(UserError, match="Chairs belong to a running meeting"):
        meetings.add_chairs(TILMAN, [("bob", "Bob")])


def test_note_edits_and_deletions_keep_their_history(runtime):
    meetings, editor = runtime.meetings, runtime.commands.editor
    prepared(runtime)
    meetings.start(TILMAN, "Tech II")
    meetings.set_attendance(TILMAN, ["Katherine"], remote=False)
    note = meetings.add_note(ANN, "Katherin: thanks")
    action = meetings.add_note(BOB, "action Rob: write it")
    assert note.speaker is None and action.author_name == "Bob"

    with pytest.raises(NotAllowed, match="Only Ann, who took this note, or a chair"):
        editor.edit(BOB, note.id, "hijacked")
    assert editor.editable(ANN, note.id).text == "Katherin: thanks"
    edited = editor.edit(ANN, note.id, "  Katherine: thanks ")
    assert (edited.text, edited.speaker, edited.revised_by) == ("Katherine: thanks", "Katherine", "Ann")
    assert editor.edit(ANN, note.id, "Katherine: thanks") == edited  # unchanged: no new revision
    with pytest.raises(UserError, match="starts with its owner"):
        editor.edit(TILMAN, action.id, "nobody owns this")
    editor.edit(TILMAN, action.id, "Greg: write it")  # a chair may edit anyone's note
    with pytest.raises(UserError, match="can't be empty"):
        editor.edit(ANN, note.id, "   ")
    with pytest.raises(UserError, match="another channel"):
        editor.edit(who("ann", "C2"), note.id, "elsewhere")
    deleted = editor.delete(ANN, note.id)
    assert deleted.deleted
    with pytest.raises(UserError, match="already deleted"):
        editor.delete(TILMAN, note.id)
    third = meetings.add_note(BOB, "oops")
    CommandHandler(meetings).editor.undo_last(BOB)

    history = [(r.action, r.editor_id, r.before, r.after) for r in editor.history(note.id)]
    assert history == [
        ("edit", "ann", "Katherin: thanks", "Katherine: thanks"),
        ("delete", "ann", "Katherine: thanks", None),
    ]
    assert [(r.action, r.before) for r in editor.history(third.id)] == [("delete", "oops")]
    record = meetings.record(meetings.end(TILMAN).id)
    notes = [(n.text, n.owner) for n in record.all_notes()]
    assert notes == [("Greg: write it", "Greg")]
    # After the meeting ends its notes can still be corrected, so the draft can be fixed.
    editor.edit(BOB, action.id, "Greg: write it by Friday")
    assert [n.text for n in meetings.record(record.meeting_id).all_notes()] == ["Greg: write it by Friday"]


def test_outline_round_trip_and_mistakes_by_line():
    text = "Backup Datacenter [10m]\n\nArchitecture\n  - Document RFC [1h]\n- Fellowships"
    items = parse_outline(text)
    assert items == [
        AgendaItem(1, "Backup Datacenter", 10),
        AgendaItem(1, "Architecture"),
        AgendaItem(2, "Document RFC", 60),
        AgendaItem(2, "Fellowships"),
    ]
    assert outline(items) == "Backup Datacenter [10m]\nArchitecture\n- Document RFC [60m]\n- Fellowships"
    assert parse_outline(outline(items)) == items
    assert parse_outline("  \n") == []
    with pytest.raises(UserError, match=r"^Line 1: a subsection"):
        parse_outline("- first")
    with pytest.raises(UserError, match=r"^Line 3: Give the section a title"):
        parse_outline("A\nB\n-   ")
    with pytest.raises(UserError, match="at most 100 sections"):
        parse_outline("\n".join(f"S{n}" for n in range(101)))


def test_replacing_the_agenda_keeps_sections_with_notes(runtime):
    meetings = runtime.meetings
    prepared(runtime)
    before = {s.title: s.id for s in meetings.meeting_view(TILMAN).sections}
    meetings.start(TILMAN, "Tech II")
    meetings.add_note(TILMAN, "in backup")
    meetings.move(TILMAN, "goto", "Architecture")
    view = meetings.replace_agenda(TILMAN, parse_outline("architecture [5m]\n- Backup Datacenter\nNew one"))
    got = [(s.number, s.title, s.level, s.duration_minutes, s.current) for s in view.sections]
    assert got == [
        ("1", "architecture", 1, 5, True),
        ("1.1", "Backup Datacenter", 2, None, False),
        ("2", "New one", 1, None, False),
    ]
    after = {s.title: s.id for s in view.sections}
    assert after["Backup Datacenter"] == before["Backup Datacenter"]  # same section, notes kept
    assert after["architecture"] == before["Architecture"]
    assert view.sections[1].note_count == 1
    with pytest.raises(UserError, match="“Backup Datacenter” already has notes"):
        meetings.replace_agenda(TILMAN, parse_outline("Architecture"))
    with pytest.raises(UserError, match="“architecture” is the current section"):
        meetings.replace_agenda(TILMAN, parse_outline("Backup Datacenter"))


def test_a_message_is_added_to_its_threads_section(runtime):
    meetings = runtime.meetings
    prepared(runtime)
    meetings.start(TILMAN, "Tech II")
    first = meetings.meeting_view(TILMAN).sections[0]
    meetings.move(TILMAN, "next")
    note = meetings.add_note(ANN, "action > it: is what was said", speaker="@Katherine", section_id=first.id)
    assert (note.section.title, note.speaker, note.text, note.kind, note.depth) == (
        "Backup Datacenter",
        "Katherine",
        "Katherine: action > it: is what was said",
        "note",
        0,
    )
    elsewhere = meetings.add_note(ANN, "unknown section", speaker="K", section_id=999_999)
    assert elsewhere.section.title == "Architecture"
    with pytest.raises(UserError, match="no text"):
        meetings.add_note(ANN, "  ", speaker="K")


def test_a_persons_meetings(runtime):
    meetings = runtime.meetings
    prepared(runtime)
    meetings.start(TILMAN, "First")
    meetings.add_note(ANN, "ann was here")
    meetings.end(TILMAN)
    meetings.add_agenda_item(TILMAN, AgendaItem(1, "Next time"))
    meetings.add_agenda_item(who("zed", "C9"), AgendaItem(1, "Not Ann's channel"))
    upcoming, recent = meetings.for_user("T1", "ann")
    assert [(m.channel_id, m.status.value, len(m.sections)) for m in upcoming] == [("C1", "planned", 1)]
    assert [(m.title, m.note_count, m.channel_id) for m in recent] == [("First", 1, "C1")]
    assert meetings.for_user("T2", "ann") == ([], [])
    assert [m.channel_id for m in meetings.for_user("T1", "zed")[0]] == ["C9"]


def test_console_chairs_by_at_name_and_still_prints_the_agenda(runtime):
    out = io.StringIO()
    console = Console(runtime.commands, out=out, user="tilman")
    for line in [
        "/review agenda add Backup Datacenter",
        "/review agenda add Architecture",
        "/review agenda",
        "/review start Tech II",
        "@ann /review next",
        "/review chair @ann",
        "@ann /review next",
    ]:
        console.run_line(line)
    text = out.getvalue()
    assert "1. Backup Datacenter" in text and "2. Architecture" in text
    assert "Only the meeting's chairs (tilman) can move between sections" in text
    assert "tilman made ann a chair. Chairs: tilman, ann." in text
    assert "Now at *2 Architecture*" in text


def test_chair_command_needs_real_mentions(runtime):
    commands = runtime.commands
    commands.handle("/review", "start Tech II", TILMAN)
    reply = commands.handle("/review", "chair @Ann Lee and @Ann", TILMAN, {"Ann": "ann", "Ann Lee": "annlee"})
    assert reply.public and "made Ann Lee, Ann chairs" in reply.text, reply.text
    assert runtime.meetings.meeting_view(TILMAN).chairs == ("Tilman", "Ann Lee", "Ann")
    assert "could not tell who “Bob”" in commands.handle("/review", "chair @Ann, Bob", TILMAN, {"Ann": "ann"}).text
    assert "already chair" in commands.handle("/review", "chair @Ann", TILMAN, {"Ann": "ann"}).text
    assert commands.handle("/review", "chair", ANN).text == "Chairs of *Tech II*: Tilman, Ann Lee, Ann."


def test_in_the_console_a_scribes_lines_are_notes(runtime):
    out = io.StringIO()
    console = Console(runtime.commands, out=out, user="ann")
    for line in (
        "/review start Typing",
        "not yet a scribe",
        "/review scribe me",
        "Katherine: typed",
        "> a reply to it",
        "// an aside",
        "/review end",
    ):
        console.run_line(line)
    printed = out.getvalue()
    assert "(type a command starting with /" in printed and "✅ (1 note in the minutes)" in printed
    assert "(an aside: not in the minutes)" in printed
    wiki = printed.split(".wiki -----\n", 1)[1]
    assert "* Katherine: typed\n** a reply to it\n" in wiki and "aside" not in wiki and "not yet" not in wiki


def test_conversation_in_the_channel_costs_no_write(runtime, monkeypatch):
    ann, bob = Caller("T0001", "C0001", "U1", "Ann"), Caller("T0001", "C0001", "U2", "Bob")
    meetings = runtime.meetings
    assert not meetings.record_message(ann, "1.1", "before any meeting").recorded
    runtime.commands.handle("/review", "start Quiet", ann)
    runtime.commands.handle("/review", "scribe me", ann)
    writes: list[object] = []
    write = runtime.db.write
    monkeypatch.setattr(runtime.db, "write", lambda *a, **k: writes.append(a) or write(*a, **k))
    assert not meetings.record_message(bob, "1.2", "just chatting").recorded
    assert not meetings.edit_message(bob, "1.2", "still chatting").recorded
    assert not meetings.delete_message(bob, "1.2").recorded
    assert writes == []  # read, found to be conversation: no write, no lock on the channel
    assert meetings.record_message(ann, "1.3", "a scribe's note").recorded and len(writes) == 1


def test_end_answers_with_the_summary_of_its_minutes(runtime):
    """``/review end`` answers with the summary of the minutes it posts, which hold every note."""
    prepared(runtime)
    commands = runtime.commands
    commands.handle("/review", "start Tech II", TILMAN)
    commands.handle("/note", "Katherine: congrats on the failover", ANN)
    commands.handle("/review", "next", TILMAN)
    commands.handle("/note", "second section", BOB)
    reply = commands.handle("/review", "end", TILMAN)
    assert "3 sections, 2 notes" in reply.text
    assert reply.minutes is not None and reply.minutes.summary in reply.text
    minutes = reply.minutes.render()  # rendered when posted, not in the answer: the same summary
    assert minutes.summary == reply.minutes.summary
    assert "* Katherine: congrats on the failover" in minutes.content


def test_an_agenda_button_acts_on_its_own_meeting_only(runtime):
    commands = runtime.commands
    prepared(runtime)
    first = runtime.meetings.start(TILMAN, "First")
    assert commands.agenda_button(ANN, "here", first.id).meeting_id == first.id
    assert commands.agenda_button(TILMAN, "next", first.id).text.startswith("➡️ Now at")
    assert "Only the meeting's chairs" in commands.agenda_button(ANN, "next", first.id).text
    assert commands.agenda_button(TILMAN, "end", first.id).text.startswith("⏹️ *Meeting ended.*")
    prepared(runtime)
    second = runtime.meetings.start(TILMAN, "Second")
    # The first meeting's agenda message is still in the channel: its buttons change nothing now.
    for button in ("next", "prev", "end", "here", "remote"):
        reply = commands.agenda_button(BOB, button, first.id)
        assert reply.text == "That agenda belongs to a meeting that is no longer running.", button
    view = runtime.meetings.meeting_view(TILMAN)
    assert view.id == second.id and view.current.number == "1" and not view.present and not view.remote
    assert commands.agenda_button(BOB, "remote", second.id).meeting_id == second.id
    assert runtime.meetings.meeting_view(TILMAN).remote == ("Bob",)
