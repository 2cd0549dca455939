"""The body of every service's ``migrations/env.py``: one migration history per
service, against ``DATABASE_URL`` (environment first, then the service's config.yml)."""
import os
from pathlib import Path

from alembic import context
from sqlalchemy import create_engine

from common import config

# Created by common.migrations in each service's first revision, not by its models.
MESSAGING_TABLES = {"outbox", "outbox_sequence", "inbox", "requests"}


def database_url():
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    service_dir = Path(context.config.config_file_name).resolve().parent
    return config.load(service_dir / "config.yml")["DATABASE_URL"]


def _include(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in MESSAGING_TABLES)


def run(metadata):
    engine = create_engine(database_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, include_object=_include,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
