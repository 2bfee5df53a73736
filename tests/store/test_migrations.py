"""The Alembic migrations: one linear history that builds exactly the models' schema, both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from reviewbot.store.database import Database, alembic_config
from reviewbot.store.schema import Base

#: The full-text search objects of migration 0008, which no model describes (store/search.py reads them).
SEARCH_OBJECTS = ("notes_fts", "notes_search", "search_vector", "ix_notes_search")


def _run(db: Database, action: str, target: str) -> None:
    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, target)
    db.engine.dispose()


def test_history_is_linear():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    revisions = [r.revision for r in script.walk_revisions()]
    assert revisions == sorted(revisions, reverse=True)


def test_migrations_match_the_models_and_downgrade_cleanly(database_url):
    db = Database(database_url)
    db.upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = [
            d
            for d in compare_metadata(context, Base.metadata)
            if "apscheduler" not in str(d) and not any(name in str(d) for name in SEARCH_OBJECTS)
        ]
    assert differences == []
    _run(db, "downgrade", "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert {"meetings", "notes", "publications", "slack_messages"} <= set(inspect(db.engine).get_table_names())
    db.dispose()
