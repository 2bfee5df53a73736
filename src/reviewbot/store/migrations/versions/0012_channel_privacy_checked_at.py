"""A channel remembers when its privacy was last learnt from the chat

``channels.privacy_checked_at`` is set whenever a process learns the channel's privacy, so that
the other processes on the database take what it learnt instead of asking Slack again
(:mod:`reviewbot.slack.privacy`: ``conversations.info`` is Tier 3, and each of three processes
asked about every channel once).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("privacy_checked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("privacy_checked_at")
