"""Leases on a meeting's live jobs, taken in turn by the bot processes on one database

One row per meeting per kind of live job (``echo``, ``agenda``): the process that holds it
(``owner``) and until when (``expires_at``, seconds of the database's clock), so that two
processes never echo the same notes, nor send the agenda out of order
(:mod:`reviewbot.store.live_leases`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_leases",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_live_leases_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("meeting_id", "job", name=op.f("pk_live_leases")),
    )


def downgrade() -> None:
    op.drop_table("live_leases")
