"""Slack's Web API budget shared by every process on one database

One row per workspace per Web API method: the token bucket (``level`` tokens as of ``at``) and the
pause Slack asked for with its last 429 (``paused_until``), both in seconds of the database's
clock (``extract(epoch from clock_timestamp())``), so every process reads one clock. On
PostgreSQL, :mod:`reviewbot.slack.shared_budget` spends it with one statement per Web API call;
on SQLite (one process) the table stays empty and each process keeps its budget in memory.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_budget",
        sa.Column("workspace", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Float(precision=53), nullable=False),
        sa.Column("at", sa.Float(precision=53), nullable=False),
        sa.Column("paused_until", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("workspace", "method", name=op.f("pk_slack_budget")),
    )


def downgrade() -> None:
    op.drop_table("slack_budget")
