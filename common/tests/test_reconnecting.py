"""A database restart costs no request: a transaction whose pooled connection died runs once
more on a new one (real PostgreSQL; the connection is killed with pg_terminate_backend)."""
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import sessionmaker

from common.db import Store, green_engine

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def engine():
    engine = green_engine(URL, pool_size=1, max_overflow=0)
    try:
        with engine.connect():
            pass
    except OperationalError:
        pytest.skip("PostgreSQL is not running")
    yield engine
    engine.dispose()


def backend_pid(tx):
    return tx.session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def kill(pid):
    killer = create_engine(URL)
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_a_transaction_whose_connection_died_runs_again_on_a_new_one(engine):
    store = Store(sessionmaker(engine), "test", "test.reconnect", on_commit=lambda linger=False: None)
    first = store.run(backend_pid)
    kill(first)
    second = store.run(backend_pid)
    assert second != first


def test_without_it_the_first_statement_after_the_restart_fails(engine):
    """The control: the pool hands out the dead connection, and nothing runs the work again."""
    with engine.connect() as connection:
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    kill(first)
    with pytest.raises(DBAPIError) as failure, engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert failure.value.connection_invalidated
