"""Bad input at every gateway endpoint of the happy path gets a 4xx with a code and a
message that says what to fix, and nothing is written anywhere (issue #2)."""
import json
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests import lifecycle
from tests.platform import SERVICES, new_region

UNKNOWN = str(uuid.uuid4())
WRONG_TYPE = {"an": "object where a scalar or list belongs"}


@pytest.fixture(scope="module")
def p(gateway, clients):
    """A province with an institution, a class, templates and a used voucher."""
    province = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, province, pool_size=3)
    voucher = lifecycle.claim(gateway, province, province.workers[0])
    lifecycle.redeem(gateway, province, voucher["code"])
    province.other_occupation_template = gateway.ok("POST", "/v1/templates", province.manager, {
        "region_code": province.region, "name": "焊工定向券", "function": "credit", "distribution": "targeted",
        "subsidy_standard_fen": 100000, "occupation": "6-18-02-04", "skill_level": 4, "funding_source": "f",
        "valid_from": "2026-01-01", "valid_until": "2026-12-31", "quantity": 5})["template_id"]
    return province


def valid_bodies(p):
    """Per endpoint: who calls it, and a body that would be accepted."""
    return {
        ("POST", "/v1/institutions"): (p.manager, {
            "region_code": p.region, "name": "x", "credit_code": "91430100MA4L00001J",
            "sites": [{"name": "s", "address": "a", "latitude": 28.2, "longitude": 112.9, "radius_m": 100}]}),
        ("POST", "/v1/classes"): (p.institution, {
            "site_id": p.site["site_id"], "name": "c", "occupation": lifecycle.OCCUPATION, "skill_level": 4,
            "sessions": [{"starts_at": "2026-12-01T09:00:00+08:00", "ends_at": "2026-12-01T12:00:00+08:00"}],
            "roster": p.workers}),
        ("POST", "/v1/templates"): (p.manager, {
            "region_code": p.region, "name": "t", "function": "face_value", "distribution": "general",
            "face_value_fen": 1000, "occupation": "x", "skill_level": 1, "funding_source": "f",
            "valid_from": "2026-01-01", "valid_until": "2026-12-31", "quantity": 5}),
        ("POST", f"/v1/templates/{p.template_id}/pool"): (p.manager, {"quantity": 2}),
        ("POST", f"/v1/classes/{p.class_id}/targeted-vouchers"): (p.manager, {"template_id": p.targeted_template_id}),
        ("POST", "/v1/claims"): (p.channel, {"template_id": p.template_id, "id_number": p.workers[1]}),
        ("POST", "/v1/redemptions"): (p.institution, {"code": p.codes[0], "class_id": p.class_id}),
        ("POST", "/v1/checkins"): (p.channel, {"class_id": p.class_id, "id_number": p.workers[0],
                                               "latitude": 28.2, "longitude": 112.9, "accuracy_m": 10}),
        ("POST", "/v1/subsidy-claims"): (p.institution, {"codes": p.codes}),
        ("PUT", "/v1/statistics/targets"): (p.manager, {"year": 2026, "targets": [{
            "region_code": p.region, "name": "n", "planned_trainees": 10, "issue_target": 5, "use_target": 0}]}),
    }


def row_counts(database_url):
    counts = {}
    for service in SERVICES:
        engine = create_engine(database_url(service))
        with engine.connect() as connection:
            tables = connection.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
            for table in tables:
                if (service, table) == ("gateway", "nonces"):
                    continue  # every signed request spends its nonce, refused or not: that is replay protection
                counts[f"{service}.{table}"] = connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
        engine.dispose()
    return counts


