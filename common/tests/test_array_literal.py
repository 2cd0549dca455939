"""array_literal: what PostgreSQL reads back from the literal is exactly the values given
(real PostgreSQL: its array input is the judge)."""
import datetime
import json
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from common.db import array_literal

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
CHINA = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture(scope="module")
def connection():
    engine = create_engine(URL)
    try:
        with engine.connect() as connection:
            yield connection
    except OperationalError:
        pytest.skip("PostgreSQL is not running")
    finally:
        engine.dispose()


def read_back(connection, values, sql_type):
    return connection.execute(text(f"SELECT unnest(CAST(:values AS {sql_type}[]))"),
                              {"values": array_literal(values)}).scalars().all()


def test_text_comes_back_as_written_whatever_it_holds(connection):
    values = ['plain', '', 'NULL', 'null', None, 'a,b', '{braces}', 'say "hi"', 'back\\slash', '\\"', ' spaced ',
              'tab\tand\nnewline', '电工定向抵用券', "it's"]
    assert read_back(connection, values, "text") == values


def test_typed_values_come_back_as_themselves(connection):
    moment = datetime.datetime(2026, 12, 1, 16, 0, 0, 123456, tzinfo=CHINA)
    ids = [uuid.uuid4(), str(uuid.uuid4())]
    assert read_back(connection, [moment, None], "timestamptz") == [moment, None]
    assert read_back(connection, [datetime.date(2026, 12, 31)], "date") == [datetime.date(2026, 12, 31)]
    assert read_back(connection, [100, -7, None], "int") == [100, -7, None]
    assert read_back(connection, ids, "uuid") == [uuid.UUID(str(i)) for i in ids]
    assert read_back(connection, [True, False], "boolean") == [True, False]
    profile = {"groups": ["unemployed"], "note": 'a "quoted" \\ value', "n": 1}
    assert read_back(connection, [json.dumps(profile), None], "jsonb") == [profile, None]
    sealed = [b"\x00\\\"{,}\xff", b"", None]
    assert [None if v is None else bytes(v) for v in read_back(connection, sealed, "bytea")] == sealed


def test_no_values_make_an_empty_array(connection):
    assert read_back(connection, [], "text") == []
