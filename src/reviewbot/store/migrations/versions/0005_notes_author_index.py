"""notes: index authors by (author_id, meeting_id) instead of (meeting_id, author_id)

The old index led with ``meeting_id``, so PostgreSQL, planning on a young table, could take it for
"the meeting's last note" and "its highest note number" and read every note of the meeting
instead of one entry of the (meeting_id, seq) index. Led by ``author_id`` it serves what it is for
(a person's meetings) and can no longer be mistaken for a meeting's index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index("ix_notes_meeting_author")
        batch_op.create_index("ix_notes_author_meeting", ["author_id", "meeting_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index("ix_notes_author_meeting")
        batch_op.create_index("ix_notes_meeting_author", ["meeting_id", "author_id"], unique=False)
