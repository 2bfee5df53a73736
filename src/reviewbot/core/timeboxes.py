"""Timeboxes: time used against the plan per section, and when to say time is nearly or fully up.

A top-level section's time includes its subsections', so ``Architecture [20m]`` keeps counting
while the meeting is in ``Architecture / Document RFC``. Time spent in a section on earlier
visits counts too. The heads-up comes two minutes before the time is up, or at 80 % for
sections shorter than ten minutes. Pure functions over stored visits; nothing here stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from reviewbot.core import agenda

HEADS_UP_SECONDS = 120
HEADS_UP_SHARE = 0.2
HEADS_UP = "heads-up"
OVER = "over"


class Planned(Protocol):
    """A section: its id, outline level and planned minutes."""

    @property
    def id(self) -> int: ...

    @property
    def level(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def duration_minutes(self) -> int | None: ...


@dataclass(frozen=True)
class Visit:
    """The meeting was at a section from *started_at* until *ended_at* (None: it still is)."""

    section_id: int
    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Timebox:
    """A section's time: planned (None if not planned), used so far, and whether it is running."""

    section_id: int
    plan_seconds: int | None
    used_seconds: float
    active: bool

    @property
    def lead_seconds(self) -> float:
        """How long before the end the heads-up comes."""
        return min(HEADS_UP_SECONDS, HEADS_UP_SHARE * (self.plan_seconds or 0))

    def due(self) -> str | None:
        """``OVER`` or ``HEADS_UP`` when that notice is due now, else None."""
        if not self.active or not self.plan_seconds:
            return None
        if self.used_seconds >= self.plan_seconds:
            return OVER
        if self.used_seconds >= self.plan_seconds - self.lead_seconds:
            return HEADS_UP
        return None


def block_ids(sections: Sequence[Planned], index: int) -> set[int]:
    """The section at *index* and, for a top-level section, its subsections."""
    if sections[index].level > 1:
        return {sections[index].id}
    return {s.id for s in sections[index : agenda.block_end(sections, index)]}


def used_seconds(visits: Sequence[Visit], section_ids: set[int], now: datetime) -> float:
    """Seconds the meeting has spent in any of *section_ids* up to *now*."""
    total = 0.0
    for visit in visits:
        if visit.section_id in section_ids:
            end = min(visit.ended_at or now, now)
            total += max((end - visit.started_at).total_seconds(), 0.0)
    return total


def timeboxes(
    sections: Sequence[Planned], visits: Sequence[Visit], current_id: int | None, now: datetime
) -> list[Timebox]:
    """Every section's timebox, in agenda order."""
    result = []
    for index, section in enumerate(sections):
        ids = block_ids(sections, index)
        plan = section.duration_minutes * 60 if section.duration_minutes else None
        result.append(Timebox(section.id, plan, used_seconds(visits, ids, now), current_id in ids))
    return result
