"""Alembic environment: runs reviewbot's migrations on a given connection or URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from reviewbot.config import load_settings
from reviewbot.store.database import normalize_url
from reviewbot.store.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting."""
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    context.configure(url=normalize_url(url), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations on the connection handed over by reviewbot, or on a new one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
