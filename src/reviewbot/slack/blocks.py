"""Block Kit: every message, modal and Home tab reviewbot shows in Slack.

Pure functions from the core's views to Slack's JSON. Text people typed is escaped (``&``,
``<``, ``>``) wherever it goes into ``mrkdwn``; ``plain_text`` and input values carry it as typed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reviewbot.core.meetings import MeetingView, NoteView, SectionView
from reviewbot.core.replies import Offer
from reviewbot.core.search import SearchResults, results_text, summary
from reviewbot.core.texts import duration_text
from reviewbot.slack.text import escape
from reviewbot.store.schema import MeetingStatus

# action ids, callback ids and block ids the listeners match on
PREV = "agenda_prev"
NEXT = "agenda_next"
END = "agenda_end"
HERE = "attend_here"
REMOTE = "attend_remote"
NOTE_MENU = "note_menu"
AGENDA_EDITOR = "agenda_editor"
NOTE_EDITOR = "note_editor"
ADD_TO_MINUTES = "add_to_minutes"
OFFER = "offer"  # a button that runs an offered command (``offer-0``, ``offer-1``...)
OUTLINE_BLOCK = "outline"
OUTLINE_INPUT = "outline_input"
NOTE_BLOCK = "note"
NOTE_INPUT = "note_input"

MAX_TEXT = 3000  # a section block's text, a plain_text_input's length
MAX_MESSAGE_BLOCKS = 50  # Slack's limit of blocks in one message
MAX_MESSAGE_TEXT = 36_000  # what one message carries, with room under Slack's 40,000 characters
MAX_AGENDA_BLOCKS = 20
SUB_INDENT = "\u2003\u2003"  # em spaces: Slack keeps them at the start of a line

Block = dict[str, Any]


def truncate(text: str, limit: int) -> str:
    """*text* cut to *limit* characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = 150) -> dict[str, Any]:
    """A ``plain_text`` object."""
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    """A ``mrkdwn`` text object (already escaped)."""
    return {"type": "mrkdwn", "text": truncate(text, MAX_TEXT) or " "}


def section(text: str, **extra: Any) -> Block:
    """A section block with mrkdwn text."""
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(text: str) -> Block:
    """A context block with one mrkdwn element."""
    return {"type": "context", "elements": [mrkdwn(text)]}


def slack_date(moment: datetime, token: str = "{time}") -> str:
    """A time every reader sees in their own timezone, with a UTC fallback."""
    return f"<!date^{int(moment.timestamp())}^{token}|{moment:%H:%M} UTC>"


def section_label(section: SectionView) -> str:
    """``2.1 Title [10m]``, escaped for mrkdwn."""
    planned = f" [{section.duration_minutes}m]" if section.duration_minutes else ""
    return f"{section.number} {escape(section.title)}{planned}"


def metadata(**values: Any) -> str:
    """A view's ``private_metadata``: what its submission needs to know (channel, note...)."""
    return json.dumps(values, separators=(",", ":"))


# -- the live agenda message ------------------------------------------------------------------


def agenda_lines(view: MeetingView) -> list[str]:
    """The agenda, one mrkdwn line a section, the current one highlighted."""
    lines = []
    for item in view.sections:
        indent = SUB_INDENT if item.level == 2 else ""
        added = " _(added)_" if not item.planned else ""
        if item.current:
            lines.append(f"{indent}▶️ *{section_label(item)}*{added}  ⬅ _now_")
        else:
            lines.append(f"{indent}{section_label(item)}{added}")
    return lines


def _chunks(lines: Sequence[str], limit: int = MAX_TEXT - 100) -> list[str]:
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def notice(text: str, offers: Sequence[Offer]) -> list[Block]:
    """A notice (already mrkdwn) with a button for each offered command: the text in as many
    section blocks as it needs, then the buttons, whose value is the command they run."""
    buttons = [
        {"type": "button", "action_id": f"{OFFER}-{n}", "text": plain(offer.label, 75), "value": offer.command}
        for n, offer in enumerate(offers)
    ]
    blocks: list[Block] = [section(chunk) for chunk in _chunks(text.split("\n"))][:MAX_AGENDA_BLOCKS]
    return [*blocks, {"type": "actions", "block_id": OFFER, "elements": buttons[:5]}]


