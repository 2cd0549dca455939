"""A database restart costs no request: a transaction whose pooled connection died runs once
more on a new one, and a statement prepared per connection (``execute_prepared``) is prepared
again on it (real PostgreSQL; the connection is killed with pg_terminate_backend)."""
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import sessionmaker

from common.db import Store, array_literal, execute_prepared, green_engine

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DOUBLED = "SELECT n * 2 FROM unnest(CAST($1 AS int[])) AS n ORDER BY n"


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


def doubled(connection, values):
    return execute_prepared(connection, "doubled", DOUBLED, (array_literal(values),)).scalars().all()


def test_a_prepared_statement_is_prepared_once_per_connection_and_kept_across_a_rollback(engine):
    with engine.connect() as connection:
        assert doubled(connection, [3, 1]) == [2, 6]
        assert doubled(connection, [5]) == [10]
        assert connection.execute(text("SELECT count(*) FROM pg_prepared_statements WHERE name = 'doubled'")
                                  ).scalar_one() == 1
        connection.rollback()
    with engine.connect() as connection:  # the same connection, back from the pool
        assert doubled(connection, [7]) == [14]


def test_the_connection_that_replaces_a_dead_one_prepares_the_statement_again(engine):
    with engine.connect() as connection:
        doubled(connection, [1])
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    kill(first)
    with pytest.raises(DBAPIError), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
        assert doubled(connection, [4]) == [8]
