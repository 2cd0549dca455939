"""Redemption in depth (issue #5), through the gateway, over the real PostgreSQL and RabbitMQ:
signed dynamic QR codes, scanner devices, offline uploads and their conflicts, online classes,
reversal of a mistaken use."""
import base64
import datetime
import time

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from voucher_client import qr

from common.identity import Sealer
from tests import lifecycle
from tests.platform import at_once, eventually, new_region

import launcher  # scripts/launcher.py, put on sys.path by conftest


def refused(response, status, code):
    assert (response.status_code, response.json()["error"]) == (status, code), response.text


@pytest.fixture
def p(gateway, clients):
    province = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, province, pool_size=5)
    return province


def device(gateway, p, name="扫码枪 1"):
    """A scanner of the province's institution, registered by the institution itself."""
    made = gateway.ok("POST", "/v1/devices", p.institution, {"name": name})
    return type(p.institution)(made["device_id"], made["key_id"], made["secret"]), made


def qr_of(gateway, p, code, worker):
    return gateway.ok("POST", f"/v1/vouchers/{code}/qr", p.channel, {"id_number": worker})


def claimed(gateway, p, worker):
    """A worker's claimed voucher, once redemption has heard of the claim."""
    code = lifecycle.claim(gateway, p, worker)["code"]
    eventually(lambda: _status_of(gateway, p, code, "claimed"))
    return code


def _status_of(gateway, p, code, status):
    response = gateway.call("POST", "/v1/vouchers/verification", p.manager, {"code": code})
    assert response.status_code == 200 and response.json()["status"] == status, response.text


@pytest.fixture(scope="module")
def signer(running_platform, database_url):
    """Payloads signed by the platform's own active key, made as a test needs them (expired,
    for another holder): what a genuine but unusable QR code looks like."""
    from redemption.models import QrKey
    engine = create_engine(database_url("redemption"))
    sealer = Sealer(launcher.environment(running_platform, "redemption")["PII_ENCRYPTION_KEY"])

    def sign(code, person_key, now):
        with Session(engine) as session:
            key = session.scalar(select(QrKey).where(QrKey.status == "active"))
            private = base64.b64decode(sealer.open(key.private_sealed))
        return qr.sign(private, key.key_id, code, person_key, now=now)[0]
    yield sign
    engine.dispose()


def test_a_holder_shows_a_fresh_qr_code_and_a_scan_uses_the_voucher_once(gateway, p):
    code = claimed(gateway, p, p.workers[0])
    shown = qr_of(gateway, p, code, p.workers[0])
    assert shown["payload"].startswith("VT1.") and len(shown["payload"]) < 160
    assert p.workers[0] not in shown["payload"]
    until = datetime.datetime.fromisoformat(shown["expires_at"])
    assert 100 < (until - datetime.datetime.now(datetime.timezone.utc)).total_seconds() <= 120

    verdict = gateway.ok("POST", "/v1/vouchers/verification", p.institution, {"qr": shown["payload"]})
    assert (verdict["usable"], verdict["holder_checked"], verdict["code"]) == (True, True, code)
    used = gateway.call("POST", "/v1/redemptions", p.institution, {"qr": shown["payload"], "class_id": p.class_id})
    assert used.status_code == 201, used.text
    assert used.json()["status"] == "used"
    again = gateway.call("POST", "/v1/redemptions", p.institution, {"qr": shown["payload"], "class_id": p.class_id})
    refused(again, 409, "already_used")
    assert again.json()["message"]


