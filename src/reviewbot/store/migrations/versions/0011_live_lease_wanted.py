"""A live lease remembers that another process wanted it

``live_leases.wanted`` is set when a process finds the lease held, and read (and cleared) by the
holder as it lets the lease go: if set, the holder runs its job once more instead, so what the
other process wanted done (echo a note it took, show a move) is done without that process asking
again and again (:mod:`reviewbot.store.live_leases`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_leases") as batch:
        batch.add_column(sa.Column("wanted", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("live_leases") as batch:
        batch.drop_column("wanted")
