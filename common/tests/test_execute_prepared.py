"""execute_prepared against PostgreSQL: a statement is prepared once per database connection,
survives a rolled-back transaction, and is prepared again on the connection that replaces one
lost."""
import os

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from common.db import array_literal, execute_prepared

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DOUBLED = "SELECT n * 2 FROM unnest(CAST($1 AS int[])) AS n ORDER BY n"


@pytest.fixture
def engine():
    engine = create_engine(URL, pool_size=1)
    try:
        with engine.connect():
            pass
    except OperationalError:
        pytest.skip("PostgreSQL is not running")
    yield engine
    engine.dispose()


def prepared_here(connection):
    return connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements WHERE name = 'doubled'").scalar()


def test_a_statement_is_prepared_once_per_connection_and_answers_each_call(engine):
    with engine.connect() as connection:
        assert execute_prepared(connection, "doubled", DOUBLED, (array_literal([3, 1]),)).scalars().all() == [2, 6]
        assert execute_prepared(connection, "doubled", DOUBLED, (array_literal([5]),)).scalars().all() == [10]
        assert prepared_here(connection) == 1
        connection.rollback()
    with engine.connect() as connection:  # the same connection, back from the pool
        assert execute_prepared(connection, "doubled", DOUBLED, (array_literal([7]),)).scalars().all() == [14]


def test_the_connection_that_replaces_a_lost_one_prepares_it_again(engine):
    with engine.connect() as connection:
        execute_prepared(connection, "doubled", DOUBLED, (array_literal([1]),))
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    killer = create_engine(URL)
    with killer.connect() as other:
        other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    killer.dispose()
    with engine.connect() as connection:
        with pytest.raises(OperationalError):
            connection.exec_driver_sql("SELECT 1")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
        assert execute_prepared(connection, "doubled", DOUBLED, (array_literal([4]),)).scalars().all() == [8]