def test_the_qr_code_comes_drawn_as_png_or_svg_and_only_for_its_holder(gateway, p):
    code = claimed(gateway, p, p.workers[0])
    png = gateway.call("POST", f"/v1/vouchers/{code}/qr", p.channel, {"id_number": p.workers[0], "format": "png"})
    assert png.headers["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = gateway.call("POST", f"/v1/vouchers/{code}/qr", p.channel, {"id_number": p.workers[0], "format": "svg"})
    assert svg.headers["Content-Type"].startswith("image/svg+xml") and b"<svg" in svg.content
    refused(gateway.call("POST", f"/v1/vouchers/{code}/qr", p.channel, {"id_number": p.workers[1]}),
            422, "not_the_holder")


def test_forged_altered_expired_other_holders_and_unknown_key_payloads_are_refused_with_their_reason(
        gateway, p, signer, person_key):
    code = claimed(gateway, p, p.workers[0])
    genuine = qr_of(gateway, p, code, p.workers[0])["payload"]
    prefix, key_id, body, signature = genuine.split(".")
    middle = len(body) // 2
    altered = f"{prefix}.{key_id}.{body[:middle]}{'A' if body[middle] != 'A' else 'B'}{body[middle + 1:]}.{signature}"
    forger_key = qr.new_key()[0]
    cases = {
        "qr_forged": [altered, qr.sign(forger_key, key_id, code, "x" * 64)[0]],
        "qr_expired": [signer(code, person_key(p.workers[0]), time.time() - 600)],
        "qr_other_holder": [signer(code, "f" * 64, time.time())],
        "qr_key_unknown": [qr.sign(forger_key, "qnotours", code, "x" * 64)[0]],
        "qr_malformed": ["VT1.only-three.parts"],
    }
    for reason, payloads in cases.items():
        for payload in payloads:
            for path, body_extra in (("/v1/vouchers/verification", {}), ("/v1/redemptions", {"class_id": p.class_id})):
                response = gateway.call("POST", path, p.institution, {"qr": payload, **body_extra})
                refused(response, 422, reason)
    _status_of(gateway, p, code, "claimed")  # none of them used it


@pytest.fixture(scope="module")
def person_key(running_platform):
    """A holder's person key, as the gateway derives it with this platform's secret."""
    from common import identity
    secret = launcher.environment(running_platform, "gateway")["PERSON_KEY_SECRET"]
    return lambda id_number: identity.person_key(identity.validate(id_number), secret)


def test_a_rotated_key_still_verifies_until_it_is_retired(gateway, p, running_platform, database_url):
    from redemption.cli import retire_key
    from redemption.dependencies import add_key
    code = claimed(gateway, p, p.workers[0])
    before = qr_of(gateway, p, code, p.workers[0])["payload"]
    engine = create_engine(database_url("redemption"))
    sealer = Sealer(launcher.environment(running_platform, "redemption")["PII_ENCRYPTION_KEY"])
    try:
        with Session(engine) as session, session.begin():
            old_key, new_key = before.split(".")[1], add_key(session, sealer).key_id
        after = qr_of(gateway, p, code, p.workers[0])["payload"]
        assert after.split(".")[1] == new_key
        keys = {k["key_id"]: k["status"] for k in gateway.ok("GET", "/v1/qr-keys", p.institution)["keys"]}
        assert (keys[old_key], keys[new_key]) == ("verifying", "active")
        assert gateway.ok("POST", "/v1/vouchers/verification", p.institution, {"qr": before})["usable"]

        with Session(engine) as session, session.begin():
            retire_key(session, old_key)
        refused(gateway.call("POST", "/v1/vouchers/verification", p.institution, {"qr": before}), 422,
                "qr_key_retired")
        assert gateway.ok("POST", "/v1/vouchers/verification", p.institution, {"qr": after})["usable"]
    finally:
        engine.dispose()


def test_a_hundred_devices_scanning_one_voucher_at_once_use_it_exactly_once(gateway, clients, p):
    code = claimed(gateway, p, p.workers[0])
    payload = qr_of(gateway, p, code, p.workers[0])["payload"]
    scanners = [device(gateway, p, f"扫码枪 {n}")[0] for n in range(100)]

    responses = at_once([gateway], [(scanner, "POST", "/v1/redemptions", {"qr": payload, "class_id": p.class_id})
                                    for scanner in scanners])

    statuses = sorted((r.status_code, r.json().get("error")) for r in responses)
    assert statuses == [(201, None)] + [(409, "already_used")] * 99, statuses
    assert all(r.json()["message"] for r in responses if r.status_code == 409)


def test_a_disabled_device_is_refused_until_its_institution_enables_it(gateway, p):
    scanner, made = device(gateway, p)
    assert made["status"] == "enabled" and made["secret"]
    listed = gateway.ok("GET", "/v1/devices", p.institution)["items"]
    assert [d["device_id"] for d in listed] == [made["device_id"]] and "secret" not in listed[0]

    assert gateway.ok("POST", f"/v1/devices/{made['device_id']}/disable", p.institution)["status"] == "disabled"
    refused(gateway.call("GET", "/v1/qr-keys", scanner), 401, "device_disabled")
    assert gateway.ok("POST", f"/v1/devices/{made['device_id']}/enable", p.institution)["status"] == "enabled"
    assert gateway.call("GET", "/v1/qr-keys", scanner).status_code == 200


def test_an_institution_manages_only_its_own_devices(gateway, clients, p):
    _, made = device(gateway, p)
    rival = lifecycle.register(gateway, clients, p.region, roster_size=1)
    refused(gateway.call("POST", f"/v1/devices/{made['device_id']}/disable", rival.institution), 404,
            "device_not_found")
    assert gateway.ok("GET", "/v1/devices", rival.institution)["items"] == []


def test_an_offline_batch_applies_in_the_devices_order_and_a_repeat_changes_nothing(gateway, p, rpc):
    first, second = (claimed(gateway, p, worker) for worker in p.workers)
    shown = [qr_of(gateway, p, code, worker)["payload"] for code, worker in ((first, p.workers[0]),
                                                                              (second, p.workers[1]))]
    scanner, _ = device(gateway, p)
    at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=20)
    scans = [{"sequence": 7, "qr": shown[0], "class_id": p.class_id, "scanned_at": at.isoformat()},
             {"sequence": 8, "qr": shown[0], "class_id": p.class_id, "scanned_at": (at + _s(5)).isoformat()},
             {"sequence": 9, "qr": shown[1], "class_id": p.class_id, "scanned_at": (at + _s(9)).isoformat()}]

    answer = gateway.ok("POST", "/v1/redemptions/offline", scanner, {"scans": scans})
    again = gateway.ok("POST", "/v1/redemptions/offline", scanner, {"scans": scans})

    assert [(r["sequence"], r["status"], r.get("error")) for r in answer["rows"]] == [
        (7, "used", None), (8, "refused", "already_used"), (9, "used", None)]
    assert (answer["used"], answer["refused"], answer["conflict"]) == (2, 1, 0)
    assert again == answer
    assert datetime.datetime.fromisoformat(answer["rows"][0]["used_at"]) == at  # used when it was scanned
    assert rpc.redemption.region_summary(region_code=p.region)["used"] == 2


