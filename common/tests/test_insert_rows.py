"""insert_rows against PostgreSQL: many rows in one statement, with what follows them (an ON
CONFLICT or RETURNING clause), typed by the table's own columns."""
import os
import uuid

import pytest
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, create_engine
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session

from common.db import insert_rows

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
counts = Table("insert_rows_counts", MetaData(), Column("region_code", String(6), primary_key=True),
               Column("template_id", UUID(as_uuid=True), primary_key=True), Column("n", Integer, nullable=False),
               Column("sealed", LargeBinary), prefixes=["TEMPORARY"])
COLUMNS = ("region_code", "template_id", "n", "sealed")
ADD = "ON CONFLICT (region_code, template_id) DO UPDATE SET n = insert_rows_counts.n + excluded.n"


@pytest.fixture
def session():
    engine = create_engine(URL)
    try:
        with Session(engine) as session:
            counts.create(session.connection())
            yield session
            session.rollback()
    except OperationalError:
        pytest.skip("PostgreSQL is not running")
    finally:
        engine.dispose()


def stored(session):
    return {(r.region_code, r.template_id): (r.n, r.sealed) for r in session.execute(counts.select())}


def test_many_rows_then_their_upsert(session):
    a, b = uuid.uuid4(), uuid.uuid4()
    insert_rows(session, counts, COLUMNS, [("320200", a, 2, b"\x01\\"), ("320200", b, 5, None)], ADD)
    insert_rows(session, counts, COLUMNS, [("320200", a, 3, None), ("320211", a, 1, b"")], ADD)
    assert stored(session) == {("320200", a): (5, b"\x01\\"), ("320200", b): (5, None), ("320211", a): (1, b"")}


def test_returning_tells_which_rows_were_new(session):
    a = uuid.uuid4()
    insert_rows(session, counts, COLUMNS, [("320200", a, 1, None)])
    result = insert_rows(session, counts, COLUMNS, [("320200", a, 1, None), ("320211", a, 1, None)],
                         "ON CONFLICT DO NOTHING RETURNING region_code")
    assert result.scalars().all() == ["320211"]


def test_no_rows_insert_nothing(session):
    assert insert_rows(session, counts, COLUMNS, [], "RETURNING n").all() == []
    assert stored(session) == {}


def test_a_value_too_long_for_its_column_is_refused_not_cut_short(session):
    with pytest.raises(DataError):
        insert_rows(session, counts, COLUMNS, [("3202001", uuid.uuid4(), 1, None)])