def agenda_message(view: MeetingView, now: datetime) -> tuple[str, list[Block]]:
    """The live agenda message: agenda with the current section, time, attendance, buttons."""
    title = view.title or "Review"
    running = view.status == MeetingStatus.RUNNING
    blocks: list[Block] = [{"type": "header", "text": plain(f"📋 {title}")}]
    chairs = ", ".join(escape(n) for n in view.chairs) or "—"
    if running and view.started_at is not None:
        blocks.append(
            context(
                f"🟢 Started {slack_date(view.started_at)} · *{duration_text(now - view.started_at)}* elapsed"
                f" · Chairs: {chairs}"
            )
        )
    elif view.started_at is not None and view.ended_at is not None:
        blocks.append(
            context(
                f"⏹️ Ended · {slack_date(view.started_at)} – {slack_date(view.ended_at)} "
                f"({duration_text(view.ended_at - view.started_at)}) · Chairs: {chairs}"
            )
        )
    lines = agenda_lines(view) or ["_No sections yet: a chair adds one with `/review section <Title>`._"]
    chunks = _chunks(lines)
    if len(chunks) > MAX_AGENDA_BLOCKS:
        chunks = [*chunks[: MAX_AGENDA_BLOCKS - 1], "_… and more: `/review agenda show` lists them all._"]
    blocks += [section(chunk) for chunk in chunks]
    present = ", ".join(escape(n) for n in view.present) or "—"
    remote = ", ".join(escape(n) for n in view.remote) or "—"
    blocks.append(context(f"*Present:* {present}\n*Remote:* {remote}"))
    if running:
        value = str(view.id)
        blocks.append(
            {
                "type": "actions",
                "block_id": "facilitate",
                "elements": [
                    {"type": "button", "action_id": PREV, "text": plain("◀ Previous"), "value": value},
                    {"type": "button", "action_id": NEXT, "text": plain("Next ▶"), "value": value, "style": "primary"},
                    {
                        "type": "button",
                        "action_id": END,
                        "text": plain("⏹ End"),
                        "value": value,
                        "style": "danger",
                        "confirm": {
                            "title": plain("End the meeting?"),
                            "text": mrkdwn("The meeting ends and its wiki draft is posted here."),
                            "confirm": plain("End it"),
                            "deny": plain("Not yet"),
                        },
                    },
                ],
            }
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": "attendance",
                "elements": [
                    {"type": "button", "action_id": HERE, "text": plain("🙋 I'm here"), "value": value},
                    {"type": "button", "action_id": REMOTE, "text": plain("💻 I'm remote"), "value": value},
                ],
            }
        )
        blocks.append(
            context(
                "Chairs move between sections. Everyone takes notes with `/note`, or adds a message "
                "with its ⋯ menu › *Add to minutes*."
            )
        )
    current = view.current
    where = f": now at {section_label(current)}" if running and current else ""
    state = "" if running else " (ended)"
    return f"Agenda of {escape(title)}{state}{where}", blocks


# -- section threads and note echoes ----------------------------------------------------------


def section_heading(item: SectionView) -> tuple[str, list[Block]]:
    """The message that starts a section's thread."""
    marker = "▸ " if item.level == 2 else ""
    return section_label(item), [
        section(f"{marker}*{section_label(item)}*"),
        context(
            "Notes taken in this section appear in this thread. To add a message to the minutes, "
            "use its ⋯ menu › *Add to minutes*."
        ),
    ]


def note_echo(note: NoteView) -> tuple[str, list[Block]]:
    """A note as echoed into its section's thread, with its Edit/Delete menu."""
    body = truncate(escape(note.text), MAX_TEXT - 200)
    author = escape(note.author_name or "someone")
    ids = {"block_id": f"note-{note.id}"}
    if note.deleted:
        who = escape(note.revised_by or "someone")
        return f"Note #{note.seq} was deleted", [
            section(f"~{body}~", **ids),
            {**context(f"#{note.seq} · noted by {author} · deleted by {who}"), "block_id": f"note-{note.id}-by"},
        ]
    label = {"action": "*Action:* ", "decision": "*Decision:* "}.get(note.kind, "")
    reply = "↳ " * note.depth
    edited = f" · edited by {escape(note.revised_by)}" if note.revised_by else ""
    menu = {
        "type": "overflow",
        "action_id": NOTE_MENU,
        "options": [
            {"text": plain("✏️ Edit"), "value": f"edit:{note.id}"},
            {"text": plain("🗑️ Delete"), "value": f"delete:{note.id}"},
        ],
    }
    return truncate(f"#{note.seq} {author}: {body}", MAX_TEXT), [
        section(f"{reply}{label}{body}", accessory=menu, **ids),
        {**context(f"#{note.seq} · noted by {author}{edited}"), "block_id": f"note-{note.id}-by"},
    ]


