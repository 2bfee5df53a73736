"""Plain-text renderings of meetings that several replies share: the agenda, time used, durations.

The text surface's one agenda formatter (the console, replies and reminders); Slack's live agenda
is built as Block Kit by :mod:`reviewbot.slack.blocks`.
"""

from __future__ import annotations

from datetime import timedelta

from reviewbot.core.meetings.views import MeetingView, SectionView
from reviewbot.core.timeboxes import Timebox

#: ``/review help``: every command, grouped by when it is used.
HELP = """*reviewbot* runs a review meeting from a prepared agenda and writes the minutes.
*Prepare*
• `/review agenda add <Title> [10m]` adds a section (with a timebox); `/review agenda add - <Title>` a subsection
• `/review agenda` edits the agenda (in Slack, as an outline); `/review agenda show` shows it
• `/review agenda remove <number>` removes an empty section
• `/review agenda copy [last|<number>]` gives the next meeting a past meeting's agenda (not its notes)
• `/review agenda import <wiki page>` makes the headings of a wiki page the next meeting's agenda
• `/review present <names>` / `/review remote <names>` records attendance (comma-separated)
• `/review slides <link>` records the presentation slides
*Run*
• `/review start <meeting title>` starts at the first section; whoever starts the meeting chairs it
• `/review chair @name` makes someone a chair too: chairs move sections, change the agenda, end
• `/review scribe me` (or `@name`): your messages in the channel become the notes; `/review scribe off` stops
• `/review next`, `/review prev`, `/review goto <number | title>` move between sections
• `/review section <Title>` inserts an unplanned section (`- <Title>` for a subsection) and moves to it
• `/note [Speaker:] <text>` records a note; `/note > Speaker: <text>` replies to the one before
• `/note action <Owner>: <text>` records an action item; `/note decision <text>` a decision
• `/note undo` removes your own last note
• `/review status` shows where the meeting is; `/review end` ends it and posts the wiki draft
*Afterwards*
• `/review history` lists past meetings; `/review export [number|last] [wiki|markdown]` posts a draft again
• `/review publish [number|last]` publishes the minutes to the wiki (when set up)
• `/review actions` lists open action items; `/review actions done <n>` closes one
• `/review search <words>` finds what was said (`"a phrase"`, `speaker:Name`, `after:2016-07-01`, `before:2017`,
  `is:action`, `is:decision`; `in:all` adds every public channel)
*Schedule*
• `/review schedule <YYYY-MM-DD> <HH:MM> [<timezone>] [quarterly|once]` sets the channel's review series
• `/review schedule` shows the next meetings and their reminders
• `/review schedule skip` skips the next meeting; `/review schedule unskip` takes the latest skip back
• `/review schedule remind 14d 1d 15m` sets the reminders; `/review schedule cancel` ends the series"""


def planned_minutes(section: SectionView) -> str:
    """`` [10m]`` for a section with a timebox, else nothing."""
    return f" [{section.duration_minutes}m]" if section.duration_minutes else ""


def format_agenda(view: MeetingView) -> str:
    """The agenda, numbered, with the current section marked."""
    heading = f"*Agenda of {view.title}*" if view.title else "*Agenda of the next meeting*"
    lines = [heading]
    for section in view.sections:
        indent = "    " if section.level == 2 else ""
        marker = "▶ " if section.current else ""
        notes = f" ({section.note_count} notes)" if section.note_count else ""
        unplanned = " _(added)_" if not section.planned else ""
        lines.append(f"{indent}{marker}{section.number}. {section.title}{planned_minutes(section)}{unplanned}{notes}")
    return "\n".join(lines)


def format_time_used(boxes: list[tuple[SectionView, Timebox]]) -> str:
    """Time used against plan, for the sections that have a plan or have been spent time in."""
    lines = []
    for section, box in boxes:
        if not box.plan_seconds and box.used_seconds < 30:
            continue
        indent = "    " if section.level == 2 else ""
        used = f"{round(box.used_seconds / 60)} min"
        plan = f" of {box.plan_seconds // 60} planned" if box.plan_seconds else ""
        over = " ⚠️" if box.plan_seconds and box.used_seconds > box.plan_seconds else ""
        now = " ◀" if section.current else ""
        lines.append(f"{indent}{section.number} {section.title}: {used}{plan}{over}{now}")
    return "\n*Time used*\n" + "\n".join(lines) if lines else ""


def duration_text(delta: timedelta) -> str:
    """``12 min`` or ``1h 05m``."""
    seconds = int(delta.total_seconds())
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes = rest // 60
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes} min"


def count_text(number: int, noun: str) -> str:
    """``1 note``, ``2 notes``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
