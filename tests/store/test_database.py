"""The database's two kinds of transaction: what each costs the server and what each sees."""

from __future__ import annotations

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text

from reviewbot.store.database import Database


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_read_sends_no_begin_and_a_write_is_one_transaction(database_url):
    db = Database(database_url)
    try:
        with db.read() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
            driver = session.connection().connection.dbapi_connection
            # No BEGIN went before the statement, and no COMMIT is owed after it.
            assert driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE
        with db.write() as session:
            session.execute(text("SELECT 1"))
            driver = session.connection().connection.dbapi_connection
            assert not driver.autocommit and driver.info.transaction_status == TransactionStatus.INTRANS
        with db.read() as session:  # the pooled connection read in autocommit again after the write
            session.execute(text("SELECT 1"))
            assert session.connection().connection.dbapi_connection.autocommit
    finally:
        db.dispose()
