"""Tables every service has, created by each service's first Alembic migration."""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg


def create_messaging_tables(op):
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("aggregate_id", sa.Text, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    # The relay only ever looks for what is unsent.
    op.create_index("outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "outbox_sequence",
        sa.Column("aggregate_id", sa.Text, primary_key=True),
        sa.Column("last", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("handler", sa.Text, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def create_request_table(op):
    """Idempotent commands: the first response to each idempotency key (``Store.run``)."""
    op.create_table(
        "requests",
        sa.Column("request_key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("response", pg.JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def add_outbox_correlation(op):
    """Events remember the request that caused them (``X-Correlation-Id``)."""
    op.add_column("outbox", sa.Column("correlation_id", sa.Text))


def create_outbox_parts(op):
    """Foldable events wait here for the relay to join them into one (ADR 0011)."""
    op.create_table(
        "outbox_parts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("fold", sa.Text, nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.Text),
    )


def drop_messaging_tables(op):
    for table in ("inbox", "outbox_sequence", "outbox"):
        op.drop_table(table)
