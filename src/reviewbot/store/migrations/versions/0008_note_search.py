"""full-text search of notes, on the database's own search engine; channels learn their privacy

SQLite: an FTS5 table ``notes_fts`` over ``notes.text`` and ``notes.speaker`` (external content:
the text is kept once, in ``notes``), kept in step by triggers, so that the hand-written inserts
of the note write path (:mod:`reviewbot.store.note_batches`), the ORM's edits and deletions all
reach the index in the same transaction. A deleted note (``deleted_at`` set) leaves the index.
The porter tokenizer stems English words (``budgets`` finds ``budget``), as PostgreSQL does.

PostgreSQL: a stored generated ``tsvector`` column ``notes.search_vector`` (the speaker weighted
``A``, so ``speaker:`` can ask for it alone; the text ``B``) with a GIN index over the notes that
are not deleted.

Neither object is a model of :mod:`reviewbot.store.schema`: only :mod:`reviewbot.store.search`
reads them, with SQL of its own dialect. A later migration that rebuilds ``notes`` on SQLite
(``batch_alter_table`` with a change SQLite cannot ALTER) drops the triggers: it must create
them again.

``channels.private``: whether a channel is private (NULL while unknown, which search treats as
private): minutes of a private channel are only ever found from that channel.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE notes_fts USING fts5(text, speaker, content='notes', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "INSERT INTO notes_fts(rowid, text, speaker) SELECT id, text, speaker FROM notes WHERE deleted_at IS NULL",
    """CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes WHEN new.deleted_at IS NULL BEGIN
        INSERT INTO notes_fts(rowid, text, speaker) VALUES (new.id, new.text, new.speaker);
    END""",
    """CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes WHEN old.deleted_at IS NULL BEGIN
        INSERT INTO notes_fts(notes_fts, rowid, text, speaker) VALUES ('delete', old.id, old.text, old.speaker);
    END""",
    """CREATE TRIGGER notes_fts_update AFTER UPDATE OF text, speaker, deleted_at ON notes BEGIN
        INSERT INTO notes_fts(notes_fts, rowid, text, speaker)
            SELECT 'delete', old.id, old.text, old.speaker WHERE old.deleted_at IS NULL;
        INSERT INTO notes_fts(rowid, text, speaker)
            SELECT new.id, new.text, new.speaker WHERE new.deleted_at IS NULL;
    END""",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS notes_fts_update",
    "DROP TRIGGER IF EXISTS notes_fts_delete",
    "DROP TRIGGER IF EXISTS notes_fts_insert",
    "DROP TABLE IF EXISTS notes_fts",
)
POSTGRESQL_UP = (
    "ALTER TABLE notes ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(speaker, '')), 'A') || "
    "setweight(to_tsvector('english', text), 'B')) STORED",
    "CREATE INDEX ix_notes_search ON notes USING gin (search_vector) WHERE deleted_at IS NULL",
)
POSTGRESQL_DOWN = (
    "DROP INDEX IF EXISTS ix_notes_search",
    "ALTER TABLE notes DROP COLUMN IF EXISTS search_vector",
)


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private", sa.Boolean(), nullable=True))
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRESQL_UP if dialect == "postgresql" else ():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRESQL_DOWN if dialect == "postgresql" else ():
        op.execute(statement)
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("private")
