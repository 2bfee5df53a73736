"""The database schema: every table reviewbot keeps, as SQLAlchemy models.

The schema itself is created and upgraded by the Alembic migrations in
``reviewbot/store/migrations``; these models are what the code reads and writes. Timestamps are
stored in UTC. The one hot path, storing a batch of notes, reads and writes these tables with fixed
SQL instead (:mod:`reviewbot.store.note_batches`).
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    Unicode,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base of all models."""

    metadata = MetaData(naming_convention=NAMING)


class MeetingStatus(enum.StrEnum):
    """Life cycle of a meeting: its agenda is prepared, then it runs, then it has ended."""

    PLANNED = "planned"
    RUNNING = "running"
    ENDED = "ended"


class RevisionAction(enum.StrEnum):
    """What happened to a note after it was taken."""

    EDIT = "edit"
    DELETE = "delete"


class NoteKind(enum.StrEnum):
    """What a note records: something said, an action item, or a decision."""

    NOTE = "note"
    ACTION = "action"
    DECISION = "decision"
    RAW = "raw"  # imported wikitext that is no note (a paragraph, a table): given back exactly as it was


class Channel(Base):
    """A Slack channel (or the console) that holds meetings; its row serialises their commands."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Whether the chat says the channel is private; None while unknown (search counts it private).
    private: Mapped[bool | None] = mapped_column(Boolean)
    # When a process last learnt it from the chat (the others take it from here until it is old).
    privacy_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Meeting(Base):
    """One review meeting of a channel, from the prepared agenda to the ended minutes."""

    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_channel_status", "channel_pk", "status"),
        UniqueConstraint("source_wiki", "source_page", name="uq_meetings_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_pk: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    status: Mapped[MeetingStatus] = mapped_column(
        Enum(MeetingStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    title: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(64))
    current_section_id: Mapped[int | None] = mapped_column(Integer)
    slides_url: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(String(64))
    source_wiki: Mapped[str | None] = mapped_column(String(255))  # the wiki an imported meeting came from
    source_page: Mapped[str | None] = mapped_column(Text)  # ... and its page title
    source_revision: Mapped[int | None] = mapped_column(Integer)  # ... and the revision read
    # An imported page's lines before its first note or heading, kept as they were when the
    # meeting's fields (title, times, attendance, slides) do not render them back exactly.
    wikitext_header: Mapped[str | None] = mapped_column(Text)
    # Whether the minutes end with the "Action items" and "Decisions" lists (an imported page may not).
    summaries: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    channel: Mapped[Channel] = relationship()
    sections: Mapped[list[Section]] = relationship(
        back_populates="meeting",
        order_by="Section.position",
        foreign_keys="Section.meeting_id",
        cascade="all, delete-orphan",
    )


class Section(Base):
    """A heading of the minutes: level 1 (``==``) or 2 (``===``), in agenda order."""

    __tablename__ = "sections"
    __table_args__ = (Index("ix_sections_meeting_position", "meeting_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    planned: Mapped[bool] = mapped_column(Boolean, default=True)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    wikitext: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # imported title

    meeting: Mapped[Meeting] = relationship(back_populates="sections", foreign_keys=[meeting_id])


MARKER_LENGTH = 32
"""The longest list prefix an imported note keeps (``notes.marker``: ``#``, ``*:``); a longer one stays raw."""


class Note(Base):
    """One line of the minutes, recorded by a Slack user (its author) in a section."""

    __tablename__ = "notes"
    __table_args__ = (
        UniqueConstraint("meeting_id", "seq"),
        Index("ix_notes_author_meeting", "author_id", "meeting_id"),  # a person's meetings (see 0005)
        # A message typed in the channel, by line: edits and deletions find its notes (see 0006).
        UniqueConstraint("meeting_id", "message_key", "message_line", name="uq_notes_message"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id", ondelete="SET NULL"))
    seq: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[NoteKind] = mapped_column(
        Enum(NoteKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    speaker: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(64))
    message_key: Mapped[str | None] = mapped_column(String(64))  # the chat message it came from, if typed there
    message_line: Mapped[int | None] = mapped_column(Integer)  # which of that message's note lines
    wikitext: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # imported as is
    marker: Mapped[str | None] = mapped_column(String(MARKER_LENGTH))  # an imported list prefix other than "* "


class Attendee(Base):
    """A person at the meeting, in the office or participating remotely."""

    __tablename__ = "attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(String(255))
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    seq: Mapped[int] = mapped_column(Integer)


class Publication(Base):
    """A successful publish of a meeting's minutes to a wiki page (or to its draft subpage)."""

    __tablename__ = "publications"
    __table_args__ = (Index("ix_publications_page", "wiki", "page_title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    wiki: Mapped[str] = mapped_column(String(255))
    page_title: Mapped[str] = mapped_column(Text)
    revision_id: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(64))


class MeetingChair(Base):
    """A person who chairs a meeting: moves between sections, changes the agenda, ends it."""

    __tablename__ = "meeting_chairs"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingScribe(Base):
    """A note-taker whose messages in the meeting's channel are its notes (scribe mode)."""

    __tablename__ = "meeting_scribes"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoteRevision(Base):
    """One change to a note after it was taken: who, when, the text before and after."""

    __tablename__ = "note_revisions"
    __table_args__ = (Index("ix_note_revisions_note", "note_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"))
    action: Mapped[RevisionAction] = mapped_column(
        Enum(RevisionAction, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    editor_id: Mapped[str] = mapped_column(String(64))
    editor_name: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class SlackMessage(Base):
    """Where the Slack adapter put something of a meeting: the live agenda message (``agenda``),
    a section's thread (``section``), a note's echo (``note``), a message added by the shortcut
    (``source``) or the uploaded minutes (``minutes``, with the file's permalink in ``url``).

    ``ref_id`` is the section or note id (0 for the meeting itself). Only the Slack adapter
    reads and writes this table; the core's tables stay free of Slack.
    """

    __tablename__ = "slack_messages"
    __table_args__ = (
        UniqueConstraint("meeting_id", "kind", "ref_id"),
        Index("ix_slack_messages_channel_ts", "channel", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)


class Recurrence(enum.StrEnum):
    """How a review series repeats."""

    QUARTERLY = "quarterly"
    ONCE = "once"


class NoticeStatus(enum.StrEnum):
    """Where a notice the bot posts on its own stands in the send log."""

    CLAIMED = "claimed"  # a process is posting it now
    SENT = "sent"
    FAILED = "failed"  # Slack said no; tried again while it is still useful
    DROPPED = "dropped"  # never to be sent: its meeting is past, or a later reminder replaced it
    UNKNOWN = "unknown"  # the post may or may not have arrived; never retried


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class SectionVisit(Base):
    """The meeting was at a section from ``started_at`` to ``ended_at`` (open while it still is)."""

    __tablename__ = "section_visits"
    __table_args__ = (Index("ix_section_visits_meeting", "meeting_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReviewSeries(Base):
    """A channel's recurring review: the first meeting's local date and time, its timezone, how it
    repeats, and the reminder offsets. A channel has at most one series that is not cancelled."""

    __tablename__ = "review_series"
    __table_args__ = (Index("ix_review_series_channel", "channel_pk", "cancelled_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_pk: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    recurrence: Mapped[Recurrence] = mapped_column(_enum(Recurrence))
    first_date: Mapped[date] = mapped_column(Date())
    local_time: Mapped[time] = mapped_column(Time())
    timezone: Mapped[str] = mapped_column(String(64))
    # Minutes before each meeting, comma-separated, largest first; empty for no reminders.
    reminder_offsets: Mapped[str] = mapped_column(String(200))
    # Reminders due before this moment are never sent: it is when the series or its reminders
    # were last set, so setting them never floods the channel with reminders already past.
    reminders_from: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(64))

    channel: Mapped[Channel] = relationship()


class SeriesSkip(Base):
    """One meeting of a series that will not take place."""

    __tablename__ = "review_series_skips"
    __table_args__ = (UniqueConstraint("series_id", "occurrence_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("review_series.id", ondelete="CASCADE"))
    occurrence_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoticeSend(Base):
    """The send log: one row per notice the bot posts on its own (reminders, timebox notices).

    The unique ``key`` (``reminder:<series>:<meeting-utc>:<offset>`` or
    ``timebox:<section>:<kind>``) is claimed before the post, so no notice is posted twice, by
    any number of processes.
    """

    __tablename__ = "notice_sends"
    __table_args__ = (UniqueConstraint("key"), Index("ix_notice_sends_due_at", "due_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    channel_pk: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[str | None] = mapped_column(Text)


class SchedulerJob(Base):
    """APScheduler's job table (``SQLAlchemyJobStore``), created here so migrations own it."""

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class SlackBudget(Base):
    """Slack's Web API budget for one method of one workspace, shared by every process on a
    PostgreSQL database (:mod:`reviewbot.slack.shared_budget`): a token bucket holding ``level``
    tokens as of ``at``, and no call before ``paused_until`` (after a 429). Times are seconds of
    the database's clock, so that processes on different machines agree."""

    __tablename__ = "slack_budget"

    workspace: Mapped[str] = mapped_column(String(32), primary_key=True)
    method: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[float] = mapped_column(Float(53))
    at: Mapped[float] = mapped_column(Float(53))
    paused_until: Mapped[float] = mapped_column(Float(53))


class LiveLease(Base):
    """Which bot process may run one kind of live job (``echo``: the notes' echoes and section
    headings; ``agenda``: the live agenda message) for a meeting, until ``expires_at`` (seconds of
    the database's clock). Several processes on one PostgreSQL database take turns through it, so
    that a note is echoed once and an older agenda is never sent after a newer one
    (:mod:`reviewbot.store.live_leases`)."""

    __tablename__ = "live_leases"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    job: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float(53))
    #: Another process found it held: the holder runs its job once more before letting it go.
    wanted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