def test_the_first_use_by_scan_time_wins_and_the_other_is_a_conflict_for_the_managers(gateway, clients, p):
    code = claimed(gateway, p, p.workers[0])
    payload = qr_of(gateway, p, code, p.workers[0])["payload"]
    offline, _ = device(gateway, p, "教室 A 离线扫码枪")
    other = lifecycle.register(gateway, clients, p.region, roster_size=1)
    online, _ = device(gateway, other, "教室 B 扫码枪")
    scanned_offline = datetime.datetime.now(datetime.timezone.utc) - _s(10)
    # Classroom B scans online now; classroom A had scanned the same code 10 s earlier, offline.
    assert gateway.call("POST", "/v1/redemptions", online, {"qr": payload, "class_id": other.class_id}
                        ).status_code == 201
    upload = gateway.ok("POST", "/v1/redemptions/offline", offline, {"scans": [
        {"sequence": 1, "qr": payload, "class_id": p.class_id, "scanned_at": scanned_offline.isoformat()}]})
    assert upload["rows"][0]["status"] == "used"

    conflicts = gateway.ok("GET", "/v1/redemption-conflicts", p.manager)["items"]
    assert [(c["code"], c["reason"], c["winner"]["institution_id"], c["loser"]["institution_id"])
            for c in conflicts] == [(code, "earlier_offline_scan", p.institution_id, other.institution_id)]
    lost = gateway.ok("GET", "/v1/redemption-conflicts", other.institution)["items"]
    assert [c["code"] for c in lost] == [code]
    assert gateway.ok("GET", "/v1/redemption-conflicts", p.institution)["items"] == []  # it lost nothing

    # A later offline scan of the same voucher elsewhere loses, and says so to the device.
    late = gateway.ok("POST", "/v1/redemptions/offline", online, {"scans": [
        {"sequence": 1, "qr": payload, "class_id": other.class_id,
         "scanned_at": (scanned_offline + _s(5)).isoformat()}]})
    assert [(r["status"], r["error"]) for r in late["rows"]] == [("conflict", "used_elsewhere_first")]
    assert late["rows"][0]["details"]["same_institution"] is False