def note_echoes(notes: Sequence[NoteView], heading: SectionView | None = None) -> tuple[str, list[Block]]:
    """Several notes echoed in one message (a burst in one thread), each with its own blocks and
    Edit/Delete menu, as :func:`note_echo` shows it; the text is theirs, a line each. With
    *heading*, the message also starts that section's thread: its heading first
    (:func:`section_heading`). The notes must fit in one message (:func:`echo_fits`, counting
    :func:`heading_size`)."""
    parts = [note_echo(note) for note in notes]
    if heading is not None:
        parts.insert(0, section_heading(heading))
    text = "\n".join(line for line, _ in parts)
    return truncate(text, MAX_MESSAGE_TEXT), [block for _, echo in parts for block in echo]


def echoed_note_ids(message_blocks: object) -> list[int]:
    """The ids of the notes a message's blocks echo (:func:`note_echo`'s ``note-<id>`` blocks)."""
    found = []
    for block in message_blocks if isinstance(message_blocks, list) else []:
        match = _ECHO_BLOCK.fullmatch(str(block.get("block_id") or "")) if isinstance(block, dict) else None
        if match:
            found.append(int(match.group(1)))
    return found


_ECHO_BLOCK = re.compile(r"note-(\d+)")


def heading_size(item: SectionView) -> tuple[int, int]:
    """What a section's heading takes of a message that also echoes notes (as :func:`echo_size`)."""
    text, heading = section_heading(item)
    return len(heading), len(text) + sum(len(json.dumps(block)) for block in heading)


def echo_size(note: NoteView) -> tuple[int, int]:
    """What a note's echo takes of a message: blocks, and characters (its blocks' and its line)."""
    text, echo = note_echo(note)
    return len(echo), len(text) + sum(len(json.dumps(block)) for block in echo)


def echo_fits(size: tuple[int, int], more: tuple[int, int]) -> bool:
    """Whether an echo of *more* (:func:`echo_size`) fits in a message that already holds *size*."""
    return size[0] + more[0] <= MAX_MESSAGE_BLOCKS and size[1] + more[1] <= MAX_MESSAGE_TEXT


# -- modals -----------------------------------------------------------------------------------


