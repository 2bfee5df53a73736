"""Notices the bot posts on its own: series reminders and timebox notices, each exactly once.

:meth:`Notices.sweep` looks at the stored state as of now (the clock is injected) and posts
whatever is due: reminders of each channel's series, and the heads-up and over-time notices of
the section a running meeting is in. It is safe to call at any time, as often as wanted, from
any number of processes:

* Every notice has a key in the send log (``notice_sends``); a process *claims* the key (a
  committed row, unique) before posting, so no two posts of one notice can happen.
* A post that Slack certainly refused is retried on later sweeps while it is still useful; one
  whose fate is unknown (a timeout) is never retried: a lost reminder is better than two.
* A reminder that fell due while no bot was running is sent late once if its meeting is still
  ahead (only the latest of several due at once), and dropped, with a log line, if it is past.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reviewbot.core import action_items, agenda, fiscal, recurrence, timeboxes
from reviewbot.core.agenda_carry import copy_offer
from reviewbot.core.channels import latest_meeting
from reviewbot.core.context import Clock, Poster, PostError
from reviewbot.core.meetings.views import load_timeboxes, meeting_view
from reviewbot.core.replies import Moment, Reply, Visibility
from reviewbot.core.schedules import Schedules, SeriesView
from reviewbot.core.texts import format_agenda
from reviewbot.store.database import Database
from reviewbot.store.schema import Channel, Meeting, MeetingStatus, NoticeSend, NoticeStatus, Recurrence

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
STALE_CLAIM = timedelta(minutes=10)
SOON = timedelta(hours=1)
# How far back the sweep looks for meetings whose reminders were missed, to log them as dropped.
LOOKBACK = timedelta(days=92)


@dataclass
class SweepReport:
    """What one sweep did, by send-log key."""

    sent: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Due:
    key: str
    channel_pk: int
    workspace_id: str
    channel_id: str
    due_at: datetime


def reminder_key(series_id: int, reminder: recurrence.Reminder) -> str:
    """``reminder:<series>:<meeting in UTC>:<minutes before>``."""
    return f"reminder:{series_id}:{reminder.occurrence:%Y-%m-%dT%H:%MZ}:{reminder.offset}"


def timebox_key(section_id: int, kind: str) -> str:
    """``timebox:<section>:heads-up`` or ``timebox:<section>:over``."""
    return f"timebox:{section_id}:{kind}"


def worker_name() -> str:
    """This process, as the send log records who claimed a notice."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Notices:
    """Finds the notices that are due and posts each one once."""

    def __init__(
        self,
        db: Database,
        schedules: Schedules,
        clock: Clock,
        fiscal_year_start_month: int = 7,
        worker: str | None = None,
    ) -> None:
        self.db = db
        self.schedules = schedules
        self.clock = clock
        self.fiscal_year_start_month = fiscal_year_start_month
        self.worker = worker or worker_name()

    def sweep(self, poster: Poster) -> SweepReport:
        """Post every notice that is due now and not yet handled."""
        now = self.clock.now()
        report = SweepReport()
        self._expire_stale_claims(now)
        for series in self.schedules.active():
            self._series_reminders(series, poster, now, report)
        self._timebox_notices(poster, now, report)
        return report

    # -- reminders ------------------------------------------------------------------------------

    def _series_reminders(self, series: SeriesView, poster: Poster, now: datetime, report: SweepReport) -> None:
        if not series.offsets:
            return
        horizon = now + timedelta(minutes=max(series.offsets))
        meetings = []
        after = max(series.reminders_from, now - LOOKBACK) - timedelta(seconds=1)
        for moment in recurrence.occurrences(series.pattern, after):
            if moment > horizon:
                break
            if moment not in series.skipped:
                meetings.append(moment)
        due = recurrence.reminders_due(meetings, series.offsets, series.reminders_from, now)
        keys = {reminder_key(series.id, r): r for r in due}
        pending = self._pending(keys)
        plan = recurrence.triage((keys[k] for k in pending), now)

        def target(reminder: recurrence.Reminder) -> _Due:
            key = reminder_key(series.id, reminder)
            return _Due(key, series.channel_pk, series.workspace_id, series.channel_id, reminder.due_at)

        for reminder in plan.past:
            if self._drop(target(reminder), now, "its meeting is already past"):
                log.warning("dropped reminder %s: its meeting is already past", target(reminder).key)
                report.dropped.append(target(reminder).key)
        for reminder in plan.superseded:
            if self._drop(target(reminder), now, "a later reminder of the same meeting replaces it"):
                log.info("dropped reminder %s: a later reminder replaces it", target(reminder).key)
                report.dropped.append(target(reminder).key)
        for reminder in plan.send:
            self._deliver(target(reminder), poster, now, report, lambda r=reminder: self.reminder(series, r, now))

    def reminder(self, series: SeriesView, reminder: recurrence.Reminder, now: datetime) -> Reply:
        """A reminder: when, which quarter, the agenda so far, open action items. The first
        reminder of a meeting with no agenda yet offers to copy the last meeting's."""
        meeting = reminder.occurrence
        zone = series.pattern.zone
        when = Moment(meeting, zone)
        quarter = fiscal.quarter_under_review(
            meeting.astimezone(ZoneInfo(zone)).date(), self.fiscal_year_start_month
        ).label
        name = "Quarterly review" if series.pattern.recurrence is Recurrence.QUARTERLY else "Review"
        left = meeting - now
        lines = []
        if left <= SOON:
            lines.append(f"⏰ *{name} starting soon*: {when} ({_in(left)}), reviewing {quarter}.")
            lines.append("Start it with `/review start <meeting title>` when everyone is in.")
        else:
            lines.append(f"🗓️ *{name} {_in(left)}*: {when}, reviewing {quarter}.")
            lines.append("Add agenda items and slides: `/review agenda add <Title> [10m]`, `/review slides <link>`.")
        with self.db.read() as session:
            planned = latest_meeting(session, series.channel_pk, MeetingStatus.PLANNED)
            view = None if planned is None else meeting_view(session, planned)
            offer = None
            if view is not None and view.sections:
                lines += ["", format_agenda(view)]
            else:
                if self._first_of_meeting(session, series, reminder):
                    offer = copy_offer(session, series.channel_pk)
                copy = f" {offer} copies the last meeting's agenda." if offer else ""
                lines += ["", f"_No agenda items yet._{copy}"]
            open_items = action_items.open_from_previous(session, series.channel_pk)
        if open_items:
            lines += ["", f"*Open action items from the last meeting* ({open_items[0].meeting_day}):"]
            lines += [f"• {item.text}" for item in open_items]
            lines.append("`/review actions` lists them; `/review actions done <n>` closes one.")
        return Reply("\n".join(lines), Visibility.CHANNEL, marks=(when, offer) if offer else (when,))

    @staticmethod
    def _first_of_meeting(session: Session, series: SeriesView, reminder: recurrence.Reminder) -> bool:
        """Whether no earlier reminder of the same meeting was posted (or may have been)."""
        earlier = [
            reminder_key(series.id, recurrence.Reminder(reminder.occurrence, offset))
            for offset in series.offsets
            if offset > reminder.offset
        ]
        if not earlier:
            return True
        posted = (NoticeStatus.SENT, NoticeStatus.UNKNOWN)
        query = select(func.count(NoticeSend.id)).where(NoticeSend.key.in_(earlier), NoticeSend.status.in_(posted))
        return not session.scalar(query)

    # -- timeboxes ------------------------------------------------------------------------------

    def _timebox_notices(self, poster: Poster, now: datetime, report: SweepReport) -> None:
        due: list[tuple[_Due, str]] = []
        with self.db.read() as session:
            running = session.execute(
                select(Meeting, Channel)
                .join(Channel, Channel.id == Meeting.channel_pk)
                .where(Meeting.status == MeetingStatus.RUNNING)
            ).all()
            for meeting, channel in running:
                pairs = load_timeboxes(session, meeting, now)
                labels = agenda.numbers([s for s, _ in pairs])
                for (section, box), label in zip(pairs, labels, strict=True):
                    kind = box.due()
                    if kind is None:
                        continue
                    text = timebox_text(kind, f"{label} {section.title}", box)
                    target = _Due(
                        timebox_key(section.id, kind), channel.id, channel.workspace_id, channel.channel_id, now
                    )
                    due.append((target, text))
        pending = self._pending({target.key: target for target, _ in due})
        for target, text in due:
            if target.key in pending:
                self._deliver(target, poster, now, report, lambda t=text: Reply(t, Visibility.CHANNEL))

    # -- the send log ---------------------------------------------------------------------------

    def _pending(self, keys: Iterable[str]) -> set[str]:
        """Those of *keys* that may still be posted: not in the log, or failed and retryable."""
        keys = set(keys)
        if not keys:
            return set()
        with self.db.read() as session:
            rows = session.execute(
                select(NoticeSend.key, NoticeSend.status, NoticeSend.attempts).where(NoticeSend.key.in_(keys))
            ).all()
        done = {r.key for r in rows if r.status is not NoticeStatus.FAILED or r.attempts >= MAX_ATTEMPTS}
        return keys - done

    def _deliver(
        self, target: _Due, poster: Poster, now: datetime, report: SweepReport, message: Callable[[], Reply]
    ) -> None:
        """Claim *target*'s key, post the message (``message()``), and record how it went."""
        if not self._claim(target, now):
            return
        status, detail = NoticeStatus.SENT, None
        try:
            posted = message()
            poster.post(target.workspace_id, target.channel_id, posted.text, posted.marks)
        except PostError as error:
            status = NoticeStatus.FAILED if error.retry else NoticeStatus.UNKNOWN
            detail = error.reason
        except Exception as error:  # an unexpected failure may have posted: never retry it
            status, detail = NoticeStatus.UNKNOWN, f"{type(error).__name__}: {error}"
            log.exception("posting %s failed", target.key)
        with self.db.write() as session:
            session.execute(
                update(NoticeSend)
                .where(NoticeSend.key == target.key)
                .values(status=status, detail=detail, sent_at=now if status is NoticeStatus.SENT else None)
            )
        if status is NoticeStatus.SENT:
            log.info("posted %s to %s", target.key, target.channel_id)
            report.sent.append(target.key)
        else:
            log.warning("could not post %s to %s (%s): %s", target.key, target.channel_id, status.value, detail)
            report.failed.append(target.key)

    def _claim(self, target: _Due, now: datetime) -> bool:
        """Take the key for this process to post it; False if another process has it."""
        return self._log(target, now, NoticeStatus.CLAIMED)

    def _drop(self, target: _Due, now: datetime, reason: str) -> bool:
        """Record that a notice will never be sent; False if another process handled it first."""
        return self._log(target, now, NoticeStatus.DROPPED, reason)

    def _log(self, target: _Due, now: datetime, status: NoticeStatus, detail: str | None = None) -> bool:
        """Enter the key in the send log with *status*: as a new row, or over a row that failed
        (one that may still be retried, for a claim). False if the key is someone else's."""
        claim = status is NoticeStatus.CLAIMED
        try:
            with self.db.write() as session:
                session.add(
                    NoticeSend(
                        key=target.key,
                        channel_pk=target.channel_pk,
                        status=status,
                        due_at=target.due_at,
                        attempts=1 if claim else 0,
                        claimed_by=self.worker,
                        claimed_at=now,
                        detail=detail,
                    )
                )
                session.flush()
            return True
        except IntegrityError:
            pass
        query = update(NoticeSend).where(NoticeSend.key == target.key, NoticeSend.status == NoticeStatus.FAILED)
        if claim:
            query = query.where(NoticeSend.attempts < MAX_ATTEMPTS).values(attempts=NoticeSend.attempts + 1)
        with self.db.write() as session:
            result = session.execute(query.values(status=status, claimed_by=self.worker, claimed_at=now, detail=detail))
            return bool(result.rowcount)

    def _expire_stale_claims(self, now: datetime) -> None:
        """A claim never finished (its process died mid-post): mark it unknown, never retried."""
        with self.db.write() as session:
            stale = session.scalars(
                select(NoticeSend).where(
                    NoticeSend.status == NoticeStatus.CLAIMED, NoticeSend.claimed_at < now - STALE_CLAIM
                )
            ).all()
            for row in stale:
                log.warning("notice %s was claimed by %s but never confirmed; not retrying", row.key, row.claimed_by)
                row.status, row.detail = NoticeStatus.UNKNOWN, "claimed but never confirmed"


def timebox_text(kind: str, section: str, box: timeboxes.Timebox) -> str:
    """The heads-up or over-time notice of a section."""
    plan = (box.plan_seconds or 0) // 60
    if kind == timeboxes.HEADS_UP:
        seconds = (box.plan_seconds or 0) - box.used_seconds
        left = f"{round(seconds / 60)} min" if seconds >= 60 else "under a minute"
        return f"⏳ *{section}*: {left} left of the {plan} min planned."
    used = round(box.used_seconds / 60)
    return f"⌛ *{section}*: time is up ({used} min used of {plan} planned). `/review next` moves on."


def _in(left: timedelta) -> str:
    seconds = left.total_seconds()
    if seconds >= 2 * 86400 - 3600:
        return f"in {round(seconds / 86400)} days"
    if seconds >= 90 * 60:
        return f"in {round(seconds / 3600)} hours"
    return f"in {max(round(seconds / 60), 1)} minutes"
