"""scribe mode: meeting_scribes, and notes that remember the chat message they came from

Notes typed as channel messages keep the message's key (Slack's ``ts``) and which of its lines
they are, so that an edit or a deletion of the message reaches them, and a message delivered twice
is recorded once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_scribes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_scribes_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_scribes")),
        sa.UniqueConstraint("meeting_id", "user_id", name=op.f("uq_meeting_scribes_meeting_id")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("message_line", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_notes_message", ["meeting_id", "message_key", "message_line"])


def downgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notes_message", type_="unique")
        batch_op.drop_column("message_line")
        batch_op.drop_column("message_key")
    op.drop_table("meeting_scribes")
