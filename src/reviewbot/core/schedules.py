"""A channel's review series as stored: set, shown, skipped (and back on), reminded of, cancelled.

Setting a new series replaces (cancels) the channel's current one, so each series row keeps the
pattern it was set with and the send log's keys (which name the series) stay meaningful.
Changes take the channel's row lock like every other command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewbot.core import recurrence
from reviewbot.core.channels import channel_row
from reviewbot.core.context import Caller, Clock, UserError
from reviewbot.store.database import Database
from reviewbot.store.schema import Channel, ReviewSeries, SeriesSkip

NO_SERIES = (
    "This channel has no review schedule. Set one with "
    "`/review schedule <YYYY-MM-DD> <HH:MM> [<timezone>] [quarterly|once]`."
)


@dataclass(frozen=True)
class SeriesView:
    """A stored series and where to post about it."""

    id: int
    channel_pk: int
    workspace_id: str
    channel_id: str
    pattern: recurrence.Pattern
    offsets: tuple[int, ...]
    reminders_from: datetime
    skipped: frozenset[datetime]

    def upcoming(self, after: datetime, limit: int) -> list[tuple[datetime, bool]]:
        """The next *limit* meetings after *after*, each with whether it is skipped."""
        return [(m, m in self.skipped) for m in recurrence.upcoming(self.pattern, after, limit)]

    def next_meeting(self, after: datetime) -> datetime | None:
        """The next meeting that is not skipped, if any."""
        for moment in recurrence.occurrences(self.pattern, after):
            if moment not in self.skipped:
                return moment
            if self.pattern.recurrence is recurrence.Recurrence.ONCE:
                break
        return None


def encode_offsets(offsets: Sequence[int]) -> str:
    """Offsets as stored: ``20160,1440,15``."""
    return ",".join(str(o) for o in offsets)


def decode_offsets(stored: str) -> tuple[int, ...]:
    """The stored offsets, largest first."""
    return tuple(int(o) for o in stored.split(",") if o.strip())


class Schedules:
    """Each channel's review series."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def set(self, caller: Caller, pattern: recurrence.Pattern) -> SeriesView:
        """Make *pattern* the channel's series, replacing the current one (keeping its reminders)."""
        now = self.clock.now()
        if not recurrence.upcoming(pattern, now, 1):
            raise UserError("That meeting is in the past. Give a date and time that are still ahead.")
        with self.db.write() as session:
            channel = channel_row(session, caller, self.clock.now())
            assert channel is not None
            current = _active(session, channel.id)
            offsets = recurrence.DEFAULT_OFFSETS
            if current is not None:
                offsets = decode_offsets(current.reminder_offsets)
                current.cancelled_at, current.cancelled_by = now, caller.user_id
            series = ReviewSeries(
                channel_pk=channel.id,
                recurrence=pattern.recurrence,
                first_date=pattern.first,
                local_time=pattern.at,
                timezone=pattern.zone,
                reminder_offsets=encode_offsets(offsets),
                reminders_from=now,
                created_by=caller.user_id,
                created_at=now,
            )
            session.add(series)
            session.flush()
            return _view(session, series, channel)

    def current(self, caller: Caller) -> SeriesView | None:
        """The channel's series, if it has one."""
        with self.db.read() as session:
            channel = channel_row(session, caller, self.clock.now(), lock=False)
            series = None if channel is None else _active(session, channel.id)
            return None if series is None or channel is None else _view(session, series, channel)

    def cancel(self, caller: Caller) -> SeriesView:
        """End the channel's series: no more meetings, no more reminders."""
        with self.db.write() as session:
            series, channel = self._require(session, caller)
            series.cancelled_at, series.cancelled_by = self.clock.now(), caller.user_id
            return _view(session, series, channel)

    def skip(self, caller: Caller) -> tuple[SeriesView, datetime]:
        """Skip the next meeting of the series; returns the series and the skipped meeting."""
        now = self.clock.now()
        with self.db.write() as session:
            series, channel = self._require(session, caller)
            view = _view(session, series, channel)
            moment = view.next_meeting(now)
            if moment is None:
                raise UserError("There is no meeting ahead to skip. `/review schedule` shows the series.")
            session.add(
                SeriesSkip(series_id=series.id, occurrence_at=moment, created_by=caller.user_id, created_at=now)
            )
            session.flush()
            return _view(session, series, channel), moment

    def unskip(self, caller: Caller) -> tuple[SeriesView, datetime]:
        """Take back the latest skip of a meeting still ahead; returns the series and that meeting
        (its reminders go out again, those not yet past)."""
        now = self.clock.now()
        with self.db.write() as session:
            series, channel = self._require(session, caller)
            skip = session.scalars(
                select(SeriesSkip)
                .where(SeriesSkip.series_id == series.id, SeriesSkip.occurrence_at > now)
                .order_by(SeriesSkip.created_at.desc(), SeriesSkip.id.desc())
                .limit(1)
            ).first()
            if skip is None:
                raise UserError("No meeting ahead is skipped. `/review schedule` shows the series.")
            moment = skip.occurrence_at
            session.delete(skip)
            session.flush()
            return _view(session, series, channel), moment

    def set_reminders(self, caller: Caller, offsets: Sequence[int]) -> SeriesView:
        """Set how long before each meeting the reminders go out (from now on)."""
        with self.db.write() as session:
            series, channel = self._require(session, caller)
            series.reminder_offsets = encode_offsets(offsets)
            series.reminders_from = self.clock.now()
            return _view(session, series, channel)

    def active(self) -> list[SeriesView]:
        """Every channel's current series, for the reminder sweep."""
        with self.db.read() as session:
            rows = session.execute(
                select(ReviewSeries, Channel)
                .join(Channel, Channel.id == ReviewSeries.channel_pk)
                .where(ReviewSeries.cancelled_at.is_(None))
                .order_by(ReviewSeries.id)
            ).all()
            return [_view(session, series, channel) for series, channel in rows]

    def _require(self, session: Session, caller: Caller) -> tuple[ReviewSeries, Channel]:
        channel = channel_row(session, caller, self.clock.now())
        assert channel is not None
        series = _active(session, channel.id)
        if series is None:
            raise UserError(NO_SERIES)
        return series, channel


def _active(session: Session, channel_pk: int) -> ReviewSeries | None:
    return session.scalars(
        select(ReviewSeries)
        .where(ReviewSeries.channel_pk == channel_pk, ReviewSeries.cancelled_at.is_(None))
        .order_by(ReviewSeries.id.desc())
        .limit(1)
    ).first()


def _view(session: Session, series: ReviewSeries, channel: Channel) -> SeriesView:
    skipped = session.scalars(select(SeriesSkip.occurrence_at).where(SeriesSkip.series_id == series.id))
    return SeriesView(
        id=series.id,
        channel_pk=channel.id,
        workspace_id=channel.workspace_id,
        channel_id=channel.channel_id,
        pattern=recurrence.Pattern(
            first=series.first_date, at=series.local_time, zone=series.timezone, recurrence=series.recurrence
        ),
        offsets=decode_offsets(series.reminder_offsets),
        reminders_from=series.reminders_from,
        skipped=frozenset(skipped),
    )
