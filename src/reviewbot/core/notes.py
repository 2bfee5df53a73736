"""Reading a typed note: reply depth, action items and decisions, and the speaker prefix."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from reviewbot.core.context import UserError

MAX_DEPTH = 2
MAX_NOTE_LENGTH = 4000
MAX_SPEAKER_LENGTH = 64
_ACTION = re.compile(r"^action\b\s*:?\s*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_DECISION = re.compile(r"^decision\b\s*:?\s*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ParsedNote:
    """A note as typed, taken apart: ``text`` is what the minutes show, as it was typed."""

    depth: int
    kind: str
    text: str
    owner: str | None = None


def name_key(name: str) -> str:
    """How names are compared: case-insensitive, without surrounding space or a leading ``@``."""
    return " ".join(name.strip().lstrip("@").split()).casefold()


def split_speaker(text: str) -> tuple[str, str] | None:
    """Split ``Speaker: text`` into its two parts, if the part before the colon can be a name."""
    prefix, colon, rest = text.partition(":")
    name = prefix.strip()
    if not colon or not name or not rest.strip() or len(name) > MAX_SPEAKER_LENGTH:
        return None
    if "//" in rest[:2]:  # a URL such as https://..., not a speaker
        return None
    return name, rest.strip()


def parse(raw: str) -> ParsedNote:
    """Parse the text of ``/note``: leading ``>`` per reply level, then ``action``/``decision``."""
    text = raw.strip()
    depth = 0
    while text.startswith(">"):
        depth += 1
        text = text[1:].lstrip()
    if depth > MAX_DEPTH:
        raise UserError(f"Replies nest at most {MAX_DEPTH} levels deep (`/note >> ...`).")
    if len(text) > MAX_NOTE_LENGTH:
        raise UserError(f"That note is {len(text)} characters long; the limit is {MAX_NOTE_LENGTH}.")
    kind, owner = "note", None
    if match := _ACTION.match(text):
        rest = match.group("rest").strip()
        parts = split_speaker(rest)
        if parts is None:
            raise UserError("Write an action item as `/note action <Owner>: <what they will do>`.")
        kind, owner, text = "action", parts[0], rest
    elif (match := _DECISION.match(text)) and match.group("rest").strip():
        kind, text = "decision", match.group("rest").strip()
    if not text or (split_speaker(text) is None and text.rstrip().endswith(":") and ":" not in text[:-1]):
        raise UserError("The note is empty. Type `/note <text>` or `/note Speaker: <text>`.")
    return ParsedNote(depth=depth, kind=kind, text=text, owner=owner)


def quoted(speaker: str, said: str) -> ParsedNote:
    """A note of what *speaker* said, taken as it is (no replies, actions or decisions)."""
    speaker = " ".join(speaker.split()).lstrip("@")
    said = said.strip()
    if not said:
        raise UserError("That message has no text to add to the minutes.")
    if not speaker or len(speaker) > MAX_SPEAKER_LENGTH:
        speaker = "Someone"
    text = f"{speaker}: {said}"
    if len(text) > MAX_NOTE_LENGTH:
        raise UserError(f"That message is {len(said)} characters long; a note can have at most {MAX_NOTE_LENGTH}.")
    return ParsedNote(depth=0, kind="note", text=text)


def speaker_of(text: str, is_person: Callable[[str], bool]) -> str | None:
    """The speaker of a note, when its prefix names a person (``is_person``) or is a mention."""
    parts = split_speaker(text)
    if parts is None:
        return None
    name = parts[0]
    if name.startswith("@") or is_person(name_key(name)):
        return name.lstrip("@").strip()
    return None


@dataclass(frozen=True)
class PlacedNote:
    """A note ready to store: its reply depth checked and its speaker and owner decided."""

    depth: int
    kind: str
    text: str
    speaker: str | None
    owner: str | None


def place(
    parsed: ParsedNote,
    section_id: int | None,
    previous: tuple[int, int | None] | None,
    is_person: Callable[[str], bool],
    speaker: str | None = None,
) -> PlacedNote:
    """The rules for a note taken in *section_id* after the meeting's last note (*previous*: its
    depth and section, None if there is none yet).

    A reply (``>``) needs a note of the same section to reply to, at most one level above it.
    The speaker is *speaker* when given (a message quoted as it is), else the ``Name:`` prefix
    when it names a person of the meeting (*is_person*, on :func:`name_key`) or is a mention.
    """
    if parsed.depth and (previous is None or previous[1] != section_id):
        raise UserError("There is no note in this section to reply to yet; drop the `>`.")
    if previous is not None and parsed.depth > previous[0] + 1:
        raise UserError(f"A reply can only go one level below the note before it (`{'>' * (previous[0] + 1)}`).")
    return attribute(parsed, is_person, speaker)


def attribute(parsed: ParsedNote, is_person: Callable[[str], bool], speaker: str | None = None) -> PlacedNote:
    """*parsed* with its speaker and owner decided (the rules of :func:`place`, without the reply
    checks: for a note whose place is already settled, as when its message is edited)."""
    said_by = speaker_of(parsed.text, is_person) if speaker is None else " ".join(speaker.split()).lstrip("@")
    owner = parsed.owner.lstrip("@").strip() if parsed.owner else None
    return PlacedNote(depth=parsed.depth, kind=parsed.kind, text=parsed.text, speaker=said_by, owner=owner)
