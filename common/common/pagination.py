"""Keyset pagination with opaque cursors: a cursor is the last row's sort key (a time and
a UUID), base64url-encoded JSON. A page stays stable while rows are added, and a cursor
the platform did not give out is refused, not guessed at."""
import base64
import datetime
import json
import uuid

from sqlalchemy import tuple_

from common.errors import InvalidInput


def encode(at, ident):
    raw = json.dumps([at.isoformat(), str(ident)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor):
    try:
        at, ident = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.datetime.fromisoformat(at), uuid.UUID(ident)
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput("invalid_cursor", "This cursor is not one the platform gave out; start from the first page.")


def page(session, query, *, order_by, cursor, limit, key, view):
    """One page of ``query``, newest first by ``order_by`` = (time column, id column).
    ``key(row)`` gives a row's (time, id); ``view(row)`` what the caller sees of it."""
    at_column, id_column = order_by
    if cursor:
        query = query.where(tuple_(at_column, id_column) < decode(cursor))
    rows = session.execute(query.order_by(at_column.desc(), id_column.desc()).limit(limit + 1)).all()
    items = rows[:limit]
    return {"items": [view(row) for row in items],
            "next_cursor": encode(*key(items[-1])) if len(rows) > limit else None}
