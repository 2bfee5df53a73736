"""The engine's PostgreSQL connections: checked at checkout without a round trip while the
server has nothing to say, pinged (and replaced) when it ended them."""

from __future__ import annotations

import socket

import psycopg
import pytest
from sqlalchemy import create_engine, text

from reviewbot.store.engine import create_db_engine, quiet_socket
from tests.support.pgschema import POSTGRES_URL


def test_a_socket_is_quiet_until_the_peer_speaks_or_hangs_up():
    ours, theirs = socket.socketpair()
    try:
        assert quiet_socket(ours.fileno())
        theirs.sendall(b"E")  # what a server ending the connection sends first
        assert not quiet_socket(ours.fileno())
        ours.recv(1)
        assert quiet_socket(ours.fileno())
        theirs.close()
        assert not quiet_socket(ours.fileno())
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_healthy_connection_is_not_pinged_and_an_ended_one_is_replaced(database_url, monkeypatch):
    pings: list[str] = []
    execute = psycopg.Connection.execute

    def counting(self: psycopg.Connection, query: object, *args: object, **kwargs: object) -> object:
        if query == "SELECT 1":
            pings.append(str(query))
        return execute(self, query, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(psycopg.Connection, "execute", counting)
    engine = create_db_engine(database_url)
    admin = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        for _ in range(3):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
        assert pings == []  # the same connection, each time without a round trip first
        with admin.begin() as conn:  # the server ends it (a restart), and says so on the socket
            conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
        assert pings == ["SELECT 1"]  # the ping found it ended; the pool connected again
    finally:
        engine.dispose()
        admin.dispose()
