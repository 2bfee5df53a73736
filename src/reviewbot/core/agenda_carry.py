"""Carrying agendas forward: the next meeting's agenda from a past one, or from a wiki page.

``/review agenda copy [last|<n>]`` gives the channel's next meeting (the one being prepared,
created if there is none) the sections of one of the channel's ended meetings (titles, levels
and timeboxes; never notes), imported meetings included. ``/review agenda import <page>`` gives
it the headings of any wiki page, read through a :class:`~reviewbot.core.wiki_pages.WikiReader`.
Either fills an empty agenda only: an agenda someone has begun is theirs to change, and a
second click of the reminder's button must not copy twice.

``last`` is the channel's own last meeting. A meeting named by its number may also be another
channel's when its minutes may be seen from everywhere, by search's rule
(:func:`reviewbot.core.search.scope`): a channel known to be public, of the same workspace, or
the archive of minutes imported from a wiki. A private channel's (or one whose privacy is not
known) never: an agenda can say as much as its minutes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import mwparserfromhell
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reviewbot import wikitext
from reviewbot.core import agenda
from reviewbot.core.action_items import CARRIED_SECTION_TITLE
from reviewbot.core.channels import channel_row, latest_meeting, planned_meeting, running_meeting
from reviewbot.core.context import Caller, UserError
from reviewbot.core.meetings import Meetings
from reviewbot.core.meetings.lifecycle import new_section
from reviewbot.core.meetings.views import meeting_view, sections_of
from reviewbot.core.publishing import WikiError
from reviewbot.core.replies import Event, Offer, Reply
from reviewbot.core.search import visible_from
from reviewbot.core.texts import count_text, format_agenda
from reviewbot.core.wiki_pages import WikiReader
from reviewbot.store.schema import Channel, Meeting, MeetingStatus, Section

#: The ``/review agenda`` verbs this module answers.
CARRY_VERBS = frozenset({"copy", "import"})

#: What the first reminder before a meeting with no agenda offers.
COPY_LAST = Offer(command="agenda copy last", label="Copy last meeting's agenda")

USAGE = "Use `/review agenda copy` (the last meeting's agenda), `/review agenda copy <number>` (see `/review history`)"
_TIMEBOX = re.compile(r"\[\s*(\d{1,3})\s*(m|min|mins|minutes|h|hr|hours?)\s*\]$", re.IGNORECASE)


class AgendaCarry:
    """``/review agenda copy`` and ``/review agenda import``: fill the next meeting's agenda."""

    def __init__(self, meetings: Meetings, reader: WikiReader | None = None) -> None:
        self.meetings = meetings
        self.reader = reader

    def command(self, caller: Caller, verb: str, text: str) -> Reply:
        """Run ``/review agenda <verb> <text>`` for one of :data:`CARRY_VERBS`."""
        if verb.lower() == "copy":
            return self.copy(caller, text)
        return self.import_page(caller, text)

    def copy(self, caller: Caller, target: str = "") -> Reply:
        """Give the next meeting the agenda of the meeting *target* (``last`` or empty: the
        channel's most recent ended meeting; a number: that meeting, of the channel, of a public
        channel of the workspace or of the archive)."""
        target = target.strip().lstrip("#").lower()
        if target not in ("", "last", "latest") and not target.isdigit():
            raise UserError(f"{USAGE}.")
        with self.meetings.db.write() as session:
            now = self.meetings.clock.now()
            self._refuse_running(session, caller, now)
            channel = channel_row(session, caller, now)
            assert channel is not None
            source = _source(session, caller, channel.id, target)
            items = outline_of(sections_of(session, source.id))
            if not items:
                raise UserError(
                    f"Meeting #{source.id} ({self._described(source)}) has no sections to copy. "
                    "`/review history` lists the channel's meetings; `/review agenda copy <number>` copies another."
                )
            meeting = self._fill(session, caller, now, items)
            view = meeting_view(session, meeting)
            described = self._described(source)
        return Reply(
            f"📋 Copied the agenda of meeting #{source.id} ({described}): "
            f"{count_text(len(items), 'section')}, without notes.\n{format_agenda(view)}\n"
            "Change it with `/review agenda`.",
            event=Event.AGENDA_CHANGED,
            meeting_id=view.id,
        )

    def import_page(self, caller: Caller, title: str) -> Reply:
        """Give the next meeting an agenda made of the headings of the wiki page *title*."""
        title = " ".join(title.strip().removeprefix("[[").removesuffix("]]").strip().strip('"“”').split())
        if self.reader is None:
            raise UserError(
                "Reading pages from a wiki is not set up. An admin can set WIKI_API_URL (the wiki's api.php; "
                "WIKI_USERNAME and WIKI_PASSWORD if its pages need a login); meanwhile `/review agenda` lets you "
                "type or paste the agenda."
            )
        if not title:
            raise UserError("Name the wiki page: `/review agenda import Team goals/2026 Q3`.")
        self._precheck(caller)
        try:
            page = self.reader.read_page(title, dated=False)  # headings only: no need to know its age
        except WikiError as error:
            raise UserError(f"I could not read “{title}” from the wiki: {error}. Nothing was changed.") from None
        if page is None:
            raise UserError(f"The wiki has no page called “{title}”. Check the title (as in the page's address).")
        found = heading_items(page.text)
        if not found:
            raise UserError(f"The page “{page.title}” has no headings to make an agenda of. Nothing was changed.")
        items = found[: agenda.MAX_OUTLINE_SECTIONS]
        with self.meetings.db.write() as session:
            now = self.meetings.clock.now()
            self._refuse_running(session, caller, now)
            view = meeting_view(session, self._fill(session, caller, now, items))
        cut = len(found) - len(items)
        more = f" (the first {len(items)}: an agenda holds at most {len(items)} sections)" if cut else ""
        return Reply(
            f"📋 The next meeting's agenda is the headings of “{page.title}”: "
            f"{count_text(len(items), 'section')}{more}.\n{format_agenda(view)}\nChange it with `/review agenda`.",
            event=Event.AGENDA_CHANGED,
            meeting_id=view.id,
        )

    def _precheck(self, caller: Caller) -> None:
        """Refuse before reading the wiki what the write would refuse anyway (a read that, unlike
        the write, creates no channel row)."""
        with self.meetings.db.read() as session:
            channel = channel_row(session, caller, self.meetings.clock.now(), lock=False)
            if channel is None:
                return
            if latest_meeting(session, channel.id, MeetingStatus.RUNNING) is not None:
                raise UserError(_RUNNING)
            planned = latest_meeting(session, channel.id, MeetingStatus.PLANNED)
            begun = 0 if planned is None else len(sections_of(session, planned.id))
            if begun:
                raise UserError(_begun(begun))

    @staticmethod
    def _refuse_running(session: Session, caller: Caller, now: datetime) -> None:
        if running_meeting(session, caller, now) is not None:
            raise UserError(_RUNNING)

    def _fill(self, session: Session, caller: Caller, now: datetime, items: Sequence[agenda.AgendaItem]) -> Meeting:
        """Put *items* on the agenda of the channel's next meeting, which must have none yet."""
        meeting = planned_meeting(session, caller, now, create=True)
        assert meeting is not None
        begun = len(sections_of(session, meeting.id))
        if begun:
            raise UserError(_begun(begun))
        session.add_all(new_section(meeting, position, item, True, now) for position, item in enumerate(items))
        session.flush()
        return meeting

    def _described(self, meeting: Meeting) -> str:
        """``*Title*, 2016-07-14``: how a source meeting is named in replies."""
        when = meeting.started_at or meeting.ended_at
        zone = ZoneInfo(meeting.timezone or self.meetings.timezone or "UTC")
        day = f", {when.astimezone(zone):%Y-%m-%d}" if when is not None else ""
        return f"*{meeting.title or 'untitled'}*{day}"


