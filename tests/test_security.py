"""Who may do what: every request is signed, fresh and used once; every client acts only
within its role, its region and (for institutions) itself."""
import time
import uuid

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from voucher_client import signed_headers

from common.identity import Sealer
from gateway import cli
from tests import lifecycle
from tests.platform import new_region, wait_quiet

import launcher  # scripts/launcher.py, put on sys.path by conftest


@pytest.fixture(scope="module")
def p(gateway, clients):
    province = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, province, pool_size=2)
    return province


@pytest.fixture(scope="module")
def operator(running_platform, database_url):
    """The operator CLI's functions against the gateway's database."""
    engine = create_engine(database_url("gateway"))
    sealer = Sealer(launcher.environment(running_platform, "gateway")["PII_ENCRYPTION_KEY"])

    class Operator:
        def add_key(self, client):
            with Session(engine) as session:
                credentials = cli.add_key(session, sealer, uuid.UUID(client.client_id))
                session.commit()
            return credentials

        def revoke_key(self, credentials):
            with Session(engine) as session:
                cli.revoke_key(session, credentials.key_id)
                session.commit()

        def revoke_client(self, credentials):
            with Session(engine) as session:
                cli.revoke_client(session, credentials.client_id)
                session.commit()
    yield Operator()
    engine.dispose()