def test_an_offline_scan_is_checked_at_the_moment_it_was_made(gateway, p):
    code = claimed(gateway, p, p.workers[0])
    payload = qr_of(gateway, p, code, p.workers[0])["payload"]
    scanner, _ = device(gateway, p)
    now = datetime.datetime.now(datetime.timezone.utc)
    answer = gateway.ok("POST", "/v1/redemptions/offline", scanner, {"scans": [
        {"sequence": 1, "qr": payload, "class_id": p.class_id, "scanned_at": (now + _s(600)).isoformat()},
        {"sequence": 2, "qr": payload, "class_id": p.class_id, "scanned_at": (now + _s(200)).isoformat()},
        {"sequence": 3, "qr": payload, "class_id": p.class_id, "scanned_at": (now - _s(8 * 86400)).isoformat()}]})
    assert [r["error"] for r in answer["rows"]] == ["scan_in_future", "qr_expired", "scan_too_old"]


def test_an_institution_reverses_its_mistaken_use_and_the_voucher_can_be_used_again(gateway, clients, p):
    code = claimed(gateway, p, p.workers[0])
    lifecycle.redeem(gateway, p, code)
    rival = lifecycle.register(gateway, clients, p.region, roster_size=1)
    refused(gateway.call("POST", f"/v1/vouchers/{code}/reversal", rival.institution, {"reason": "mistaken_scan"}),
            403, "other_institution")
    undone = gateway.ok("POST", f"/v1/vouchers/{code}/reversal", p.institution, {"reason": "mistaken_scan"})
    assert (undone["status"], undone["reason"]) == ("claimed", "mistaken_scan")
    refused(gateway.call("POST", f"/v1/vouchers/{code}/reversal", p.institution, {"reason": "mistaken_scan"}),
            409, "not_used")
    assert gateway.call("POST", "/v1/redemptions", rival.institution,
                        {"code": code, "class_id": rival.class_id}).status_code == 201


def test_a_use_past_the_templates_grace_window_cannot_be_reversed(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    year = datetime.date.today().year
    template_id = gateway.ok("POST", "/v1/templates", p.manager, {
        "region_code": p.region, "name": "无撤销窗口券", "function": "face_value", "distribution": "general",
        "face_value_fen": 50000, "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL,
        "funding_source": "就业补助资金", "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31",
        "quantity": 5, "reversal_grace_hours": 0})["template_id"]
    gateway.ok("POST", f"/v1/templates/{template_id}/pool", p.manager, {"quantity": 1})
    p.template_id = template_id
    code = claimed(gateway, p, p.workers[0])
    lifecycle.redeem(gateway, p, code)
    refused(gateway.call("POST", f"/v1/vouchers/{code}/reversal", p.institution, {"reason": "mistaken_scan"}),
            422, "reversal_window_passed")


def test_an_online_class_is_used_by_the_holders_verified_request(gateway, p):
    code = claimed(gateway, p, p.workers[0])
    now = datetime.datetime.now(datetime.timezone.utc)
    online_class = gateway.ok("POST", "/v1/classes", p.institution, {
        "site_id": p.site["site_id"], "name": "电工四级 线上班", "occupation": lifecycle.OCCUPATION,
        "skill_level": lifecycle.LEVEL, "mode": "online", "completion_threshold": 1.0, "roster": [p.workers[0]],
        "sessions": [{"starts_at": now.isoformat(), "ends_at": (now + _s(3600)).isoformat()}]})["class_id"]
    body = {"code": code, "class_id": online_class, "id_number": p.workers[1]}
    refused(gateway.call("POST", "/v1/online-redemptions", p.channel, body), 422, "not_the_holder")
    refused(eventually(lambda: _not_404(gateway.call("POST", "/v1/online-redemptions", p.channel,
                                                     {**body, "class_id": p.class_id, "id_number": p.workers[0]}))),
            422, "not_an_online_class")
    used = eventually(lambda: _not_404(gateway.call("POST", "/v1/online-redemptions", p.channel,
                                                    {**body, "id_number": p.workers[0]})))
    assert used.status_code == 201, used.text


def _not_404(response):
    assert response.status_code != 404, response.text  # the class's event may not have arrived yet
    return response


def _s(seconds):
    return datetime.timedelta(seconds=seconds)
