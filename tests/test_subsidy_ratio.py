"""Subsidy ratios (补贴比例, Shanghai §三(四)), through the gateway: a credit voucher pays the project's
subsidy standard times the share its holder is entitled to. Issuance decides the share when the
voucher is claimed (or born claimed, targeted), from the target groups the bureau recorded the holder
in; redemption keeps it with the right, and every use and reversal carries it on to settlement."""
import datetime
import json

from redemption.events import SCHEMAS
from tests import lifecycle
from tests.platform import eventually, new_region, sql

RATIOS = {"subsidy_ratios": {"unemployed": 100}, "default_subsidy_ratio_percent": 60}


def credit_template(gateway, p, distribution, **terms):
    year = datetime.date.today().year
    return gateway.ok("POST", "/v1/templates", p.manager, {
        "region_code": p.region, "name": "电工抵用券", "function": "credit", "distribution": distribution,
        "subsidy_standard_fen": 150000, "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL,
        "funding_source": "就业补助资金", "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31",
        "quantity": 100, **RATIOS, **terms})


def record_unemployed(gateway, p, worker):
    """The bureau records the worker as registered unemployed (登记失业人员) in the province's region."""
    recorded = gateway.ok("POST", "/v1/eligibility", p.manager, {
        "group": "unemployed", "region_code": p.region, "persons": [{"id_number": worker}]})
    assert [row["status"] for row in recorded["rows"]] == ["added"]


def claim(gateway, p, template_id, worker):
    return gateway.ok("POST", "/v1/claims", p.channel, {"template_id": template_id, "id_number": worker})["code"]


def right_of(database_url, code):
    """(template version, subsidy ratio) of the voucher's right, once redemption has heard of the claim."""
    def read():
        rows = sql(database_url, "redemption", "SELECT template_version, subsidy_ratio_percent FROM voucher_rights "
                                               "WHERE code = :code", code=code)
        assert rows, f"redemption has not heard of the claim of {code} yet"
        return tuple(rows[0])
    return eventually(read)


def published(database_url, event_type, probe):
    """The payloads of redemption's events of ``event_type`` that contain ``probe``, as its schema loads
    them, once there are any (a use's event reaches the outbox when the relay folds it, ADR 0011)."""
    def found():
        rows = sql(database_url, "redemption", "SELECT payload::text FROM outbox WHERE event_type = :type "
                                               "AND payload @> CAST(:probe AS jsonb)", type=event_type,
                   probe=json.dumps(probe))
        assert rows, f"no {event_type} with {probe} in redemption's outbox yet"
        return rows
    return [SCHEMAS[event_type]().load(json.loads(payload)) for (payload,) in eventually(found)]


def test_a_claim_decides_the_holders_ratio_and_its_use_carries_it(gateway, clients, database_url):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=3)
    record_unemployed(gateway, p, p.workers[0])
    template = credit_template(gateway, p, "general")
    assert (template["subsidy_ratios"], template["default_subsidy_ratio_percent"],
            template["requires_certificate"]) == ({"unemployed": 100}, 60, False)
    template_id = template["template_id"]
    gateway.ok("POST", f"/v1/templates/{template_id}/pool", p.manager, {"quantity": 2})
    unemployed, other = claim(gateway, p, template_id, p.workers[0]), claim(gateway, p, template_id, p.workers[1])
    assert (right_of(database_url, unemployed), right_of(database_url, other)) == ((1, 100), (1, 60))

    lifecycle.redeem(gateway, p, other)
    [used] = published(database_url, "vouchers_used", {"vouchers": [{"code": other}]})
    assert [v["subsidy_ratio_percent"] for v in used["vouchers"] if v["code"] == other] == [60]
    gateway.ok("POST", f"/v1/vouchers/{other}/reversal", p.institution, {"reason": "mistaken_scan"})
    [reversed_use] = published(database_url, "voucher_use_reversed", {"code": other})
    assert reversed_use["subsidy_ratio_percent"] == 60

    # A new version's ratios apply to the vouchers issued under it; those claimed keep theirs.
    updated = gateway.ok("PATCH", f"/v1/templates/{template_id}", p.manager,
                         {"default_subsidy_ratio_percent": 80, "requires_certificate": True})
    assert (updated["version"], updated["default_subsidy_ratio_percent"], updated["requires_certificate"],
            updated["subsidy_ratios"]) == (2, 80, True, {"unemployed": 100})
    gateway.ok("POST", f"/v1/templates/{template_id}/pool", p.manager, {"quantity": 1})
    assert right_of(database_url, claim(gateway, p, template_id, p.workers[2])) == (2, 80)
    assert right_of(database_url, other) == (1, 60)


def test_a_ratio_is_refused_for_a_voucher_that_is_not_credit(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    year = datetime.date.today().year
    refused = gateway.call("POST", "/v1/templates", p.manager, {
        "region_code": p.region, "name": "电工面值券", "function": "face_value", "distribution": "general",
        "face_value_fen": 80000, "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL,
        "funding_source": "就业补助资金", "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31",
        "quantity": 10, **RATIOS})
    assert (refused.status_code, refused.json()["error"]) == (400, "ratio_for_credit_only"), refused.text


def test_a_targeted_issuance_decides_each_roster_persons_ratio(gateway, clients, database_url):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    record_unemployed(gateway, p, p.workers[1])
    p.targeted_template_id = credit_template(gateway, p, "targeted")["template_id"]
    assert lifecycle.issue_targeted(gateway, p)["issued"] == 2

    def code_of(worker):
        vouchers = gateway.ok("POST", "/v1/vouchers/holder-query", p.channel, {"id_number": worker})["items"]
        [code] = [v["code"] for v in vouchers if v["template_id"] == p.targeted_template_id]
        return code
    assert [right_of(database_url, code_of(worker)) for worker in p.workers] == [(1, 60), (1, 100)]
