"""the archive: meetings imported from wiki pages, and notes that are already wikitext

An imported meeting remembers the wiki and page it came from (so importing the page again
updates it instead of adding a second one) and the page revision it was read from. Notes read
from a wiki page are stored as the wikitext they were, flagged ``wikitext`` so that the minutes
give them back as they went in instead of escaping them as text typed in Slack. What of a page
cannot be structured is kept too: its header lines (``meetings.wikitext_header``) when the
meeting's fields do not give them back, a heading's wikitext (``sections.wikitext``), a list
prefix other than ``* `` (``notes.marker``), and whether the page ended with the bot's action
item and decision lists (``meetings.summaries``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_wiki", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("source_page", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("source_revision", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("wikitext_header", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("summaries", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_unique_constraint("uq_meetings_source", ["source_wiki", "source_page"])
    with op.batch_alter_table("sections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wikitext", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wikitext", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("marker", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_column("marker")
        batch_op.drop_column("wikitext")
    with op.batch_alter_table("sections", schema=None) as batch_op:
        batch_op.drop_column("wikitext")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint("uq_meetings_source", type_="unique")
        batch_op.drop_column("summaries")
        batch_op.drop_column("wikitext_header")
        batch_op.drop_column("source_revision")
        batch_op.drop_column("source_page")
        batch_op.drop_column("source_wiki")
