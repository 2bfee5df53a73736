"""meeting chairs, note revisions, Slack message coordinates, meetings.created_by

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=64), nullable=True))

    op.create_table(
        "meeting_chairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_chairs_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_chairs")),
        sa.UniqueConstraint("meeting_id", "user_id", name=op.f("uq_meeting_chairs_meeting_id")),
    )
    op.create_table(
        "note_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum("edit", "delete", name="revisionaction", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("editor_id", sa.String(length=64), nullable=False),
        sa.Column("editor_name", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["note_id"], ["notes.id"], name=op.f("fk_note_revisions_note_id_notes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_revisions")),
    )
    with op.batch_alter_table("note_revisions", schema=None) as batch_op:
        batch_op.create_index("ix_note_revisions_note", ["note_id", "id"], unique=False)

    op.create_table(
        "slack_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_slack_messages_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_messages")),
        sa.UniqueConstraint("meeting_id", "kind", "ref_id", name=op.f("uq_slack_messages_meeting_id")),
    )
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.create_index("ix_slack_messages_channel_ts", ["channel", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_slack_messages_channel_ts")
    op.drop_table("slack_messages")
    with op.batch_alter_table("note_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_note_revisions_note")
    op.drop_table("note_revisions")
    op.drop_table("meeting_chairs")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("created_by")