def agenda_editor(outline: str, meta: str, title: str | None = None) -> dict[str, Any]:
    """The agenda editor: the agenda as an outline, one section a line."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": OUTLINE_INPUT,
        "multiline": True,
        "max_length": MAX_TEXT,
        "placeholder": plain("Backup Datacenter [10m]\nArchitecture\n- Document RFC [5m]"),
    }
    if outline:
        element["initial_value"] = truncate(outline, MAX_TEXT)
    heading = f"Agenda of *{escape(title)}*" if title else "Agenda of the next meeting"
    return {
        "type": "modal",
        "callback_id": AGENDA_EDITOR,
        "private_metadata": meta,
        "title": plain("Agenda", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(heading),
            {
                "type": "input",
                "block_id": OUTLINE_BLOCK,
                "optional": True,
                "label": plain("One section a line", 2000),
                "element": element,
                "hint": plain(
                    "Start a subsection with “- ”; give a planned duration as [10m]. Sections that "
                    "already have notes, and the current one, stay on the agenda.",
                    2000,
                ),
            },
        ],
    }


def note_editor(note: NoteView, meta: str) -> dict[str, Any]:
    """The editor of one note."""
    where = f" in {section_label(note.section)}" if note.section else ""
    return {
        "type": "modal",
        "callback_id": NOTE_EDITOR,
        "private_metadata": meta,
        "title": plain(f"Edit note #{note.seq}", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            context(f"Noted by {escape(note.author_name)}{where}. The change is recorded with your name."),
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "label": plain("Note", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_INPUT,
                    "multiline": True,
                    "max_length": MAX_TEXT,
                    "initial_value": note.text,
                },
            },
        ],
    }


# -- App Home ---------------------------------------------------------------------------------


def link(url: str | None, label: str) -> str | None:
    """A mrkdwn link to an https URL, if the URL is safe to put in one."""
    if url and url.startswith("https://") and not any(c in url for c in "<>| "):
        return f"<{url}|{label}>"
    return None


def home(
    upcoming: Sequence[MeetingView],
    recent: Sequence[MeetingView],
    drafts: Mapping[int, str | None],
    pages: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """The Home tab: the person's upcoming reviews and recent meetings with their drafts.

    *drafts* maps a meeting id to the permalink of its uploaded draft file (None when unknown),
    *pages* to the wiki page it was published to.
    """
    blocks: list[Block] = [
        {"type": "header", "text": plain("Your reviews")},
        context(
            "Meetings of the channels where you prepared, chaired or took notes in a review. "
            "`/review help` in a channel lists every command."
        ),
        {"type": "header", "text": plain("Upcoming")},
    ]
    for view in upcoming[:20]:
        where = f"<#{view.channel_id}>" if view.channel_id else "a channel"
        count = len(view.sections)
        if view.status == MeetingStatus.RUNNING and view.started_at is not None:
            now_at = f", now at {section_label(view.current)}" if view.current else ""
            title = escape(view.title or "Review")
            text = f"🟢 *{title}* in {where}: running since {slack_date(view.started_at)}{now_at}"
        else:
            text = (
                f"🗓️ *Next review* in {where}: {count} section{'' if count == 1 else 's'} on the agenda. "
                "Edit it there with `/review agenda`; start with `/review start &lt;title&gt;`."
            )
        blocks.append(section(text))
    if not upcoming:
        blocks.append(context("Nothing prepared yet. In a channel, `/review agenda` prepares the next review."))
    blocks += [{"type": "divider"}, {"type": "header", "text": plain("Recent meetings")}]
    for view in recent[:20]:
        where = f"<#{view.channel_id}>" if view.channel_id else "its channel"
        when = view.started_at.strftime("%Y-%m-%d") if view.started_at else "?"
        notes = f"{view.note_count} note{'' if view.note_count == 1 else 's'}"
        found = [
            link(drafts.get(view.id), "📄 Wiki draft"),
            link((pages or {}).get(view.id), "📘 On the wiki"),
        ]
        shown = " · ".join(f for f in found if f) or f"Draft: `/review export {view.id}` in {where}"
        blocks.append(section(f"#{view.id} *{escape(view.title or 'Review')}* in {where}, {when} · {notes}\n{shown}"))
    if not recent:
        blocks.append(context("No meeting has ended yet."))
    return {"type": "home", "blocks": blocks[:100]}


SEARCH_MORE = "search_more"  # the "More" button under search results; its value is the search and where to go on
MAX_BUTTON_VALUE = 2000  # Slack's limit on a button's value


def search_results(results: SearchResults, minutes: Mapping[int, str]) -> tuple[str, list[Block]]:
    """A page of ``/review search`` results: a line each with meeting, date, section and speaker
    (the meeting a link to the wiki page at that section, or else to the posted minutes, from
    *minutes*: meeting id to URL), the note with the matched words in bold, and a "More" button
    while more follow. Everything typed is escaped before the bold marks go in."""
    blocks: list[Block] = [section(escape(summary(results)))]
    for number, result in enumerate(results.results, start=results.offset + 1):
        url = result.link.url if result.link else minutes.get(result.meeting_id)
        title = escape(result.meeting_title)
        title = f"<{escape(url).replace('|', '%7C')}|{title}>" if url else title
        when = f"{result.meeting_date:%B} {result.meeting_date.day}, {result.meeting_date.year}"
        where = [escape(part) for part in (result.section, result.speaker) if part]
        kind = {"action": " · *action*", "decision": " · *decision*"}.get(result.kind, "")
        note = _bold_matches(result.segments)
        heading = " · ".join([f"{number}. *{title}*, {when}", *where]) + kind
        blocks.append(section(f"{heading}\n{note}"))
    if results.more:
        value = json.dumps({"q": results.query, "o": results.offset + len(results.results)})
        if len(value) <= MAX_BUTTON_VALUE:
            button = {"type": "button", "action_id": SEARCH_MORE, "text": plain("More"), "value": value}
            blocks.append({"type": "actions", "block_id": SEARCH_MORE, "elements": [button]})
    return truncate(results_text(results), MAX_TEXT), blocks


def _bold_matches(segments: Sequence[tuple[str, bool]]) -> str:
    """A note's text, escaped, its matched words in bold (unless already between ``*``)."""
    out = []
    for n, (text, matched) in enumerate(segments):
        before = segments[n - 1][0] if n else ""
        after = segments[n + 1][0] if n + 1 < len(segments) else ""
        starred = before.endswith("*") and after.startswith("*")
        out.append(f"*{escape(text)}*" if matched and not starred else escape(text))
    return "".join(out)
