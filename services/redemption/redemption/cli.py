"""Operator CLI for the keys that sign voucher QR codes.

    python -m redemption.cli list-qr-keys
    python -m redemption.cli rotate-qr-key      # a new key signs; the one before only verifies
    python -m redemption.cli retire-qr-key KEY_ID

Rotate first, wait until every code signed by the old key has expired (two minutes) and the
scanners have fetched the new key set (GET /v1/qr-keys; an hour is plenty), then retire the old
key: from then on codes signed by it are refused (``qr_key_retired``). Each replica notices a
rotation or retirement within QR_KEY_CACHE_SECONDS, and a key it has not read yet at the first
code signed by it. Needs DATABASE_URL (or redemption's config.yml) and PII_ENCRYPTION_KEY.
"""
import argparse
import os
import sys

from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from common import config, identity
from redemption.dependencies import add_key
from redemption.models import QrKey

CONFIG = os.path.join(os.path.dirname(__file__), "..", "config.yml")


def _settings():
    return config.load(CONFIG) if os.path.exists(CONFIG) else {}


def retire_key(session, key_id):
    """Retire a key that only verifies; the active key must be rotated away first."""
    key = session.get(QrKey, key_id)
    if key is None:
        raise ValueError(f"no key {key_id}")
    if key.status == "active":
        raise ValueError(f"{key_id} signs new codes: rotate first, then retire it")
    session.execute(update(QrKey).where(QrKey.key_id == key_id, QrKey.status == "verifying")
                    .values(status="retired", retired_at=func.now()))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="redemption.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list-qr-keys")
    commands.add_parser("rotate-qr-key")
    commands.add_parser("retire-qr-key").add_argument("key_id")
    args = parser.parse_args(argv)
    engine = create_engine(os.environ.get("DATABASE_URL") or _settings()["DATABASE_URL"])
    with Session(engine) as session, session.begin():
        try:
            if args.command == "rotate-qr-key":
                print(f"{add_key(session, identity.Sealer(config.secret(_settings(), 'PII_ENCRYPTION_KEY'))).key_id}"
                      " signs from now on")
            elif args.command == "retire-qr-key":
                retire_key(session, args.key_id)
                print(f"{args.key_id} retired")
            else:
                for key in session.scalars(select(QrKey).order_by(QrKey.created_at)):
                    print(f"{key.key_id}  {key.status:<9}  created {key.created_at:%Y-%m-%d %H:%M}"
                          + (f"  retired {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else ""))
        except ValueError as refusal:
            parser.error(str(refusal))
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