def bad_requests(p):
    """(label, method, path, client, body-or-raw, expected status, expected code[, headers])."""
    cases = []
    for (method, path), (client, body) in valid_bodies(p).items():
        cases.append((f"{path} missing fields", method, path, client, {}, 400, "validation_failed"))
        cases.append((f"{path} unknown field", method, path, client, {**body, "surplus": 1}, 400,
                      "validation_failed"))
        cases.append((f"{path} malformed json", method, path, client, b"{not json", 400, "malformed_json"))
        cases.append((f"{path} not an object", method, path, client, b"[1, 2]", 400, "malformed_json"))
        cases.append((f"{path} oversized", method, path, client,
                      json.dumps({**body, "pad": "x" * (1024 * 1024)}).encode(), 413, "body_too_large"))
        for field in body:
            cases.append((f"{path} {field} of the wrong type", method, path, client, {**body, field: WRONG_TYPE},
                          400, "validation_failed"))
    cases += [
        ("unknown template for a pool", "POST", f"/v1/templates/{UNKNOWN}/pool", p.manager, {"quantity": 1},
         404, "template_not_found"),
        ("unknown class for targeted vouchers", "POST", f"/v1/classes/{UNKNOWN}/targeted-vouchers", p.manager,
         {"template_id": p.targeted_template_id}, 404, "class_not_found"),
        ("targeted vouchers of another occupation than the class's", "POST",
         f"/v1/classes/{p.class_id}/targeted-vouchers", p.manager, {"template_id": p.other_occupation_template},
         422, "occupation_mismatch"),
        ("unknown template for a claim", "POST", "/v1/claims", p.channel,
         {"template_id": UNKNOWN, "id_number": p.workers[1]}, 404, "template_not_found"),
        ("an ID number with a wrong check character", "POST", "/v1/claims", p.channel,
         {"template_id": p.template_id, "id_number": p.workers[1][:17] + ("0" if p.workers[1][17] != "0" else "1")},
         400, "invalid_id_number"),
        ("unknown site for a class", "POST", "/v1/classes", p.institution,
         {**valid_bodies(p)[("POST", "/v1/classes")][1], "site_id": UNKNOWN}, 404, "site_not_found"),
        ("a used voucher scanned again, for an unknown class", "POST", "/v1/redemptions", p.institution,
         {"code": p.codes[0], "class_id": UNKNOWN}, 409, "already_used"),
        ("a mistyped voucher code", "POST", "/v1/redemptions", p.institution,
         {"code": p.codes[0][:-1] + ("A" if p.codes[0][-1] != "A" else "B"), "class_id": p.class_id},
         400, "invalid_code"),
        ("unknown class for a check-in", "POST", "/v1/checkins", p.channel,
         {"class_id": UNKNOWN, "id_number": p.workers[0], "latitude": 28.2, "longitude": 112.9, "accuracy_m": 10},
         404, "class_not_found"),
        ("a claim with only unknown codes", "POST", "/v1/subsidy-claims", p.institution,
         {"codes": ["NOTAVOUCHER00"]}, 422, "no_payable_lines"),
        ("unknown application approved", "POST", f"/v1/subsidy-claims/{UNKNOWN}/approval", p.manager, {},
         404, "subsidy_claim_not_found"),
        ("a malformed application id reviewed", "POST", "/v1/subsidy-claims/not-a-uuid/review", p.manager,
         {}, 404, "subsidy_claim_not_found"),
        ("an approval refusing a line for no known reason", "POST", f"/v1/subsidy-claims/{UNKNOWN}/approval",
         p.manager, {"rejected_lines": [{"code": p.codes[0], "reason": "because"}]}, 400, "validation_failed"),
        ("a budget of no money", "POST", "/v1/funding-pools/allocations", p.manager,
         {"region_code": p.region, "funding_source": "就业补助资金", "amount_fen": 0}, 400, "validation_failed"),
        ("an unknown payment file", "GET", f"/v1/payment-files/{UNKNOWN}", p.manager, None, 404,
         "payment_file_not_found"),
        ("unknown voucher code", "GET", "/v1/vouchers/ABCDEFGHJKMN0", p.manager, None, None, None),
        ("a malformed region", "GET", "/v1/indicators/43", p.manager, None, 400, "invalid_region"),
        ("a target that breaks the 50% rule", "PUT", "/v1/statistics/targets", p.manager,
         {"year": 2026, "targets": [{"region_code": p.region, "name": "n", "planned_trainees": 100,
                                     "issue_target": 60, "use_target": 6}]}, 400, "target_rule_broken"),
        ("a region outside the client's", "POST", "/v1/templates", p.manager,
         {**valid_bodies(p)[("POST", "/v1/templates")][1], "region_code": "370100"}, 403, "other_region"),
        ("an unsigned request", "POST", "/v1/claims", None,
         {"template_id": p.template_id, "id_number": p.workers[1]}, 401, "unsigned"),
        ("no Idempotency-Key", "POST", f"/v1/templates/{p.template_id}/pool", p.manager, {"quantity": 1}, 400,
         "idempotency_key_required", {"Idempotency-Key": None}),
        ("a role that may not call", "POST", "/v1/templates", p.channel,
         valid_bodies(p)[("POST", "/v1/templates")][1], 403, "role_not_allowed"),
        ("an endpoint that does not exist", "POST", "/v1/vouchers/void-them-all", p.manager, {}, 404,
         "no_such_endpoint"),
    ]
    return cases


def test_bad_input_gets_a_clear_4xx_and_writes_nothing(gateway, p, database_url, quiet):
    quiet()
    before = row_counts(database_url)
    failures = []
    for label, method, path, client, body, status, code, *headers in bad_requests(p):
        headers = headers[0] if headers else None
        if isinstance(body, bytes):
            response = gateway.call(method, path, client, raw=body, headers=headers)
        else:
            response = gateway.call(method, path, client, body, headers=headers)
        payload = response.json()
        if not 400 <= response.status_code < 500 or not payload.get("error") or not payload.get("message"):
            failures.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif status and (response.status_code, payload["error"]) != (status, code):
            failures.append(f"{label}: expected {status} {code}, got {response.status_code} {payload['error']}")
    quiet()
    assert not failures, "\n".join(failures)
    assert row_counts(database_url) == before
