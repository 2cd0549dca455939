"""A service's database: sessions that never block eventlet, the unit of work that
writes events into the outbox in the same transaction as the change, idempotent commands
(a retried request gets its first response), and the inbox that makes every event
handler's effect happen once.

In a nameko service::

    db = Database()

    @rpc
    def claim_voucher(self, *, template_id, person):
        return self.db.run(operations.claim_voucher, template_id=template_id, person=person)

    @subscribe("issuance", "vouchers_claimed", schema=schemas.VouchersClaimed)
    def handle_vouchers_claimed(self, event):
        self.db.consume(event, operations.record_claims)
"""
import datetime
import functools
import json
import logging
import uuid
from contextlib import contextmanager

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import String, create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from common import correlation
from common.correlation import CORRELATION_ID
from common.errors import Conflict, DomainError
from common.events import Event
from common.outbox import OutboxRelay, write_event, write_part

log = logging.getLogger(__name__)

# Context keys the gateway sets and nameko carries in RPC headers to the service.
IDEMPOTENCY_KEY = "idempotency_key"
REQUEST_FINGERPRINT = "request_fingerprint"

_REQUEST = text("""
    INSERT INTO requests (request_key, fingerprint) VALUES (:key, :fingerprint)
    ON CONFLICT DO NOTHING RETURNING request_key""")
_REQUEST_SEEN = text("SELECT fingerprint, response FROM requests WHERE request_key = :key")
_REQUEST_DONE = text("UPDATE requests SET response = CAST(:response AS jsonb) WHERE request_key = :key")
_REQUESTS = text("""
    INSERT INTO requests (request_key, fingerprint)
    SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:fingerprints AS text[]))
    ON CONFLICT DO NOTHING RETURNING request_key""")
_REQUESTS_SEEN = text("SELECT request_key, fingerprint, response FROM requests WHERE request_key = ANY(:keys)")
_REQUESTS_DONE = text("""
    UPDATE requests SET response = CAST(done.response AS jsonb)
    FROM unnest(CAST(:keys AS text[]), CAST(:responses AS text[])) AS done (request_key, response)
    WHERE requests.request_key = done.request_key""")
_REQUESTS_FORGET = text("DELETE FROM requests WHERE request_key = ANY(:keys)")
_INBOX = text("""
    INSERT INTO inbox (event_id, handler) VALUES (:event_id, :handler)
    ON CONFLICT DO NOTHING RETURNING event_id""")


def green_engine(url, **kwargs):
    """An engine whose psycopg2 connections yield to eventlet while waiting on the server.

    No ping before each use (a round trip per transaction): a connection that died with a
    database restart fails its first statement, SQLAlchemy then discards every connection of the
    pool, and ``reconnecting`` runs the transaction again on a new one."""
    if eventlet.patcher.is_monkey_patched("socket"):
        import psycogreen.eventlet
        psycogreen.eventlet.patch_psycopg()
    return create_engine(url, **kwargs)


def insert_rows(session, table, columns, rows, then=""):
    """Insert ``rows`` (tuples in the order of ``columns``, names of columns of the SQLAlchemy
    ``table``) in one statement that unnests one array per column: one round trip and one plan
    for thousands of rows. (SQLAlchemy sends an insert with ON CONFLICT as one statement per row,
    and compiles PostgreSQL's insert construct at every call; psycopg2's COPY refuses to run
    under the green driver.) ``then``: what follows the rows, an ON CONFLICT or RETURNING clause.
    Returns the statement's result."""
    return session.execute(_insert_statement(table, tuple(columns), then),
                           {name: array_literal(row[i] for row in rows) for i, name in enumerate(columns)})


