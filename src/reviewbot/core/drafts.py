"""A meeting's minutes as a file to post or print: the rendered draft, its name and a summary."""

from __future__ import annotations

import re
from datetime import datetime

from reviewbot.core.minutes import MeetingRecord, Wording, page_title, render_markdown, render_wikitext
from reviewbot.core.replies import MinutesFile
from reviewbot.core.texts import count_text, duration_text


def minutes_file(record: MeetingRecord, wording: Wording, page_pattern: str, fmt: str = "wiki") -> MinutesFile:
    """Render *record* as wikitext (or Markdown, *fmt* ``markdown``) with its file name and summary."""
    content = render_markdown(record, wording) if fmt == "markdown" else render_wikitext(record, wording)
    title = page_title(record, page_pattern)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:80] or "minutes"
    notes = sum(1 for _ in record.all_notes())
    summary = minutes_summary(len(record.sections), notes, record.started_at, record.ended_at)
    return MinutesFile(
        meeting_id=record.meeting_id or 0,
        filename=f"{stem}.{'md' if fmt == 'markdown' else 'wiki'}",
        title=title,
        content=content,
        summary=summary,
    )


def minutes_summary(sections: int, notes: int, started_at: datetime | None, ended_at: datetime | None) -> str:
    """The one line that sums up a meeting's minutes: "6 sections, 25 notes, 1 hour 2 minutes."."""
    duration = f", {duration_text(ended_at - started_at)}" if started_at and ended_at else ""
    return f"{count_text(sections, 'section')}, {count_text(notes, 'note')}{duration}."
