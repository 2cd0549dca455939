"""Issue #4's claim rules, each refused by name through the gateway, and the template
terms they come from: target groups, the channel's region, the claim window, a voucher's
own validity, one voucher-funded training per occupation per year, template versions."""
import datetime

from tests import lifecycle
from tests.platform import china_today, eventually, id_number, new_region


def general_template(gateway, p, pool=2, **terms):
    year = china_today().year
    template = gateway.ok("POST", "/v1/templates", p.manager, {
        "region_code": p.region, "name": "通用面值券", "function": "face_value", "distribution": "general",
        "face_value_fen": 50000, "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL,
        "funding_source": "就业补助资金", "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31",
        "quantity": 100, **terms})
    if pool:
        gateway.ok("POST", f"/v1/templates/{template['template_id']}/pool", p.manager, {"quantity": pool})
    return template


def claim(gateway, p, template, worker, channel=None):
    return gateway.call("POST", "/v1/claims", channel or p.channel,
                        {"template_id": template["template_id"], "id_number": worker})


def refused(response, code):
    assert (response.status_code, response.json().get("error")) == (422, code), response.text
    assert response.json()["message"]


def test_a_template_for_a_target_group_is_claimed_only_by_its_recorded_members(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    template = general_template(gateway, p, eligible_groups=["unemployed"])
    assert template["eligible_groups"] == ["unemployed"] and template["version"] == 1
    refused(claim(gateway, p, template, p.workers[0]), "not_in_eligible_group")

    recorded = gateway.ok("POST", "/v1/eligibility", p.manager, {
        "group": "unemployed", "region_code": p.region,
        "persons": [{"id_number": p.workers[0]}, {"id_number": "123"}, {"id_number": p.workers[0]}]})
    assert [r["status"] for r in recorded["rows"]] == ["added", "refused", "unchanged"]
    assert claim(gateway, p, template, p.workers[0]).status_code == 201
    refused(claim(gateway, p, template, p.workers[1]), "not_in_eligible_group")
    other = gateway.call("POST", "/v1/eligibility", p.manager, {
        "group": "unemployed", "region_code": "370000", "persons": [{"id_number": p.workers[1]}]})
    assert (other.status_code, other.json()["error"]) == (403, "other_region")


def test_a_channel_of_another_province_cannot_claim(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    template = general_template(gateway, p)
    refused(claim(gateway, p, template, p.workers[0], channel=clients("channel", "370000")), "outside_channel_region")
    assert claim(gateway, p, template, p.workers[0], channel=clients("channel", "000000")).status_code == 201


def test_a_template_is_claimed_only_inside_its_window(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    later = china_today() + datetime.timedelta(days=10)
    template = general_template(gateway, p, valid_from=later.isoformat(),
                                valid_until=(later + datetime.timedelta(days=30)).isoformat())
    refused(claim(gateway, p, template, p.workers[0]), "template_not_valid_now")


def test_a_voucher_valid_n_days_from_its_claim_carries_its_own_last_day(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    template = general_template(gateway, p, validity_days=30)
    voucher = claim(gateway, p, template, p.workers[0]).json()
    assert voucher["valid_until"] == (china_today() + datetime.timedelta(days=29)).isoformat()
    status = gateway.ok("GET", f"/v1/vouchers/{voucher['code']}", p.manager)
    assert status["valid_until"] == voucher["valid_until"]


def test_one_voucher_funded_training_per_occupation_per_year(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    first, second = general_template(gateway, p), general_template(gateway, p)
    lenient = general_template(gateway, p, one_training_per_occupation_year=False)
    code = claim(gateway, p, first, p.workers[0]).json()["code"]
    assert claim(gateway, p, second, p.workers[0]).status_code == 201  # holding two is allowed; training twice is not
    lifecycle.redeem(gateway, p, code)

    def second_claim_is_refused():
        refused(claim(gateway, p, general_template(gateway, p, pool=1), p.workers[0]), "occupation_trained_this_year")
    eventually(second_claim_is_refused)
    assert claim(gateway, p, lenient, p.workers[0]).status_code == 201


def test_a_voucher_keeps_the_terms_of_the_version_it_was_issued_under(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=3)
    template = general_template(gateway, p, pool=1)
    updated = gateway.ok("PATCH", f"/v1/templates/{template['template_id']}", p.manager,
                         {"eligible_groups": ["veteran"], "face_value_fen": 90000})
    assert (updated["version"], updated["face_value_fen"], updated["eligible_groups"]) == (2, 90000, ["veteran"])
    first = claim(gateway, p, template, p.workers[0])  # the voucher issued under version 1: anyone may claim it
    assert first.status_code == 201, first.text
    assert gateway.ok("GET", f"/v1/vouchers/{first.json()['code']}", p.manager)["template_version"] == 1

    gateway.ok("POST", f"/v1/templates/{template['template_id']}/pool", p.manager, {"quantity": 1})
    refused(claim(gateway, p, template, p.workers[1]), "not_in_eligible_group")
    fixed = gateway.call("PATCH", f"/v1/templates/{template['template_id']}", p.manager, {"occupation": "x"})
    assert (fixed.status_code, fixed.json()["error"]) == (400, "validation_failed")
    below = gateway.call("PATCH", f"/v1/templates/{template['template_id']}", p.manager, {"quantity": 1})
    assert (below.status_code, below.json()["error"]) == (409, "quantity_below_issued")


def test_a_class_issued_again_gets_vouchers_only_for_the_trainees_added_since(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, p)
    assert lifecycle.issue_targeted(gateway, p)["issued"] == 2
    gateway.ok("POST", f"/v1/classes/{p.class_id}/trainees", p.institution,
               {"trainees": [{"id_number": id_number()} for _ in range(3)]})
    assert lifecycle.issue_targeted(gateway, p)["issued"] == 3
    assert lifecycle.issue_targeted(gateway, p)["issued"] == 0


def test_a_voucher_status_tells_its_history(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, p, pool_size=1)
    code = lifecycle.claim(gateway, p, p.workers[0])["code"]
    lifecycle.redeem(gateway, p, code)

    def history():
        statuses = [e["status"] for e in gateway.ok("GET", f"/v1/vouchers/{code}", p.manager)["history"]]
        assert statuses == ["issued", "claimed", "used"], statuses
    eventually(history)


def test_unclaimed_vouchers_expire_after_the_templates_last_day(gateway, clients, rpc):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    yesterday = (china_today() - datetime.timedelta(days=1)).isoformat()
    template = general_template(gateway, p, pool=3, valid_from=yesterday, valid_until=yesterday)

    def expired():
        summary = rpc.issuance.region_summary(region_code=p.region)
        assert summary.get("expired") == 3, summary
    eventually(expired, timeout=30, interval=0.5)
    refused(claim(gateway, p, template, p.workers[0]), "template_not_valid_now")