def execute_prepared(connection, name, statement, params):
    """Run ``statement`` (SQL with $1, $2, … for ``params``) as a statement prepared once per
    database connection. psycopg2 has no prepared statements, so PostgreSQL plans every other
    statement at every call: for the gateway's nonce insert, which runs with nearly every
    request, planning took three quarters of its time (0.31 ms of 0.40)."""
    prepared = connection.info.setdefault("prepared", set())  # cleared with each new connection
    if name not in prepared:
        connection.exec_driver_sql(f"PREPARE {name} AS {statement}")
        prepared.add(name)
    return connection.exec_driver_sql(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", tuple(params))


def array_literal(values):
    """``values`` as one PostgreSQL array literal, ``{"a","b",NULL}``, for a CAST to its array
    type. psycopg2 writes a list out as ``ARRAY['a','b',…]``, an expression PostgreSQL parses
    element by element; a literal it reads in one go, nearly as fast as COPY (1,000 rights
    inserted in 35-45 ms instead of 51-57 here)."""
    return "{" + ",".join(_array_element(value) for value in values) + "}"


def _array_element(value):
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return '"\\\\x' + value.hex() + '"'  # bytea's hex form, its backslash escaped in the array
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


_POSTGRESQL = postgresql.dialect()


@functools.lru_cache(maxsize=None)
def _insert_statement(table, columns, then):
    arrays = ", ".join(f"CAST(:{name} AS {_array_type(table.c[name].type)}[])" for name in columns)
    names = ", ".join(_POSTGRESQL.identifier_preparer.quote(name) for name in columns)  # "group" is a keyword
    return text(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) {then}")


def _array_type(column_type):
    # Text, not varchar(n): a cast to varchar(n) cuts a longer value short where the column refuses it.
    return "text" if isinstance(column_type, String) else column_type.compile(dialect=_POSTGRESQL)


def reconnecting(method):
    """Run a transaction once more if it failed because its connection was gone: it committed
    nothing, so running it again is safe."""
    @functools.wraps(method)
    def run(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.warning("database connection lost (%s); running the transaction again", exc.orig.__class__.__name__)
            return method(*args, **kwargs)
    return run


def _key_reused():
    return Conflict("idempotency_key_reused", "This Idempotency-Key was used for a different request; use a new key.")


class Tx:
    """One database transaction: ``session`` for the change, ``emit`` for its events."""

    def __init__(self, session, source, correlation_id=None):
        self.session = session
        self.source = source
        self.correlation_id = correlation_id
        self.emitted = 0
        self.folded = 0

    def emit(self, event_type, *, aggregate_id, payload, version=1):
        event = Event(type=event_type, source=self.source, aggregate_id=str(aggregate_id), payload=payload,
                      version=version)
        write_event(self.session, event, self.correlation_id)
        self.emitted += 1

    def emit_foldable(self, event_type, *, payload, fold, version=1):
        """An event of a hot command (a batch of claims, scans, check-ins) that the relay may join
        with other transactions' of the same type and otherwise equal payload, its ``payload[fold]``
        lists concatenated, into one event of a new aggregate (ADR 0011): consumers then handle a
        few large events instead of many small ones."""
        write_part(self.session, event_type, payload=payload, fold=fold, version=version,
                   occurred_at=datetime.datetime.now(datetime.timezone.utc), correlation_id=self.correlation_id)
        self.folded += 1


class Store:
    """What a worker gets: transactions, idempotent commands and inbox-guarded event
    consumption."""

    def __init__(self, session_factory, source, handler_name, on_commit, request=None, correlation_id=None):
        self._session_factory = session_factory
        self._source = source
        self._handler_name = handler_name
        self._on_commit = on_commit
        self._request = request  # (idempotency key, fingerprint) from the caller, if any
        self._correlation_id = correlation_id

    @reconnecting
    def run(self, operation, **kwargs):
        """Run ``operation(tx, **kwargs)`` in a transaction. A command that carries an
        idempotency key runs once: a retry gets the first result back, recorded in the same
        transaction as the effect, and the same key with another request is refused."""
        with self.transaction() as tx:
            if self._request is None:
                return operation(tx, **kwargs)
            key, fingerprint = f"{self._handler_name}:{self._request[0]}", self._request[1]
            if tx.session.execute(_REQUEST, {"key": key, "fingerprint": fingerprint}).first() is None:
                seen = tx.session.execute(_REQUEST_SEEN, {"key": key}).one()
                if seen.fingerprint != fingerprint:
                    raise _key_reused()
                return seen.response
            result = operation(tx, **kwargs)
            tx.session.execute(_REQUEST_DONE, {"key": key, "response": json.dumps(result, default=str)})
            return result

    @reconnecting
    def run_each(self, operation, commands):
        """Run a batch of commands (``common.batching``) in one transaction, each as ``run`` would
        alone: ``operation(tx, [arguments, ...])`` returns one result or ``DomainError`` per
        command, and a refusal touches nothing of the others. A command carries its own
        ``idempotency_key``, ``fingerprint`` and ``correlation_id``: a retry gets its first result,
        and a refused command is not remembered, so that its retry is decided again.

        Returns ``{"result": ...}`` or ``{"error": {...}}`` (``DomainError.as_outcome``) per command."""
        commands = [dict(command) for command in commands]
        envelopes = [{name: command.pop(name, None) for name in ("idempotency_key", "fingerprint", "correlation_id")}
                     for command in commands]
        # Every line written for the batch, and its events, name every request in it.
        self._correlation_id = " ".join(dict.fromkeys(e["correlation_id"] for e in envelopes if e["correlation_id"]))
        correlation.bind(self._correlation_id or None)
        keys = [f"{self._handler_name}:{e['idempotency_key']}" if e["idempotency_key"] else None for e in envelopes]
        outcomes = [None] * len(commands)
        with self.transaction() as tx:
            fresh, seen = self._claim_keys(tx, keys, envelopes)
            first_of_key, to_run = {}, []
            for index, key in enumerate(keys):
                if key in first_of_key:
                    continue  # answered after the batch, as its first
                if key is not None:
                    first_of_key[key] = index
                if key is None or key in fresh:
                    to_run.append(index)
                elif seen[key].fingerprint == envelopes[index]["fingerprint"]:
                    outcomes[index] = {"result": seen[key].response}
                else:
                    outcomes[index] = _key_reused().as_outcome()
            results = operation(tx, [commands[index] for index in to_run]) if to_run else []
            done, refused = {}, []
            for index, result in zip(to_run, results):
                if isinstance(result, DomainError):
                    outcomes[index] = result.as_outcome()
                    refused.append(keys[index])
                else:
                    outcomes[index] = {"result": result}
                    done[keys[index]] = json.dumps(result, default=str)
            done.pop(None, None)
            if done:
                tx.session.execute(_REQUESTS_DONE, {"keys": list(done), "responses": list(done.values())})
            if any(refused):
                tx.session.execute(_REQUESTS_FORGET, {"keys": [key for key in refused if key]})
        for index, key in enumerate(keys):  # the same key twice in one batch: a retry racing its original
            if outcomes[index] is None:
                first = first_of_key[key]
                same = envelopes[index]["fingerprint"] == envelopes[first]["fingerprint"]
                outcomes[index] = outcomes[first] if same else _key_reused().as_outcome()
        return outcomes

    @staticmethod
    def _claim_keys(tx, keys, envelopes):
        """The keys seen for the first time (now recorded), and the earlier requests of the others."""
        given = {}
        for key, envelope in zip(keys, envelopes):
            if key:
                given.setdefault(key, envelope["fingerprint"] or "")
        if not given:
            return set(), {}
        fresh = set(tx.session.scalars(_REQUESTS, {"keys": list(given), "fingerprints": list(given.values())}))
        seen = {row.request_key: row for row in tx.session.execute(
            _REQUESTS_SEEN, {"keys": [key for key in given if key not in fresh]})} if len(fresh) < len(given) else {}
        return fresh, seen

    @contextmanager
    def transaction(self):
        with self._session_factory() as session, session.begin():
            tx = Tx(session, self._source, self._correlation_id)
            yield tx
        if tx.emitted or tx.folded:
            self._on_commit(linger=not tx.emitted)

    @reconnecting
    def ping(self):
        with self._session_factory() as session:
            session.execute(text("SELECT 1"))

    @reconnecting
    def consume(self, event, apply):
        """Apply ``apply(tx, event)`` once per event and handler, however often the event
        is delivered. Returns False for a duplicate."""
        with self.transaction() as tx:
            first = tx.session.execute(_INBOX, {"event_id": uuid.UUID(str(event.event_id)),
                                                "handler": self._handler_name}).first()
            if first is None:
                log.info("duplicate %s %s ignored by %s", event.type, event.event_id, self._handler_name)
                return False
            apply(tx, event)
            return True


class Database(DependencyProvider):
    """The service's own PostgreSQL database (``DATABASE_URL``) and its outbox relay."""

    def setup(self):
        config = self.container.config
        self.engine = green_engine(config["DATABASE_URL"], pool_size=int(config.get("DB_POOL_SIZE", 10)),
                                   max_overflow=int(config.get("DB_MAX_OVERFLOW", 20)))
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.relay = OutboxRelay(self.engine, config["AMQP_URI"], self.container.service_name, config)

    def start(self):
        self.container.spawn_managed_thread(self.relay.run)

    def stop(self):
        self.relay.stop()
        self.engine.dispose()

    def kill(self):
        self.relay.stop()

    def get_dependency(self, worker_ctx):
        handler = f"{self.container.service_name}.{worker_ctx.entrypoint.method_name}"
        key = worker_ctx.data.get(IDEMPOTENCY_KEY)
        request = (key, worker_ctx.data.get(REQUEST_FINGERPRINT)) if key else None
        return Store(self.session_factory, self.container.service_name, handler, self.relay.wake, request,
                     worker_ctx.data.get(CORRELATION_ID))

