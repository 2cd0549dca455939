"""Scanner devices (扫码枪, institution apps): gateway clients of one institution, each with its
own signing key, which the institution registers, lists, disables and enables again. A disabled
device's requests are refused at once (``device_disabled``); its key is kept for when it is back."""
import uuid

from sqlalchemy import func, insert, select, update

from common import pagination
from common.errors import not_found
from gateway.clients import new_key
from gateway.models import ApiClient, ClientKey


def register_device(tx, *, institution_id, region_code, name, key):
    """A new device of the institution, with ``key`` (key id, secret, sealed row) as its first
    signing key. The secret is the caller's to show once; it is never returned from here."""
    key_id, _, row = key
    device = ApiClient(id=row["client_id"], name=name, role="device", region_code=region_code,
                       institution_id=uuid.UUID(str(institution_id)), active=True)
    tx.session.add(device)
    tx.session.flush()
    tx.session.execute(insert(ClientKey), [row])
    return {**_view(tx.session.get(ApiClient, device.id)), "key_id": key_id}


def new_device_key(sealer):
    """(key id, secret, row) for a device about to be registered."""
    return new_key(uuid.uuid4(), sealer)


def list_devices(tx, *, institution_id, cursor=None, limit=50):
    query = select(ApiClient).where(ApiClient.role == "device",
                                    ApiClient.institution_id == uuid.UUID(str(institution_id)))
    return pagination.page(tx.session, query, order_by=(ApiClient.created_at, ApiClient.id), cursor=cursor,
                           limit=limit, key=lambda row: (row[0].created_at, row[0].id), view=lambda row: _view(row[0]))


def set_enabled(tx, *, device_id, institution_id, enabled):
    """Disable (the device's requests are refused at once) or enable a device of the institution."""
    try:
        ident = uuid.UUID(str(device_id))
    except ValueError:
        raise not_found("device", device_id)
    changed = tx.session.scalar(
        update(ApiClient).where(ApiClient.id == ident, ApiClient.role == "device",
                                ApiClient.institution_id == uuid.UUID(str(institution_id)))
        .values(disabled_at=None if enabled else func.coalesce(ApiClient.disabled_at, func.now()))
        .returning(ApiClient.id))
    if changed is None:  # another institution's device is as unknown as no device
        raise not_found("device", device_id)
    return _view(tx.session.get(ApiClient, ident, populate_existing=True))


def _view(device):
    return {"device_id": str(device.id), "name": device.name, "institution_id": str(device.institution_id),
            "status": "disabled" if device.disabled_at else "enabled" if device.active else "revoked",
            "created_at": device.created_at.isoformat(),
            "disabled_at": device.disabled_at.isoformat() if device.disabled_at else None}