def raw_signed(gateway, client, method, path, body=b"", **overrides):
    """A request signed by hand, so that one part of it can be wrong."""
    headers = {**signed_headers(client.key_id, client.secret, method, path, (), body), **overrides,
               "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    return gateway.http.request(method, gateway.base_url + path, data=body, headers=headers, timeout=30)


def refused(response, status, code):
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert response.json()["message"]


def stats_path(p):
    return f"/v1/indicators/{p.region}"


def test_an_unsigned_request_is_refused(gateway, p):
    refused(gateway.call("GET", stats_path(p), None), 401, "unsigned")


def test_a_wrong_signature_is_refused(gateway, p):
    refused(raw_signed(gateway, p.manager, "GET", stats_path(p), **{"X-Signature": "AAAA" * 11}), 401, "bad_signature")


def test_a_body_changed_after_signing_is_refused(gateway, p):
    body = b'{"quantity": 1}'
    headers = signed_headers(p.manager.key_id, p.manager.secret, "POST", f"/v1/templates/{p.template_id}/pool",
                             (), body)
    response = gateway.http.post(gateway.base_url + f"/v1/templates/{p.template_id}/pool", data=b'{"quantity": 99}',
                                 headers={**headers, "Idempotency-Key": str(uuid.uuid4())}, timeout=30)
    refused(response, 401, "bad_signature")


def test_a_stale_timestamp_is_refused(gateway, p):
    path = stats_path(p)
    old = signed_headers(p.manager.key_id, p.manager.secret, "GET", path, timestamp=int(time.time()) - 301)
    refused(gateway.http.get(gateway.base_url + path, headers=old, timeout=30), 401, "stale_timestamp")


def test_a_replayed_nonce_is_refused(gateway, p):
    path = stats_path(p)
    headers = signed_headers(p.manager.key_id, p.manager.secret, "GET", path)
    assert gateway.http.get(gateway.base_url + path, headers=headers, timeout=30).status_code == 200
    refused(gateway.http.get(gateway.base_url + path, headers=headers, timeout=30), 401, "replayed_nonce")


def test_an_unknown_key_is_refused(gateway, p):
    refused(raw_signed(gateway, p.manager, "GET", stats_path(p), **{"X-Key-Id": "k_unknown"}), 401, "unknown_key")


def test_keys_rotate_without_a_gap_and_a_revoked_key_stops_at_once(gateway, clients, operator, p):
    client = clients("manager", p.region)
    second = operator.add_key(client)
    assert gateway.call("GET", stats_path(p), client).status_code == 200
    assert gateway.call("GET", stats_path(p), second).status_code == 200
    with pytest.raises(ValueError):
        operator.add_key(client)  # two active keys at most
    operator.revoke_key(client)
    refused(gateway.call("GET", stats_path(p), client), 401, "key_revoked")
    assert gateway.call("GET", stats_path(p), second).status_code == 200


def test_a_revoked_client_is_refused(gateway, clients, operator, p):
    client = clients("manager", p.region)
    operator.revoke_client(client)
    refused(gateway.call("GET", stats_path(p), client), 401, "client_revoked")


def test_a_client_of_another_province_can_neither_read_nor_change(gateway, clients, p):
    shandong = clients("manager", "370000")
    refused(gateway.call("GET", stats_path(p), shandong), 403, "other_region")
    refused(gateway.call("POST", f"/v1/templates/{p.template_id}/pool", shandong, {"quantity": 1}), 403, "other_region")


def test_an_institution_cannot_act_for_another(gateway, clients, p):
    other = lifecycle.register(gateway, clients, p.region, roster_size=1)
    response = gateway.call("POST", "/v1/classes", other.institution, {
        "institution_id": p.institution_id, "site_id": p.site["site_id"], "name": "x", "occupation": "x",
        "skill_level": 1, "sessions": [{"starts_at": "2026-12-01T09:00:00+08:00", "ends_at": "2026-12-01T10:00:00+08:00"}]})
    refused(response, 403, "other_institution")


def test_a_role_cannot_call_what_it_is_not_for(gateway, p):
    refused(gateway.call("POST", "/v1/templates", p.institution, {}), 403, "role_not_allowed")
    refused(gateway.call("POST", "/v1/claims", p.manager, {}), 403, "role_not_allowed")
    refused(gateway.call("POST", "/v1/redemptions", p.channel, {}), 403, "role_not_allowed")


def test_the_ministry_reads_every_province(gateway, clients, p):
    ministry = clients("ministry", "000000")
    assert gateway.call("GET", stats_path(p), ministry).status_code == 200
    assert gateway.call("GET", "/v1/indicators/370000", ministry).status_code == 200


def test_a_client_over_its_rate_gets_429_with_retry_after_and_recovers(gateway, clients, p):
    slow = clients("manager", p.region, rate_limit=2)  # 2 a second, bursts of 4
    responses = [gateway.call("GET", stats_path(p), slow) for _ in range(10)]
    limited = [r for r in responses if r.status_code == 429]
    assert [r.status_code for r in responses[:4]] == [200] * 4
    assert limited, [r.status_code for r in responses]
    refused(limited[0], 429, "rate_limited")
    wait = int(limited[0].headers["Retry-After"])
    assert wait >= 1
    time.sleep(wait)
    assert gateway.call("GET", stats_path(p), slow).status_code == 200
    assert gateway.call("GET", stats_path(p), p.manager).status_code == 200  # others are not slowed


@pytest.fixture(scope="module")
def paid(gateway, clients, database_url, vhost):
    """A province whose institution has a subsidy application in review."""
    q = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, q, pool_size=1)
    code = lifecycle.claim(gateway, q, q.workers[0])["code"]
    lifecycle.redeem(gateway, q, code)
    lifecycle.check_in(gateway, q, q.workers[0])
    wait_quiet(database_url, vhost)
    q.claim_id = lifecycle.submit_claim(gateway, q, [code])["claim_id"]
    q.code = code
    return q


def test_an_institution_cannot_read_another_institutions_application(gateway, clients, paid):
    rival = lifecycle.register(gateway, clients, paid.region, roster_size=1)
    refused(gateway.call("GET", f"/v1/subsidy-claims/{paid.claim_id}", rival.institution), 403, "other_institution")
    assert gateway.call("GET", f"/v1/subsidy-claims/{paid.claim_id}", paid.institution).status_code == 200


def test_a_manager_of_a_neighbouring_county_cannot_approve(gateway, clients, paid):
    neighbour = paid.region[:4] + ("01" if paid.region[4:] != "01" else "02")
    refused(gateway.call("POST", f"/v1/subsidy-claims/{paid.claim_id}/approval", clients("manager", neighbour), {}),
            403, "other_region")


def test_a_voucher_answer_carries_no_personal_data(gateway, paid):
    voucher = gateway.ok("GET", f"/v1/vouchers/{paid.code}", paid.manager)
    assert set(voucher) == {"voucher_id", "code", "display_code", "template_id", "template_version", "region_code",
                            "status", "claimed", "claimed_at", "valid_until", "history"}
    assert paid.workers[0] not in str(voucher)
