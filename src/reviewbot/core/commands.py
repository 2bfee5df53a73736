"""The text commands people type, ``/review ...`` and ``/note ...``: one documented method each.

:meth:`CommandHandler.handle` takes the command and its text as the person typed them (Slack's
escaping already undone by the adapter) and answers with a :class:`Reply`. Mistakes come back as
short private replies that say what to type instead; nothing already recorded is ever lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

from reviewbot.core import agenda
from reviewbot.core.action_items import ActionItem, Actions
from reviewbot.core.agenda_carry import CARRY_VERBS, AgendaCarry
from reviewbot.core.context import Caller, UserError
from reviewbot.core.drafts import minutes_file, minutes_summary
from reviewbot.core.meetings import Meetings, MeetingTally, NoteView, SectionView
from reviewbot.core.mentions import people_mentioned
from reviewbot.core.minutes import MeetingRecord, Wording
from reviewbot.core.replies import Event, MinutesDraft, MinutesFile, Reply, Visibility
from reviewbot.core.revisions import NoteEditor
from reviewbot.core.schedule_commands import ScheduleCommands
from reviewbot.core.schedules import Schedules
from reviewbot.core.scribe_commands import scribe
from reviewbot.core.search import Search
from reviewbot.core.texts import HELP, count_text, duration_text, format_agenda, format_time_used, planned_minutes
from reviewbot.core.wiki_pages import WikiReader
from reviewbot.store.database import DatabaseUnavailable

log = logging.getLogger(__name__)


class CommandHandler:
    """Turns ``/review`` and ``/note`` text into meeting operations and replies."""

    def __init__(
        self,
        meetings: Meetings,
        wording: Wording | None = None,
        page_pattern: str = "",
        schedules: Schedules | None = None,
        action_items: Actions | None = None,
        fiscal_year_start_month: int = 7,
        can_publish: bool = False,
        wiki_reader: WikiReader | None = None,
    ) -> None:
        self.meetings = meetings
        self.can_publish = can_publish
        self.wording = wording or Wording()
        self.page_pattern = page_pattern or "{title}"
        self.schedules = schedules or Schedules(meetings.db, meetings.clock)
        self.action_items = action_items or Actions(meetings.db, meetings.clock)
        self.schedule_commands = ScheduleCommands(
            self.schedules, meetings.clock, meetings.timezone, fiscal_year_start_month
        )
        self.editor = NoteEditor(meetings.db, meetings.clock)
        self.search = Search(meetings.db, meetings.timezone)
        self.carry = AgendaCarry(meetings, wiki_reader)  # /review agenda copy, /review agenda import
        self._review: dict[str, Callable[[Caller, str], Reply]] = {
            "agenda": self.agenda,
            "start": self.start,
            "present": self.present,
            "remote": self.remote,
            "next": self.next,
            "prev": self.prev,
            "previous": self.prev,
            "back": self.prev,
            "goto": self.goto,
            "section": self.section,
            "status": self.status,
            "slides": self.slides,
            "end": self.end,
            "history": self.history,
            "export": self.export,
            "actions": self.actions,
            "schedule": self.schedule,
            "publish": self.publish,
            "search": self.search.command,
            "help": self.help,
        }

    def handle(self, command: str, text: str, caller: Caller, mentions: Mapping[str, str] | None = None) -> Reply:
        """Run one command (``/review`` or ``/note``) and answer; never raises for bad input.

        *mentions* maps the names of people mentioned in *text* (as ``@Name``) to their user ids.
        """
        text = text.replace("\x00", "")  # PostgreSQL cannot store NUL, and nobody means to type it

        def run() -> Reply:
            if command.lstrip("/") == "note":
                return self.note(caller, text)
            if command.lstrip("/") == "review":
                sub, _, rest = text.strip().partition(" ")
                if sub.lower() == "chair":
                    return self.chair(caller, rest.strip(), mentions or {})
                if sub.lower() == "scribe":
                    return scribe(self.meetings, caller, rest.strip(), mentions or {})
                handler = self._review.get(sub.lower())
                if handler is None:
                    return self._unknown(sub)
                return handler(caller, rest.strip())
            return _private(f"I don't know the command `{command}`. Try `/review help`.")

        return self.guard(run, note=command.lstrip("/") == "note")

    def guard(self, action: Callable[[], Reply], note: bool = False) -> Reply:
        """Run *action*; a mistake or an unreachable database becomes a short private reply."""
        try:
            return action()
        except UserError as error:
            return _private(str(error))
        except DatabaseUnavailable as error:
            log.warning("database unavailable, nothing done: %s", error)
            what = "The note was *not* saved" if note else "Nothing was changed"
            return _private(f"⚠️ The database is not answering right now. {what}; please try again in a moment.")

    # -- /review subcommands: each takes the caller and the rest of the text ---------------------

    def agenda(self, caller: Caller, text: str) -> Reply:
        """``/review agenda [show]`` shows the agenda (an adapter may open an editor for plain
        ``/review agenda`` instead); ``add [-] <Title> [10m]`` and ``remove <n>`` edit it."""
        verb, _, rest = text.partition(" ")
        if verb.lower() in CARRY_VERBS:
            return self.carry.command(caller, verb, rest)
        if verb.lower() == "add":
            section = self.meetings.add_agenda_item(caller, agenda.parse_item(rest))
            kind = "subsection" if section.level == 2 else "section"
            return Reply(
                f"Added {kind} {section.number} *{section.title}*{planned_minutes(section)} to the agenda.",
                event=Event.AGENDA_CHANGED,
                meeting_id=section.meeting_id,
            )
        if verb.lower() in ("remove", "rm", "delete"):
            section = self.meetings.remove_agenda_item(caller, rest)
            return Reply(
                f"Removed {section.number} *{section.title}* from the agenda.",
                event=Event.AGENDA_CHANGED,
                meeting_id=section.meeting_id,
            )
        if verb and verb.lower() not in ("show", "list"):
            raise UserError(
                "Use `/review agenda`, `/review agenda show`, `/review agenda add [-] <Title>`, "
                "`/review agenda remove <n>`, `/review agenda copy [last|<n>]` or `/review agenda import <page>`."
            )
        view = self.meetings.meeting_view(caller)
        if view is None or not view.sections:
            return _private(
                "The agenda is empty. Add sections with `/review agenda add <Title>` "
                "and subsections with `/review agenda add - <Title>`."
            )
        return _private(format_agenda(view))

    def start(self, caller: Caller, text: str) -> Reply:
        """``/review start <meeting title>``: start the meeting at the first section."""
        view = self.meetings.start(caller, text)
        lines = [f"▶️ *Meeting started:* {view.title or ''}"]
        if view.current is not None:
            lines.append(f"Now at {_section_line(view.current)}")
        else:
            lines.append("The agenda is empty: add sections as you go with `/review section <Title>`.")
        lines.append("Take notes with `/note [Speaker:] <text>`; `/review help` lists every command.")
        return Reply("\n".join(lines), Visibility.CHANNEL, Event.MEETING_STARTED, meeting_id=view.id)

    def chair(self, caller: Caller, text: str, mentions: Mapping[str, str] | None = None) -> Reply:
        """``/review chair @name [, @name]``: make people chairs; without names, list the chairs."""
        if not text.strip():
            view = self.meetings.meeting_view(caller)
            if view is None or view.started_at is None:
                return _private("No meeting is running here; whoever starts one with `/review start` chairs it.")
            return _private(f"Chairs of *{view.title or ''}*: {', '.join(n for n in view.chairs)}.")
        people = people_mentioned(text, mentions or {}, "/review chair @name")
        added, view = self.meetings.add_chairs(caller, people)
        if not added:
            return _private(f"They already chair the meeting. Chairs: {', '.join(n for n in view.chairs)}.")
        return Reply(
            f"🪑 {caller.user_name} made {', '.join(n for n in added)} "
            f"{'a chair' if len(added) == 1 else 'chairs'}. Chairs: {', '.join(n for n in view.chairs)}.",
            Visibility.CHANNEL,
            Event.CHAIR_ADDED,
            meeting_id=view.id,
        )

    def present(self, caller: Caller, text: str) -> Reply:
        """``/review present <names>``: people in the room (comma-separated)."""
        return self._attendance(caller, text, remote=False)

    def remote(self, caller: Caller, text: str) -> Reply:
        """``/review remote <names>``: people participating remotely."""
        return self._attendance(caller, text, remote=True)

    def next(self, caller: Caller, text: str) -> Reply:
        """``/review next``: move to the next section."""
        return self._moved(self.meetings.move(caller, "next"))

    def prev(self, caller: Caller, text: str) -> Reply:
        """``/review prev``: move back to the previous section."""
        return self._moved(self.meetings.move(caller, "prev"))

    def goto(self, caller: Caller, text: str) -> Reply:
        """``/review goto <number | title>``: move to any section."""
        return self._moved(self.meetings.move(caller, "goto", text))

    def section(self, caller: Caller, text: str) -> Reply:
        """``/review section [-] <Title>``: insert an unplanned section and move to it."""
        section = self.meetings.insert_section(caller, agenda.parse_item(text))
        return self._moved(section, added=True)

    def status(self, caller: Caller, text: str) -> Reply:
        """``/review status``: where the meeting is."""
        view = self.meetings.meeting_view(caller)
        if view is None:
            return _private(
                "No meeting is running or being prepared here. "
                "Prepare one with `/review agenda add <Title>` or start with `/review start <title>`."
            )
        if view.started_at is None:
            return _private(
                f"The next meeting is being prepared: {len(view.sections)} sections on the agenda, "
                f"{len(view.present) + len(view.remote)} attendees. Start it with `/review start <title>`."
            )
        current = _section_line(view.current) if view.current else "no section yet"
        elapsed = duration_text(self.meetings.clock.now() - view.started_at)
        text = (
            f"*{view.title or ''}* running for {elapsed}.\nNow at {current}\n"
            f"{count_text(view.note_count, 'note')} so far; {count_text(len(view.sections), 'section')} on the agenda; "
            f"{len(view.present)} present, {len(view.remote)} remote."
        )
        return _private(text + format_time_used(self.meetings.timeboxes(caller)))

    def save_agenda(self, caller: Caller, outline: str) -> Reply:
        """Make the agenda the typed outline (an agenda editor's "Save")."""
        view = self.meetings.replace_agenda(caller, agenda.parse_outline(outline))
        count = len(view.sections)
        return Reply(
            f"Agenda saved: {count} section{'' if count == 1 else 's'}.",
            event=Event.AGENDA_CHANGED,
            meeting_id=view.id,
        )

    def agenda_button(self, caller: Caller, button: str, meeting_id: int) -> Reply:
        """A button (``next``, ``prev``, ``end``, ``here``, ``remote``) of meeting *meeting_id*'s
        agenda, as its command; refused once that meeting has ended. Never raises for bad input."""

        def run() -> Reply:
            if button in ("next", "prev"):
                return self._moved(self.meetings.move(caller, button, meeting_id=meeting_id))
            if button == "end":
                return self._ended(self.meetings.end(caller, meeting_id))
            if button in ("here", "remote"):
                return self.attend(caller, remote=button == "remote", meeting_id=meeting_id)
            return _private(f"I don't know the button `{button}`.")

        return self.guard(run)

    def attend(self, caller: Caller, remote: bool, meeting_id: int | None = None) -> Reply:
        """Add the caller themselves to the attendance (a button's "I'm here" / "I'm remote"),
        of the running meeting *meeting_id* when given."""
        view = self.meetings.set_attendance(caller, [caller.user_name], remote, meeting_id)
        where = "remote" if remote else "present"
        return Reply(
            f"You're on the attendance as {where}, {caller.user_name}.",
            event=Event.ATTENDANCE_CHANGED,
            meeting_id=view.id,
        )

    def add_message(self, caller: Caller, speaker: str, said: str, section_id: int | None) -> Reply:
        """Add what *speaker* said to the minutes (a message shortcut), in *section_id* if it
        is a section of the running meeting, else in the current section."""
        note = self.meetings.add_note(caller, said, speaker=speaker, section_id=section_id)
        return Reply(_note_line(note), event=Event.NOTE_ADDED, meeting_id=note.meeting_id, extra={"note": note})

    def edit_note(self, caller: Caller, note_id: int, text: str) -> Reply:
        """Change a note's text (its author or a chair)."""
        note = self.editor.edit(caller, note_id, text)
        return Reply(
            f"✏️ Note #{note.seq} now reads: {note.text}",
            event=Event.NOTE_EDITED,
            meeting_id=note.meeting_id,
            extra={"note": note},
        )

    def delete_note(self, caller: Caller, note_id: int) -> Reply:
        """Delete a note from the minutes (its author or a chair); the history keeps it."""
        note = self.editor.delete(caller, note_id)
        return Reply(
            f"🗑️ Deleted note #{note.seq}: “{note.text}”",
            event=Event.NOTE_REMOVED,
            meeting_id=note.meeting_id,
            extra={"note": note},
        )

    def slides(self, caller: Caller, text: str) -> Reply:
        """``/review slides <link>``: record the presentation slides."""
        self.meetings.set_slides(caller, text)
        return _private(f"Slides recorded: {text.strip()}")

    def end(self, caller: Caller, text: str) -> Reply:
        """``/review end``: end the meeting and post the minutes as a wiki draft."""
        return self._ended(self.meetings.end(caller))

    def _ended(self, ended: MeetingTally) -> Reply:
        """The reply to a meeting's end: its summary, with the wiki draft to post (and publish)."""
        minutes = self._draft(ended, "wiki")
        publishing = " and goes to the wiki" if self.can_publish else ""
        return Reply(
            f"⏹️ *Meeting ended.* {minutes.summary}\nThe wiki draft follows as a file{publishing}.",
            Visibility.CHANNEL,
            Event.MEETING_ENDED,
            meeting_id=ended.id,
            minutes=minutes,
            publish_meeting_id=ended.id if self.can_publish else None,
        )

    def history(self, caller: Caller, text: str) -> Reply:
        """``/review history``: the channel's past meetings."""
        meetings = self.meetings.history(caller)
        if not meetings:
            return _private("No meeting has ended in this channel yet.")
        lines = ["*Past meetings* (`/review export <number>` posts a draft again):"]
        for view in meetings:
            zone = ZoneInfo(view.timezone or "UTC")
            when = view.started_at.astimezone(zone).strftime("%Y-%m-%d") if view.started_at else "?"
            lines.append(f"• #{view.id} {when} *{view.title or ''}*: {view.note_count} notes")
        return _private("\n".join(lines))

    def export(self, caller: Caller, text: str) -> Reply:
        """``/review export [number|last] [wiki|markdown]``: post a meeting's draft again."""
        words = text.split()
        fmt = "wiki"
        if words and words[-1].lower() in ("wiki", "wikitext", "markdown", "md"):
            fmt = "markdown" if words.pop().lower() in ("markdown", "md") else "wiki"
        elif len(words) > 1:
            raise UserError(f"I can export as `wiki` or `markdown`, not “{words[-1]}”: `/review export last markdown`.")
        meeting_id = self.meetings.find_meeting(caller, " ".join(words))
        minutes = self._draft(self.meetings.tally(meeting_id), fmt)
        return Reply(f"Draft of meeting #{meeting_id}: {minutes.summary}", meeting_id=meeting_id, minutes=minutes)

    def actions(self, caller: Caller, text: str) -> Reply:
        """``/review actions`` lists the channel's open action items; ``done <n>...`` closes them."""
        verb, _, rest = text.partition(" ")
        if not verb:
            items = self.action_items.open(caller)
            if not items:
                return _private("No open action items. Record one with `/note action <Owner>: <text>`.")
            lines = ["*Open action items* (`/review actions done <n>` closes one):"]
            lines += [f"{n}. {_action_line(item)}" for n, item in enumerate(items, start=1)]
            return _private("\n".join(lines))
        if verb.lower() not in ("done", "close"):
            raise UserError("Use `/review actions` to list open action items, `/review actions done <n>` to close one.")
        numbers = [word.lstrip("#") for word in re.split(r"[\s,]+", rest) if word]
        if not numbers or not all(n.isdigit() for n in numbers):
            raise UserError("Say which item by its number: `/review actions done 2` (`/review actions` lists them).")
        closed, remaining = self.action_items.close(caller, [int(n) for n in numbers])
        lines = [f"✓ Closed: {item.text}" for item in closed]
        lines.append(f"{len(remaining)} open action item{'s' if len(remaining) != 1 else ''} left.")
        return _private("\n".join(lines))

    def schedule(self, caller: Caller, text: str) -> Reply:
        """``/review schedule ...``: the channel's review series (:mod:`reviewbot.core.schedule_commands`)."""
        return self.schedule_commands.schedule(caller, text)

    def publish(self, caller: Caller, text: str) -> Reply:
        """``/review publish [number|last]``: publish (again) a meeting's minutes to the wiki."""
        if not self.can_publish:
            raise UserError(
                "Publishing to a wiki is not set up. An admin can set WIKI_API_URL, WIKI_USERNAME and "
                "WIKI_PASSWORD (a bot password); meanwhile `/review export` gives the wikitext."
            )
        meeting_id = self.meetings.find_meeting(caller, text)
        return Reply(
            f"Publishing meeting #{meeting_id} to the wiki…", meeting_id=meeting_id, publish_meeting_id=meeting_id
        )

    def help(self, caller: Caller, text: str) -> Reply:
        """``/review help``: every command."""
        return _private(HELP)

    # -- /note ----------------------------------------------------------------------------------

    def note(self, caller: Caller, text: str) -> Reply:
        """``/note [>...] [action|decision] [Speaker:] <text>``, or ``/note undo``."""
        if text.strip().lower() == "undo":
            removed = self.editor.undo_last(caller)
            where = f" from {removed.section.number} {removed.section.title}" if removed.section else ""
            return Reply(
                f"Removed your note{where}: “{removed.text}”",
                event=Event.NOTE_REMOVED,
                meeting_id=removed.meeting_id,
                extra={"note": removed},
            )
        if not text.strip():
            raise UserError("The note is empty. Type `/note <text>` or `/note Speaker: <text>`.")
        note = self.meetings.add_note(caller, text)
        return Reply(_note_line(note), event=Event.NOTE_ADDED, meeting_id=note.meeting_id, extra={"note": note})

    # -- rendering ------------------------------------------------------------------------------

    def minutes_file(self, record: MeetingRecord, fmt: str = "wiki") -> MinutesFile:
        """Render a meeting's minutes as a file to post (:func:`reviewbot.core.drafts.minutes_file`)."""
        return minutes_file(record, self.wording, self.page_pattern, fmt)

    def _draft(self, tally: MeetingTally, fmt: str) -> MinutesDraft:
        """The meeting's minutes in *fmt*, summed up now and rendered when posted."""
        summary = minutes_summary(tally.sections, tally.notes, tally.started_at, tally.ended_at)
        return MinutesDraft(tally.id, summary, lambda: self.minutes_file(self.meetings.record(tally.id), fmt))

    # -- helpers --------------------------------------------------------------------------------

    def _attendance(self, caller: Caller, text: str, remote: bool) -> Reply:
        names = [n for n in re.split(r"[,;\n]", text) if n.strip()]
        view = self.meetings.set_attendance(caller, names, remote)
        present = ", ".join(n for n in view.present) or "nobody yet"
        remotes = ", ".join(n for n in view.remote) or "nobody yet"
        return Reply(f"*Present:* {present}\n*Remote:* {remotes}", event=Event.ATTENDANCE_CHANGED, meeting_id=view.id)

    def _moved(self, section: SectionView, added: bool = False) -> Reply:
        verb = "Added and moved to" if added else "Now at"
        return Reply(
            f"➡️ {verb} {_section_line(section)}",
            Visibility.CHANNEL,
            Event.SECTION_CHANGED,
            meeting_id=section.meeting_id,
        )

    @staticmethod
    def _unknown(sub: str) -> Reply:
        if not sub:
            return _private(HELP)
        return _private(f"I don't know `/review {sub}`. Type `/review help` for the list of commands.")


def _action_line(item: ActionItem) -> str:
    return f"{item.text} _(meeting #{item.meeting_id}, {item.meeting_day})_"


def _section_line(section: SectionView) -> str:
    return f"*{section.number} {section.title}*{planned_minutes(section)}"


def _note_line(note: NoteView) -> str:
    where = f" in {note.section.number} {note.section.title}" if note.section else ""
    kind = {"action": "Action item", "decision": "Decision"}.get(note.kind, "Noted")
    return f"✓ {kind} #{note.seq}{where}: {note.text}"


def _private(text: str) -> Reply:
    return Reply(text, Visibility.PRIVATE)
