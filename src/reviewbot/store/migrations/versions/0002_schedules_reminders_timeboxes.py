"""review series, skips, send log, section visits, closed action items, APScheduler jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=64), nullable=True))

    op.create_table(
        "section_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_section_visits_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_section_visits_section_id_sections"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_section_visits")),
    )
    with op.batch_alter_table("section_visits", schema=None) as batch_op:
        batch_op.create_index("ix_section_visits_meeting", ["meeting_id", "started_at"], unique=False)

    op.create_table(
        "review_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_pk", sa.Integer(), nullable=False),
        sa.Column(
            "recurrence",
            sa.Enum("quarterly", "once", name="recurrence", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("reminder_offsets", sa.String(length=200), nullable=False),
        sa.Column("reminders_from", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_pk"], ["channels.id"], name=op.f("fk_review_series_channel_pk_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_series")),
    )
    with op.batch_alter_table("review_series", schema=None) as batch_op:
        batch_op.create_index("ix_review_series_channel", ["channel_pk", "cancelled_at"], unique=False)

    op.create_table(
        "review_series_skips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["review_series.id"],
            name=op.f("fk_review_series_skips_series_id_review_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_series_skips")),
        sa.UniqueConstraint("series_id", "occurrence_at", name=op.f("uq_review_series_skips_series_id")),
    )

    op.create_table(
        "notice_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("channel_pk", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "claimed", "sent", "failed", "dropped", "unknown", name="noticestatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_pk"], ["channels.id"], name=op.f("fk_notice_sends_channel_pk_channels"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_sends")),
        sa.UniqueConstraint("key", name=op.f("uq_notice_sends_key")),
    )
    with op.batch_alter_table("notice_sends", schema=None) as batch_op:
        batch_op.create_index("ix_notice_sends_due_at", ["due_at"], unique=False)

    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_apscheduler_jobs_next_run_time", ["next_run_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_apscheduler_jobs_next_run_time")
    op.drop_table("apscheduler_jobs")
    with op.batch_alter_table("notice_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_sends_due_at")
    op.drop_table("notice_sends")
    op.drop_table("review_series_skips")
    with op.batch_alter_table("review_series", schema=None) as batch_op:
        batch_op.drop_index("ix_review_series_channel")
    op.drop_table("review_series")
    with op.batch_alter_table("section_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_section_visits_meeting")
    op.drop_table("section_visits")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")
