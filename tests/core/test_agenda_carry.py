"""Carrying agendas forward (core/agenda_carry.py), on SQLite and PostgreSQL: ``/review agenda copy``
from past meetings (imported ones included), ``/review agenda import`` from a wiki page's headings,
the reminder's offer to copy, and every refusal as a clear private reply."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from reviewbot.config import Settings
from reviewbot.console import Console
from reviewbot.core import Caller
from reviewbot.core.agenda import AgendaItem
from reviewbot.core.agenda_carry import COPY_LAST, heading_items
from reviewbot.core.channels import channel_row
from reviewbot.core.publishing import WikiError
from reviewbot.core.replies import Event, Offer, Visibility
from reviewbot.core.search import remember_privacy
from reviewbot.runtime import build_runtime
from reviewbot.store.schema import Meeting, MeetingStatus, Section
from tests.support.doubles import FakeClock
from tests.support.fakewiki import FakeWiki
from tests.support.mediawiki import admin_site, need_mediawiki

ANN = Caller("T0001", "C0001", "U1", "Ann")
ELSEWHERE = Caller("T0001", "C0002", "U1", "Ann")
MEETING = datetime(2016, 10, 13, 15, 0, tzinfo=UTC)  # the series' next meeting (08:00 PDT)


def run(runtime, text, caller=ANN, command="/review"):
    return runtime.commands.handle(command, text, caller)


def agenda_of(runtime, caller=ANN):
    view = runtime.meetings.meeting_view(caller)
    return [] if view is None else [(s.level, s.title, s.duration_minutes) for s in view.sections]


def clear_agenda(runtime, caller=ANN):
    for _, title, _ in agenda_of(runtime, caller):
        run(runtime, f"agenda remove {title}", caller)
    assert agenda_of(runtime, caller) == []


def hold_meeting(runtime, title, *agenda, caller=ANN):
    """Prepare, run (with a note, an unplanned section and a subsection) and end a meeting."""
    for line in agenda:
        run(runtime, f"agenda add {line}", caller)
    run(runtime, f"start {title}", caller)
    run(runtime, "Katherine: said in the meeting", caller, "/note")
    run(runtime, "end", caller)
    return runtime.meetings.history(caller)[0].id


def imported_meeting(runtime, caller, ended_at, sections):
    """An ended meeting as the wiki import stores it: a source page, sections at any heading level."""
    with runtime.db.write() as session:
        channel = channel_row(session, caller, ended_at)
        meeting = Meeting(
            channel_pk=channel.id,
            status=MeetingStatus.ENDED,
            title="Imported review",
            created_at=ended_at,
            started_at=ended_at - timedelta(hours=1),
            ended_at=ended_at,
            timezone="America/Los_Angeles",
            source_wiki="https://wiki.example/w/api.php",
            source_page="Reviews/2014 Q3",
            source_revision=7,
        )
        session.add(meeting)
        session.flush()
        for position, (level, title) in enumerate(sections):
            session.add(
                Section(
                    meeting_id=meeting.id,
                    position=position,
                    level=level,
                    title=title,
                    planned=True,
                    created_at=ended_at,
                    wikitext=True,
                )
            )
        return meeting.id


def test_copy_last_gives_the_next_meeting_the_sections_levels_and_timeboxes_without_notes(runtime):
    hold_meeting(runtime, "Q1", "Intro [5m]", "- Numbers", "Ops [10m]")
    run(runtime, "schedule 2016-07-14 08:00")

    reply = run(runtime, "agenda copy")
    assert reply.visibility is Visibility.PRIVATE and reply.event is Event.AGENDA_CHANGED
    assert reply.text.startswith("📋 Copied the agenda of meeting #1 (*Q1*, 2016-07-14): 3 sections, without notes.")
    assert "1. Intro [5m]\n    1.1. Numbers\n2. Ops [10m]" in reply.text
    assert agenda_of(runtime) == [(1, "Intro", 5), (2, "Numbers", None), (1, "Ops", 10)]
    view = runtime.meetings.meeting_view(ANN)
    assert view.started_at is None and view.note_count == 0 and reply.meeting_id == view.id

    # The copy is an ordinary prepared agenda: the next meeting starts at its first section.
    run(runtime, "start Q2")
    assert run(runtime, "status").text.startswith("*Q2* running")
    assert runtime.meetings.meeting_view(ANN).current.title == "Intro"


def test_copy_takes_unplanned_sections_but_not_the_carried_action_items(runtime):
    run(runtime, "start Q1")
    run(runtime, "action Wes: write it up", command="/note")
    run(runtime, "end")
    run(runtime, "agenda add Intro")
    run(runtime, "start Q2")  # opens with "Previous action items" (Wes's item is still open)
    assert runtime.meetings.meeting_view(ANN).sections[0].title == "Previous action items"
    run(runtime, "section Extra [15m]")
    run(runtime, "end")

    run(runtime, "agenda copy last")
    assert agenda_of(runtime) == [(1, "Extra", 15), (1, "Intro", None)]  # as the meeting had them


def test_copy_by_number_and_from_an_imported_meeting(runtime):
    first = hold_meeting(runtime, "Q1", "Alpha")
    hold_meeting(runtime, "Q2", "Beta")
    imported = imported_meeting(
        runtime,
        ANN,
        datetime(2014, 10, 2, 17, 0, tzinfo=UTC),
        [
            (3, "Before any section"),
            (1, "Editing"),
            (2, "[[VisualEditor]]"),
            (3, "Deeper ''still''"),
            (1, "Mobile"),
            (1, "{{Status|done}}"),
        ],
    )
    # "last" is the most recent meeting by its date, not the last one stored: the import is older.
    run(runtime, "agenda copy last")
    assert agenda_of(runtime) == [(1, "Beta", None)]
    clear_agenda(runtime)

    reply = run(runtime, f"agenda copy #{imported}")
    assert f"meeting #{imported} (*Imported review*, 2014-10-02)" in reply.text
    # Two levels, as every agenda: deeper headings are subsections, a leading one a section.
    assert agenda_of(runtime) == [
        (1, "Before any section", None),
        (1, "Editing", None),
        (2, "VisualEditor", None),
        (2, "Deeper still", None),
        (1, "Mobile", None),
    ]
    clear_agenda(runtime)
    run(runtime, f"agenda copy {first}")
    assert agenda_of(runtime) == [(1, "Alpha", None)]


def test_a_copied_imported_heading_is_typed_text_in_the_new_minutes(runtime):
    """An imported title is wikitext; copied, it is plain text, escaped like anything typed."""
    imported_meeting(runtime, ANN, datetime(2016, 9, 1, 17, 0, tzinfo=UTC),
                     [(1, "<nowiki>{{Delete}}</nowiki> [[Foo|bar]] &lt;b&gt;")])  # fmt: skip
    run(runtime, "agenda copy")
    assert agenda_of(runtime) == [(1, "{{Delete}} bar <b>", None)]
    meeting_id = run(runtime, "start Next").meeting_id
    run(runtime, "end")
    with runtime.db.read() as session:
        assert [s.wikitext for s in session.get(Meeting, meeting_id).sections] == [False]
    minutes = runtime.commands.minutes_file(runtime.meetings.record(meeting_id)).content
    assert "== &#123;&#123;Delete&#125;&#125; bar &lt;b&gt; ==" in minutes


def test_an_imported_meeting_attached_to_the_channel_counts_as_its_last(runtime):
    hold_meeting(runtime, "Q1", "Alpha")  # held on July 14, 2016
    imported_meeting(runtime, ANN, datetime(2016, 9, 1, 17, 0, tzinfo=UTC), [(1, "From the wiki")])
    run(runtime, "agenda copy")
    assert agenda_of(runtime) == [(1, "From the wiki", None)]


def test_copy_refusals_are_private_and_change_nothing(runtime):
    def refused(text, caller=ANN):
        reply = run(runtime, text, caller)
        assert reply.visibility is Visibility.PRIVATE and reply.event is Event.NONE, reply
        return reply.text

    assert refused("agenda copy").startswith("No meeting has ended in this channel yet")
    assert refused("agenda copy 1").startswith("There is no past meeting #1 in this channel")
    assert refused("agenda copy 99999999999999999999").startswith("There is no past meeting #99999999999999999999")
    assert refused("agenda copy yesterday").startswith("Use `/review agenda copy`")

    empty = hold_meeting(runtime, "Empty")  # no sections at all
    assert refused("agenda copy").startswith(f"Meeting #{empty} (*Empty*, 2016-07-14) has no sections to copy.")
    other = hold_meeting(runtime, "Elsewhere", "Secret plans", caller=ELSEWHERE)
    assert refused(f"agenda copy {other}").startswith(f"There is no past meeting #{other} in this channel")
    assert "a public channel's or the wiki archive's" in refused(f"agenda copy {other}")

    run(runtime, "agenda add Mine")
    run(runtime, "start Running")
    assert refused("agenda copy 2").startswith("A meeting is running here")
    assert refused(f"agenda copy {other}").startswith("A meeting is running here")
    run(runtime, "end")

    run(runtime, "agenda add Already prepared")
    assert refused("agenda copy").startswith("The next meeting's agenda already has 1 section, so I left it as it is")
    assert agenda_of(runtime) == [(1, "Already prepared", None)]
    assert agenda_of(runtime, ELSEWHERE) == []


def test_a_public_channels_or_the_archives_meeting_is_copied_by_number_but_a_private_ones_never(runtime):
    other = hold_meeting(runtime, "Elsewhere", "Shared plans", caller=ELSEWHERE)
    archived = imported_meeting(
        runtime,
        Caller("archive", "archive", "import", "import"),
        datetime(2014, 10, 2, 17, 0, tzinfo=UTC),
        [(1, "From the archive")],
    )
    stranger = Caller("T0002", "C0003", "U9", "Someone")  # another workspace's public channel
    foreign = hold_meeting(runtime, "Foreign", "Theirs", caller=stranger)
    remember_privacy(runtime.db, "T0002", "C0003", False, datetime.now(UTC))

    # Its privacy unknown, the other channel counts as private; "last" is always this channel's.
    assert run(runtime, f"agenda copy {other}").text.startswith(f"There is no past meeting #{other}")
    assert run(runtime, f"agenda copy {foreign}").text.startswith(f"There is no past meeting #{foreign}")
    assert run(runtime, "agenda copy last").text.startswith("No meeting has ended in this channel yet")
    run(runtime, f"agenda copy {archived}")
    assert agenda_of(runtime) == [(1, "From the archive", None)]
    clear_agenda(runtime)

    remember_privacy(runtime.db, "T0001", "C0002", True, datetime.now(UTC))
    assert run(runtime, f"agenda copy {other}").text.startswith(f"There is no past meeting #{other}")
    remember_privacy(runtime.db, "T0001", "C0002", False, datetime.now(UTC))
    run(runtime, f"agenda copy {other}")
    assert agenda_of(runtime) == [(1, "Shared plans", None)]


def test_copying_twice_copies_once(runtime):
    hold_meeting(runtime, "Q1", "Alpha", "Beta")
    assert run(runtime, "agenda copy").event is Event.AGENDA_CHANGED
    assert run(runtime, "agenda copy").text.startswith("The next meeting's agenda already has 2 sections")
    assert agenda_of(runtime) == [(1, "Alpha", None), (1, "Beta", None)]


# -- /review agenda import --------------------------------------------------------------------

GOALS = """Goals of the team for the quarter.
= Engineering goals =
==Reliability [15m]==
Some text.
=== [[Service level objective|SLOs]] for '''every''' service<ref>see the RFC</ref> ===
==== Details that are deep ====
== {{Template:Status|done}} ==
== [[File:Logo.png|thumb|logo]] Hiring &amp; onboarding ==
<!-- == A commented-out heading == -->
"""
GOALS_AGENDA = [
    (1, "Engineering goals", None),
    (2, "Reliability", 15),
    (2, "SLOs for every service", None),
    (2, "Details that are deep", None),
    (2, "Hiring & onboarding", None),
]  # GOALS as an agenda: (level, title, timebox)


def test_headings_become_agenda_items_with_their_markup_stripped():
    assert heading_items(GOALS) == [
        AgendaItem(1, "Engineering goals"),
        AgendaItem(2, "Reliability", 15),
        AgendaItem(2, "SLOs for every service"),
        AgendaItem(2, "Details that are deep"),
        AgendaItem(2, "Hiring & onboarding"),
    ]
    assert heading_items("No headings here.\n* just a list") == []
    assert heading_items("=== Sub first ===\n== Top ==\n=== Sub ===") == [
        AgendaItem(1, "Sub first"),
        AgendaItem(1, "Top"),
        AgendaItem(2, "Sub"),
    ]
    long = heading_items("== " + "x" * 300 + " ==")[0].title
    assert len(long) == 200 and long.endswith("…")


@pytest.fixture
def wiki():
    wiki = FakeWiki()
    wiki.someone_edits("Team goals/2016 Q2", GOALS)
    wiki.someone_edits("Just prose", "Nothing but a paragraph, [[and a link]].")
    return wiki


@pytest.fixture
def wiki_runtime(settings, clock, wiki):
    rt = build_runtime(settings, clock=clock, wiki=wiki)
    yield rt
    rt.close()


def test_import_makes_the_pages_headings_the_agenda(wiki_runtime):
    reply = run(wiki_runtime, "agenda import [[Team goals/2016 Q2]]")
    assert reply.visibility is Visibility.PRIVATE and reply.event is Event.AGENDA_CHANGED
    assert reply.text.startswith("📋 The next meeting's agenda is the headings of “Team goals/2016 Q2”: 5 sections.")
    assert agenda_of(wiki_runtime) == GOALS_AGENDA


def test_import_refusals(wiki_runtime, wiki, runtime):
    def refused(rt, text):
        reply = run(rt, text)
        assert reply.visibility is Visibility.PRIVATE and reply.event is Event.NONE, reply
        return reply.text

    assert refused(runtime, "agenda import Team goals").startswith("Reading pages from a wiki is not set up.")
    assert refused(wiki_runtime, "agenda import").startswith("Name the wiki page")
    assert refused(wiki_runtime, "agenda import No such page") == (
        "The wiki has no page called “No such page”. Check the title (as in the page's address)."
    )
    assert refused(wiki_runtime, "agenda import Just prose").startswith("The page “Just prose” has no headings")
    wiki.fail = WikiError("could not reach the wiki at wiki.example (ConnectionError)")
    assert refused(wiki_runtime, "agenda import Team goals/2016 Q2") == (
        "I could not read “Team goals/2016 Q2” from the wiki: could not reach the wiki at wiki.example "
        "(ConnectionError). Nothing was changed."
    )
    wiki.fail = None
    run(wiki_runtime, "agenda add Mine")
    assert refused(wiki_runtime, "agenda import Team goals/2016 Q2").startswith(
        "The next meeting's agenda already has 1 section"
    )
    run(wiki_runtime, "start Running")
    assert refused(wiki_runtime, "agenda import Team goals/2016 Q2").startswith("A meeting is running here")
    assert agenda_of(wiki_runtime) == [(1, "Mine", None)]


def test_wiki_api_url_alone_is_enough_to_read_pages(database_url):
    rt = build_runtime(Settings(database_url=database_url, wiki_api_url="https://wiki.example/w/api.php"))
    try:
        assert rt.commands.carry.reader is not None and rt.publisher is None  # reads; publishing needs a login
    finally:
        rt.close()


@pytest.mark.mediawiki
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_import_from_a_real_mediawiki(database_url):
    api = need_mediawiki()
    admin = admin_site()
    title = f"Team goals/{uuid.uuid4().hex[:8]}"
    admin.pages[title].edit(GOALS, summary="goals for the quarter")
    admin.pages[title + " (old name)"].edit(f"#REDIRECT [[{title}]]", summary="a redirect")

    rt = build_runtime(Settings(database_url=database_url, wiki_api_url=api), clock=FakeClock())  # no login
    try:
        assert run(rt, "agenda import Team goals/no such page").text.startswith("The wiki has no page called")
        site = rt.commands.carry.reader._connect()
        queries = []
        site.get = lambda *args, _get=site.get, **kwargs: queries.append(kwargs) or _get(*args, **kwargs)
        reply = run(rt, f"agenda import {title} (old name)")  # a redirect is followed
        assert len(queries) == 1  # the page only: not its first revision, which the agenda does not need
        dated = rt.commands.carry.reader.read_page(title)
        assert len(queries) == 3 and dated.first_edited is not None  # the import's read asks for it
        assert reply.text.startswith(f"📋 The next meeting's agenda is the headings of “{title}”: 5 sections.")
        assert agenda_of(rt) == GOALS_AGENDA
    finally:
        rt.close()
    offline = Settings(database_url=database_url, wiki_api_url="http://127.0.0.1:9/api.php")
    rt = build_runtime(offline, clock=FakeClock())
    try:
        assert run(rt, "agenda import Goals", ELSEWHERE).text == (
            "I could not read “Goals” from the wiki: could not reach the wiki at 127.0.0.1:9 (ConnectionError). "
            "Nothing was changed."
        )
    finally:
        rt.close()


def test_a_page_with_more_headings_than_an_agenda_holds_gives_the_first_ones(wiki_runtime, wiki):
    wiki.someone_edits("Huge", "\n".join(f"== Heading {n} ==" for n in range(1, 131)))
    reply = run(wiki_runtime, "agenda import Huge")
    assert "100 sections (the first 100: an agenda holds at most 100 sections)" in reply.text
    assert agenda_of(wiki_runtime)[-1] == (1, "Heading 100", None)


def test_the_console_copies_and_imports(wiki_runtime, capsys):
    console = Console(wiki_runtime.commands, user="ann")
    console.run_line("/review agenda import No such page")
    assert "(only you) The wiki has no page called “No such page”" in capsys.readouterr().out
    for line in ("/review agenda add Alpha [5m]", "/review start Q1", "/review end", "/review agenda copy last"):
        console.run_line(line)
    out = capsys.readouterr().out
    assert "📋 Copied the agenda of meeting #1" in out and "1. Alpha [5m]" in out
    console.run_line("/review agenda import Team goals/2016 Q2")
    assert "(only you) The next meeting's agenda already has 1 section" in capsys.readouterr().out


# -- the reminder's offer -----------------------------------------------------------------------


def test_the_first_reminder_before_a_meeting_with_no_agenda_offers_to_copy_the_last_one(runtime, clock, poster):
    hold_meeting(runtime, "Q1", "Alpha", "Beta")
    run(runtime, "schedule 2016-07-14 08:00")  # reminders 14 days, 1 day and 15 minutes before

    clock.current = MEETING - timedelta(days=14)
    runtime.notices.sweep(poster)
    assert "_No agenda items yet._ `/review agenda copy last` copies the last meeting's agenda." in poster.texts[0]
    assert COPY_LAST in poster.marks[0]
    assert Offer("agenda copy last", "Copy last meeting's agenda") == COPY_LAST

    clock.current = MEETING - timedelta(days=1)  # the second reminder does not offer it again
    runtime.notices.sweep(poster)
    assert "_No agenda items yet._\n" in poster.texts[1] + "\n" and "agenda copy" not in poster.texts[1]
    assert not any(isinstance(mark, Offer) for mark in poster.marks[1])


def test_no_offer_with_an_agenda_or_without_a_meeting_to_copy(runtime, clock, poster):
    run(runtime, "schedule 2016-07-14 08:00")
    clock.current = MEETING - timedelta(days=14)
    runtime.notices.sweep(poster)  # no past meeting
    assert "agenda copy" not in poster.texts[0] and not any(isinstance(m, Offer) for m in poster.marks[0])

    hold_meeting(runtime, "Q1", "Alpha")
    run(runtime, "agenda add Prepared already")
    clock.current = MEETING + timedelta(days=80)  # after the next quarter's first reminder was due
    runtime.notices.sweep(poster)
    assert "1. Prepared already" in poster.texts[-1] and "agenda copy" not in poster.texts[-1]


def test_a_late_first_reminder_still_offers_the_copy(runtime, clock, poster):
    hold_meeting(runtime, "Q1", "Alpha")
    run(runtime, "schedule 2016-07-14 08:00")
    clock.current = MEETING - timedelta(hours=20)  # the bot was down for the 14-day reminder
    runtime.notices.sweep(poster)
    assert len(poster.texts) == 1 and COPY_LAST in poster.marks[0]
