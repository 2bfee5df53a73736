"""The PostgreSQL test server: its URL, whether it answers, and a schema of one's own on it.

Each test (and each benchmark run) gets a fresh schema, dropped afterwards, so that tests share
one server without seeing each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("REVIEWBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
"""The test server (``REVIEWBOT_TEST_POSTGRES_URL``); each test works in a schema of its own."""


def postgres_problem(url: str = POSTGRES_URL) -> str | None:
    """Why the server at *url* cannot be used (one line), or None when it answers."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


@contextmanager
def schema_url(server_url: str, prefix: str = "t") -> Iterator[str]:
    """Create a fresh schema on *server_url*; yield a URL whose connections use only it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