_RUNNING = (
    "A meeting is running here, so its agenda is being used. Once it has ended, "
    "`/review agenda copy` prepares the next meeting's agenda from it."
)


def _begun(count: int) -> str:
    return (
        f"The next meeting's agenda already has {count_text(count, 'section')}, so I left it as it is. "
        "Edit it with `/review agenda`; to replace it, remove its sections first (`/review agenda remove <n>`)."
    )


def last_ended(session: Session, channel_pk: int) -> Meeting | None:
    """The channel's most recent ended meeting (imported ones included), if any."""
    when = func.coalesce(Meeting.ended_at, Meeting.started_at, Meeting.created_at)
    return session.scalars(
        select(Meeting)
        .where(Meeting.channel_pk == channel_pk, Meeting.status == MeetingStatus.ENDED)
        .order_by(when.desc(), Meeting.id.desc())
        .limit(1)
    ).first()


def copy_offer(session: Session, channel_pk: int) -> Offer | None:
    """:data:`COPY_LAST` when the channel's last meeting has an agenda to copy and no meeting is
    running (the caller checks that the next meeting has no agenda yet); else None."""
    if latest_meeting(session, channel_pk, MeetingStatus.RUNNING) is not None:
        return None
    last = last_ended(session, channel_pk)
    if last is None or not outline_of(sections_of(session, last.id)):
        return None
    return COPY_LAST


