"""Operator CLI for gateway clients and their signing keys.

    python -m gateway.cli add-client --name "Hunan platform" --role platform --region 430000
    python -m gateway.cli add-key CLIENT_ID        # a second key, to rotate without a gap
    python -m gateway.cli revoke-key KEY_ID
    python -m gateway.cli revoke-client CLIENT_ID
    python -m gateway.cli list-clients

Needs DATABASE_URL (or gateway/config.yml) and PII_ENCRYPTION_KEY, which seals the keys'
secrets. A secret is printed once, when it is made; hand it over through a secure channel.
"""
import argparse
import os
import sys
import uuid

from sqlalchemy import create_engine, func, insert, select, update
from sqlalchemy.orm import Session

from common import config, identity, regions
from gateway.clients import MAX_ACTIVE_KEYS, ROLES, Credentials, new_key
from gateway.models import ApiClient, ClientKey

CONFIG = os.path.join(os.path.dirname(__file__), "..", "config.yml")


def _settings():
    return config.load(CONFIG) if os.path.exists(CONFIG) else {}


def sealer_from_environment():
    return identity.Sealer(config.secret(_settings(), "PII_ENCRYPTION_KEY"))


def add_client(session, sealer, *, name, role, region_code, institution_id=None, rate_limit=100):
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not regions.is_valid(region_code):
        raise ValueError("region must be a 6-digit code")
    if role in ("institution", "device") and not institution_id:
        raise ValueError("an institution or device client needs an institution")
    client = ApiClient(id=uuid.uuid4(), name=name, role=role, region_code=region_code, rate_limit=rate_limit,
                       institution_id=uuid.UUID(institution_id) if institution_id else None)
    session.add(client)
    session.flush()
    credentials = add_key(session, sealer, client.id)
    session.commit()
    return credentials


def add_key(session, sealer, client_id):
    active = session.scalar(select(func.count()).select_from(ClientKey).where(
        ClientKey.client_id == client_id, ClientKey.revoked_at.is_(None)))
    if active >= MAX_ACTIVE_KEYS:
        raise ValueError(f"the client already has {MAX_ACTIVE_KEYS} active keys: revoke one first")
    key_id, secret, row = new_key(client_id, sealer)
    session.execute(insert(ClientKey), [row])
    return Credentials(str(client_id), key_id, secret)


def revoke_key(session, key_id):
    session.execute(update(ClientKey).where(ClientKey.key_id == key_id).values(revoked_at=func.now()))


def revoke_client(session, client_id):
    session.execute(update(ApiClient).where(ApiClient.id == uuid.UUID(client_id)).values(active=False))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gateway.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-client")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--region", required=True)
    add.add_argument("--institution")
    add.add_argument("--rate-limit", type=int, default=100, help="requests per second (default 100)")
    commands.add_parser("add-key").add_argument("client_id")
    commands.add_parser("revoke-key").add_argument("key_id")
    commands.add_parser("revoke-client").add_argument("client_id")
    commands.add_parser("list-clients")
    args = parser.parse_args(argv)
    engine = create_engine(os.environ.get("DATABASE_URL") or _settings()["DATABASE_URL"])
    with Session(engine) as session:
        try:
            if args.command == "add-client":
                shown = add_client(session, sealer_from_environment(), name=args.name, role=args.role,
                                   region_code=args.region, institution_id=args.institution,
                                   rate_limit=args.rate_limit)
            elif args.command == "add-key":
                shown = add_key(session, sealer_from_environment(), uuid.UUID(args.client_id))
                session.commit()
            elif args.command == "revoke-key":
                revoke_key(session, args.key_id)
                session.commit()
                shown = "revoked"
            elif args.command == "revoke-client":
                revoke_client(session, args.client_id)
                session.commit()
                shown = "revoked"
            else:
                shown = "\n".join(_describe(session, c) for c in session.scalars(
                    select(ApiClient).order_by(ApiClient.created_at)))
        except ValueError as refusal:
            parser.error(str(refusal))
    if isinstance(shown, Credentials):
        shown = f"client_id {shown.client_id}\nkey_id    {shown.key_id}\nsecret    {shown.secret}"
    print(shown)


def _describe(session, client):
    keys = session.scalars(select(ClientKey.key_id).where(ClientKey.client_id == client.id,
                                                          ClientKey.revoked_at.is_(None))).all()
    state = "active " if client.active else "revoked"
    return f"{client.id}  {client.role:<11} {client.region_code}  {state}  keys: {', '.join(keys) or '-'}  {client.name}"


if __name__ == "__main__":
    sys.exit(main())
