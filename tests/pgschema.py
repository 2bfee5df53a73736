"""A PostgreSQL schema of one's own on the shared test server, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


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
