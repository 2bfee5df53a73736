"""The agenda as an outline: top-level sections with subsections, numbered ``3`` and ``3.2``.

Pure functions over any sequence of items that have a ``level`` (1 or 2) and a ``title``; the
storage keeps them in order by position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reviewbot.core.context import UserError

MAX_TITLE_LENGTH = 200
_DURATION = re.compile(r"\s*\[\s*(\d{1,3})\s*(m|min|mins|minutes|h|hr|hours?)?\s*\]\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


class Outlined(Protocol):
    """Anything with an outline level and a title."""

    @property
    def level(self) -> int: ...

    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class AgendaItem:
    """A section as typed: its level, its title and an optional planned duration in minutes."""

    level: int
    title: str
    duration_minutes: int | None = None


def parse_item(text: str) -> AgendaItem:
    """Parse ``Title``, ``- Title`` (a subsection) and an optional trailing ``[10m]``."""
    text = text.strip()
    level = 1
    if text.startswith("-") and (len(text) == 1 or text[1].isspace()):
        level, text = 2, text[1:].strip()
    duration = None
    match = _DURATION.search(text)
    if match and match.start() > 0:
        amount = int(match.group(1))
        unit = (match.group(2) or "m").lower()
        duration = amount * 60 if unit.startswith("h") else amount
        text = text[: match.start()].strip()
    if not text:
        raise UserError("Give the section a title, e.g. `Architecture` or `- Document RFC` for a subsection.")
    if len(text) > MAX_TITLE_LENGTH:
        raise UserError(f"Section titles can be at most {MAX_TITLE_LENGTH} characters long.")
    return AgendaItem(level=level, title=text, duration_minutes=duration)


def numbers(items: Sequence[Outlined]) -> list[str]:
    """The outline number of each item: ``1``, ``2``, ``2.1``, ``2.2``, ``3``..."""
    result: list[str] = []
    top = sub = 0
    for item in items:
        if item.level <= 1:
            top, sub = top + 1, 0
            result.append(str(top))
        else:
            sub += 1
            result.append(f"{top}.{sub}" if top else f"0.{sub}")
    return result


def block_end(items: Sequence[Outlined], index: int) -> int:
    """The index just past the top-level block (section and its subsections) holding *index*."""
    end = index + 1
    while end < len(items) and items[end].level > 1:
        end += 1
    return end


def find(items: Sequence[Outlined], target: str, current: int | None = None) -> int:
    """Find a section by outline number (``4``, ``4.2``) or by title.

    A title may be given in any case, or as an unambiguous part of one; where several sections
    have the same title, the first one after the current section wins.
    """
    target = target.strip()
    if not target:
        raise UserError("Say which section: `/review goto 3`, `/review goto 3.2` or `/review goto <title>`.")
    if not items:
        raise UserError("The agenda is empty. Add sections with `/review agenda add <Title>`.")
    if _NUMBER.match(target):
        labels = numbers(items)
        if target in labels:
            return labels.index(target)
        raise UserError(f"There is no section {target}. `/review agenda` shows the numbers.")
    wanted = target.casefold()
    exact = [i for i, item in enumerate(items) if item.title.casefold() == wanted]
    partial = [i for i, item in enumerate(items) if wanted in item.title.casefold()]
    candidates = exact or partial
    if not candidates:
        raise UserError(f"No section is called “{target}”. `/review agenda` lists them.")
    if len(candidates) == 1 or exact:
        after = [i for i in candidates if current is not None and i > current]
        return after[0] if after else candidates[0]
    labels = numbers(items)
    listed = ", ".join(f"{labels[i]} {items[i].title}" for i in candidates[:6])
    raise UserError(f"“{target}” matches several sections ({listed}); give its number.")


MAX_OUTLINE_SECTIONS = 100


class Timed(Outlined, Protocol):
    """An outlined item that may have a planned duration."""

    @property
    def duration_minutes(self) -> int | None: ...


def outline(items: Sequence[Timed]) -> str:
    """The agenda as editable text: a section a line, ``- `` before subsections, ``[10m]`` durations."""
    lines = []
    for item in items:
        dash = "- " if item.level == 2 else ""
        duration = f" [{item.duration_minutes}m]" if item.duration_minutes else ""
        lines.append(f"{dash}{item.title}{duration}")
    return "\n".join(lines)


def parse_outline(text: str) -> list[AgendaItem]:
    """Parse an outline as :func:`outline` writes it; blank lines are skipped.

    Mistakes raise :class:`UserError` naming the line, so an editor can show them next to it.
    """
    items: list[AgendaItem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = parse_item(line.strip())
        except UserError as error:
            raise UserError(f"Line {number}: {error}") from None
        if item.level == 2 and not items:
            raise UserError(f"Line {number}: a subsection (`- `) must come after a top-level section.")
        items.append(item)
        if len(items) > MAX_OUTLINE_SECTIONS:
            raise UserError(f"An agenda can have at most {MAX_OUTLINE_SECTIONS} sections.")
    return items