def _source(session: Session, caller: Caller, channel_pk: int, target: str) -> Meeting:
    """The ended meeting that *target* names: the channel's last, or the one with that number
    (of the channel, or of a channel whose minutes may be seen from everywhere)."""
    if not target.isdigit():
        meeting = last_ended(session, channel_pk)
        if meeting is None:
            raise UserError(
                "No meeting has ended in this channel yet, so there is no agenda to copy. "
                "Add sections with `/review agenda add <Title>`."
            )
        return meeting
    meeting = session.get(Meeting, int(target)) if int(target) < 2**31 else None  # PostgreSQL's integer
    seen = meeting is not None and (meeting.channel_pk == channel_pk or _visible(session, caller, meeting))
    if meeting is None or not seen or meeting.status != MeetingStatus.ENDED:
        raise UserError(
            f"There is no past meeting #{int(target)} in this channel: `/review history` lists them "
            "(an agenda is copied from this channel's meetings, a public channel's or the wiki archive's)."
        )
    return meeting


def _visible(session: Session, caller: Caller, meeting: Meeting) -> bool:
    """Whether *meeting*'s minutes may be seen from the caller's channel by search's ``in:all``
    rule (:func:`reviewbot.core.search.visible_from`): a public channel of the workspace, or the
    wiki archive."""
    query = select(Channel.id).where(Channel.id == meeting.channel_pk, visible_from(caller, True))
    return session.scalar(query) is not None


def outline_of(sections: Sequence[Section]) -> list[agenda.AgendaItem]:
    """A past meeting's sections as agenda items: titles, levels, timeboxes.

    The "Previous action items" section the bot adds at the start is left out (the next start
    adds it again when there are open items); an imported title loses its markup.
    """
    items = []
    for section in sections:
        # An imported meeting's titles are wikitext; the agenda's are plain text.
        title = wikitext.plain(section.title) if section.wikitext else section.title
        if title.strip() and title.strip().casefold() != CARRIED_SECTION_TITLE.casefold():
            items.append(agenda.AgendaItem(section.level, title, section.duration_minutes))
    return _outline(items)[: agenda.MAX_OUTLINE_SECTIONS]


def heading_items(text: str) -> list[agenda.AgendaItem]:
    """The headings of a wiki page as agenda items, markup stripped from their titles.

    The page's highest heading level becomes a section and every deeper level a subsection (an
    agenda has two levels); a ``[10m]`` at the end of a heading is its timebox; headings with no
    text left (a template alone) are skipped.
    """
    headings = []
    for heading in mwparserfromhell.parse(text).filter_headings():
        title = wikitext.plain(str(heading.title))
        timebox = _TIMEBOX.search(title)
        duration = None
        if timebox and timebox.start() > 0:
            amount = int(timebox.group(1))
            duration = amount * 60 if timebox.group(2).lower().startswith("h") else amount
            title = title[: timebox.start()].strip()
        if title:
            headings.append(agenda.AgendaItem(heading.level, title, duration or None))
    return _outline(headings)


def _outline(headings: Sequence[agenda.AgendaItem]) -> list[agenda.AgendaItem]:
    """Agenda items from headings of any levels: the top level present is 1, deeper ones 2, and
    a subsection before any section becomes a section."""
    if not headings:
        return []
    top = min(h.level for h in headings)
    items: list[agenda.AgendaItem] = []
    for heading in headings:
        level = 1 if heading.level <= top or not items else 2
        items.append(agenda.AgendaItem(level, agenda_title(heading.title), heading.duration_minutes))
    return items


def agenda_title(title: str) -> str:
    """*title* on one line, cut to the longest title an agenda item may have."""
    title = " ".join(title.split())
    limit = agenda.MAX_TITLE_LENGTH
    return title if len(title) <= limit else title[: limit - 1] + "…"
