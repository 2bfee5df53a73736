"""full-text search of notes, on the database's own search engine; channels learn their privacy

SQLite: an FTS5 table ``notes_fts`` over ``notes.text`` and ``notes.speaker``, with the note's
channel (``scope``, a token such as ``ch12``) and kind as filter columns, so that a search in a
channel's meetings is answered by the index alone. Its content is external (the view
``notes_search``: the text is kept once, in ``notes``), kept in step by triggers, so that the
hand-written inserts of the note write path (:mod:`reviewbot.store.note_batches`), the ORM's
edits and deletions, and a meeting moved to another channel all reach the index in the same
transaction. A deleted note (``deleted_at`` set) leaves the index. The porter tokenizer stems
English words (``budgets`` finds ``budget``), as PostgreSQL does.

PostgreSQL: a ``tsvector`` column ``notes.search_vector`` set by a trigger (the speaker weighted
``A``, so ``speaker:`` can ask for it alone; the text ``B``; the channel and kind as filter
lexemes no word can become), with a GIN index over the notes that are not deleted.

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

#: The channel of a note as one token (``ch`` and the channel's row id): the index's ``scope``
#: column, so that a search within some channels is one lookup in the index, not a join.
SCOPE = "(SELECT 'ch' || channel_pk FROM meetings WHERE id = {}.meeting_id)"
SQLITE_UP = (
    # What the index holds, also as the external content FTS5 reads columns (and rebuilds) from.
    """CREATE VIEW notes_search AS
        SELECT n.id AS id, n.text AS text, n.speaker AS speaker, 'ch' || m.channel_pk AS scope, n.kind AS kind
        FROM notes n JOIN meetings m ON m.id = n.meeting_id WHERE n.deleted_at IS NULL""",
    "CREATE VIRTUAL TABLE notes_fts USING fts5(text, speaker, scope, kind, content='notes_search', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "INSERT INTO notes_fts(notes_fts, rank) VALUES ('rank', 'bm25(1.0, 1.0, 0.0, 0.0)')",  # scope, kind: filters
    "INSERT INTO notes_fts(rowid, text, speaker, scope, kind) SELECT id, text, speaker, scope, kind FROM notes_search",
    f"""CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes WHEN new.deleted_at IS NULL BEGIN
        INSERT INTO notes_fts(rowid, text, speaker, scope, kind)
            VALUES (new.id, new.text, new.speaker, {SCOPE.format("new")}, new.kind);
    END""",
    # A note's meeting is gone when the note goes with it (ON DELETE CASCADE): notes_fts_meeting
    # took its notes out of the index already.
    f"""CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes
        WHEN old.deleted_at IS NULL AND EXISTS (SELECT 1 FROM meetings WHERE id = old.meeting_id) BEGIN
        INSERT INTO notes_fts(notes_fts, rowid, text, speaker, scope, kind)
            VALUES ('delete', old.id, old.text, old.speaker, {SCOPE.format("old")}, old.kind);
    END""",
    f"""CREATE TRIGGER notes_fts_update AFTER UPDATE OF text, speaker, kind, deleted_at, meeting_id ON notes BEGIN
        INSERT INTO notes_fts(notes_fts, rowid, text, speaker, scope, kind)
            SELECT 'delete', old.id, old.text, old.speaker, {SCOPE.format("old")}, old.kind
            WHERE old.deleted_at IS NULL;
        INSERT INTO notes_fts(rowid, text, speaker, scope, kind)
            SELECT new.id, new.text, new.speaker, {SCOPE.format("new")}, new.kind WHERE new.deleted_at IS NULL;
    END""",
    """CREATE TRIGGER notes_fts_meeting BEFORE DELETE ON meetings BEGIN
        INSERT INTO notes_fts(notes_fts, rowid, text, speaker, scope, kind)
            SELECT 'delete', id, text, speaker, scope, kind FROM notes_search
            WHERE id IN (SELECT id FROM notes WHERE meeting_id = old.id);
    END""",
    """CREATE TRIGGER notes_fts_channel AFTER UPDATE OF channel_pk ON meetings BEGIN
        INSERT INTO notes_fts(notes_fts, rowid, text, speaker, scope, kind)
            SELECT 'delete', id, text, speaker, 'ch' || old.channel_pk, kind FROM notes
            WHERE meeting_id = new.id AND deleted_at IS NULL;
        INSERT INTO notes_fts(rowid, text, speaker, scope, kind)
            SELECT id, text, speaker, 'ch' || new.channel_pk, kind FROM notes
            WHERE meeting_id = new.id AND deleted_at IS NULL;
    END""",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS notes_fts_channel",
    "DROP TRIGGER IF EXISTS notes_fts_meeting",
    "DROP TRIGGER IF EXISTS notes_fts_update",
    "DROP TRIGGER IF EXISTS notes_fts_delete",
    "DROP TRIGGER IF EXISTS notes_fts_insert",
    "DROP TABLE IF EXISTS notes_fts",
    "DROP VIEW IF EXISTS notes_search",
)
POSTGRESQL_UP = (
    "ALTER TABLE notes ADD COLUMN search_vector tsvector",
    # The speaker (weight A) and the text (B), stemmed; the channel (``ch#12``) and the kind
    # (``k#action``) as literal lexemes that no word typed can become (the parser splits at
    # ``#``), so that the GIN index finds a channel's matches by itself. Set by a trigger, as a
    # generated column cannot read the meeting's channel.
    """CREATE FUNCTION notes_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('english', coalesce(NEW.speaker, '')), 'A')
            || setweight(to_tsvector('english', NEW.text), 'B')
            || array_to_tsvector(ARRAY[
                'ch#' || (SELECT channel_pk FROM meetings WHERE id = NEW.meeting_id), 'k#' || NEW.kind]);
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER notes_search_vector BEFORE INSERT OR UPDATE OF text, speaker, kind, meeting_id ON notes "
    "FOR EACH ROW EXECUTE FUNCTION notes_search_vector()",
    # A meeting moved to another channel: its notes' vectors are made again (the trigger above).
    """CREATE FUNCTION meetings_search_channel() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE notes SET meeting_id = meeting_id WHERE meeting_id = NEW.id;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER meetings_search_channel AFTER UPDATE OF channel_pk ON meetings "
    "FOR EACH ROW WHEN (OLD.channel_pk IS DISTINCT FROM NEW.channel_pk) EXECUTE FUNCTION meetings_search_channel()",
    "UPDATE notes SET meeting_id = meeting_id",
    "CREATE INDEX ix_notes_search ON notes USING gin (search_vector) WHERE deleted_at IS NULL",
)
POSTGRESQL_DOWN = (
    "DROP INDEX IF EXISTS ix_notes_search",
    "DROP TRIGGER IF EXISTS meetings_search_channel ON meetings",
    "DROP FUNCTION IF EXISTS meetings_search_channel()",
    "DROP TRIGGER IF EXISTS notes_search_vector ON notes",
    "DROP FUNCTION IF EXISTS notes_search_vector()",
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
