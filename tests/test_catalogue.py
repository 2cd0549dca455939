"""The catalogue through the gateway (issue #4): training projects (培训项目目录) added in
batches and listed a page at a time; institutions with a payout bank account, shown only
masked and never published, and the projects they may train for, which redemption enforces
when a voucher is used."""
import base64
import datetime
import json
import random
import uuid

from issuance.events import SCHEMAS
from tests import lifecycle
from tests.platform import SERVICES, credit_code, eventually, id_number, new_region, sql

SITE = {"name": "芙蓉校区", "address": "长沙市芙蓉区八一路1号", "latitude": 28.1960, "longitude": 112.9823, "radius_m": 150}


def project(region, skill_level=lifecycle.LEVEL, occupation=lifecycle.OCCUPATION, **overrides):
    return {"region_code": region, "occupation": occupation, "skill_level": skill_level,
            "name": f"电工{skill_level}级", "subsidy_standard_fen": 100000 + skill_level * 10000, **overrides}


def add_projects(gateway, manager, rows):
    return gateway.ok("POST", "/v1/projects/batch", manager, {"projects": rows})


def account_number():
    return "6222" + "".join(random.choice("0123456789") for _ in range(15))


def test_batch_add_projects_answers_row_by_row_and_a_repeat_adds_nothing(gateway, clients):
    region = new_region()
    manager = clients("manager", region)
    level_4, level_3, other = project(region), project(region, 3), project(region, 2, "4-01-02-01", name="保育师二级")
    rows = [level_4, {**level_3, "occupation": "electrician"}, level_3, {**other, "region_code": "370100"},
            {**level_4, "name": "电工四级（重复）"}, other]
    answer = add_projects(gateway, manager, rows)
    assert [(r["row"], r["status"], r.get("error")) for r in answer["rows"]] == [
        (0, "accepted", None), (1, "refused", "validation_failed"), (2, "accepted", None),
        (3, "refused", "other_region"), (4, "refused", "project_exists"), (5, "accepted", None)]
    assert (answer["accepted"], answer["refused"]) == (3, 3)
    assert "occupation" in answer["rows"][1]["details"]
    first_id = answer["rows"][0]["project_id"]
    assert answer["rows"][4]["details"]["project_id"] == first_id  # the project it repeats

    again = add_projects(gateway, manager, [level_4, level_3, other])
    assert [r["error"] for r in again["rows"]] == ["project_exists"] * 3
    assert again["rows"][0]["details"]["project_id"] == first_id
    listed = gateway.ok_get("/v1/projects", manager)["items"]
    assert len(listed) == 3  # nothing new

    refused = gateway.call("POST", "/v1/projects/batch", clients("channel", region), {"projects": [level_4]})
    assert (refused.status_code, refused.json()["error"]) == (403, "role_not_allowed")


def test_list_projects_pages_through_every_project_once_within_the_callers_region(gateway, clients):
    region = new_region()
    manager = clients("manager", region)
    added = add_projects(gateway, manager, [project(region, level) for level in range(1, 6)])
    assert added["accepted"] == 5
    seen, cursor, pages = [], None, 0
    while True:
        page = gateway.ok_get("/v1/projects", manager, {"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [p["project_id"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 5
    assert set(seen) == {r["project_id"] for r in added["rows"]}

    ministry = clients("ministry", "000000")
    item = gateway.ok_get("/v1/projects", ministry, {"region_code": region, "limit": 1})["items"][0]
    assert item["region_code"] == region and item["occupation"] == lifecycle.OCCUPATION
    assert isinstance(item["subsidy_standard_fen"], int) and item["subsidy_standard_fen"] > 0
    channel_items = gateway.ok_get("/v1/projects", clients("channel", region))["items"]
    assert {p["project_id"] for p in channel_items} == set(seen)

    elsewhere = gateway.call("GET", "/v1/projects", clients("channel", "370000"), params={"region_code": region})
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (403, "other_region")
    tampered = gateway.call("GET", "/v1/projects", manager, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert (tampered.status_code, tampered.json()["error"]) == (400, "invalid_cursor")


def test_an_institutions_payout_account_is_shown_masked_and_never_published(gateway, clients, database_url):
    region = new_region()
    manager = clients("manager", region)
    project_id = add_projects(gateway, manager, [project(region)])["rows"][0]["project_id"]
    number = account_number()
    account = {"bank_name": "中国工商银行长沙芙蓉支行", "account_name": "长沙市职业技能培训学校", "account_number": number}
    response = gateway.call("POST", "/v1/institutions", manager, {
        "region_code": region, "name": "长沙市职业技能培训学校", "credit_code": credit_code(), "sites": [SITE],
        "payout_account": account, "project_ids": [project_id]})
    assert response.status_code == 201, response.text
    registered = response.json()
    masked = {"bank_name": account["bank_name"], "account_name": account["account_name"],
              "account_masked": "****" + number[-4:]}
    assert registered["payout_account"] == masked
    assert [p["project_id"] for p in registered["projects"]] == [project_id]
    assert number not in response.text and number[:-4] not in response.text
    institution_id = registered["institution_id"]

    institution = clients("institution", region, institution_id)
    for reader in (manager, institution, clients("ministry", "000000"), clients("platform", region[:2] + "0000")):
        seen = gateway.call("GET", f"/v1/institutions/{institution_id}", reader)
        assert seen.status_code == 200, seen.text
        assert seen.json()["payout_account"] == masked and number not in seen.text
        assert [p["project_id"] for p in seen.json()["projects"]] == [project_id]
    other = gateway.call("GET", f"/v1/institutions/{institution_id}", clients("institution", region, str(uuid.uuid4())))
    assert (other.status_code, other.json()["error"]) == (403, "other_institution")
    other = gateway.call("GET", f"/v1/institutions/{institution_id}", clients("manager", "370000"))
    assert (other.status_code, other.json()["error"]) == (403, "other_region")

    sealed = sql(database_url, "issuance", "SELECT payout_account_sealed, payout_account_masked FROM institutions "
                                           "WHERE id = :i", i=institution_id)[0]
    assert number.encode() not in bytes(sealed[0]) and sealed[1] == "****" + number[-4:]
    sealed_b64 = base64.b64encode(bytes(sealed[0])).decode()
    for service in SERVICES:
        for (payload,) in sql(database_url, service, "SELECT payload::text FROM outbox"):
            assert number not in payload and number[:-4] not in payload, f"{service} published the account number"
            assert sealed_b64 not in payload, f"{service} published the sealed account number"
    published = sql(database_url, "issuance", "SELECT payload::text FROM outbox WHERE event_type = "
                                              "'institution_registered' AND aggregate_id = :i", i=institution_id)
    assert len(published) == 1
    payload = SCHEMAS["institution_registered"]().load(json.loads(published[0][0]))
    assert payload["payout_account_masked"] == "****" + number[-4:]
    assert [str(p) for p in payload["project_ids"]] == [project_id]
    assert [(p["occupation"], p["skill_level"]) for p in payload["projects"]] == [(lifecycle.OCCUPATION,
                                                                                  lifecycle.LEVEL)]
    assert "account_name" not in published[0][0] and "bank_name" not in published[0][0]


def test_institution_registration_refuses_unknown_and_foreign_projects_and_bad_accounts(gateway, clients):
    region = new_region()
    manager = clients("manager", region)
    elsewhere = new_region()
    foreign = add_projects(gateway, clients("manager", elsewhere), [project(elsewhere)])["rows"][0]["project_id"]
    body = {"region_code": region, "name": "长沙市职业技能培训学校", "credit_code": credit_code(), "sites": [SITE]}
    unknown = str(uuid.uuid4())
    refused = gateway.call("POST", "/v1/institutions", manager, {**body, "project_ids": [unknown]})
    assert (refused.status_code, refused.json()["error"]) == (404, "project_not_found")
    assert unknown in refused.json()["message"]
    refused = gateway.call("POST", "/v1/institutions", manager, {**body, "project_ids": [foreign]})
    assert (refused.status_code, refused.json()["error"]) == (422, "project_outside_region")
    refused = gateway.call("POST", "/v1/institutions", manager, {**body, "payout_account": {
        "bank_name": "中国工商银行", "account_name": "某学校", "account_number": "6222 0212 3456"}})
    assert (refused.status_code, refused.json()["error"]) == (400, "validation_failed")
    assert "payout_account" in refused.json()["details"]

    batch = gateway.ok("POST", "/v1/institutions/batch", manager, {"institutions": [
        {**body, "project_ids": [unknown]}, {**body, "credit_code": credit_code()}]})
    assert [(r["status"], r.get("error")) for r in batch["rows"]] == [("refused", "project_not_found"),
                                                                      ("accepted", None)]
    assert gateway.ok("POST", "/v1/institutions", manager, body)["projects"] == []  # the refused row left nothing


def _redeem_after_replication(gateway, institution, code, class_id):
    """Scan until redemption has heard of the claim and the class (404 until then)."""
    def attempt():
        response = gateway.call("POST", "/v1/redemptions", institution, {"code": code, "class_id": class_id})
        assert response.status_code != 404, response.text
        return response
    return eventually(attempt)


def test_a_voucher_is_used_only_for_a_class_of_a_project_the_institution_may_train_for(gateway, clients,
                                                                                        database_url):
    region = new_region()
    p = lifecycle.Province(region=region, manager=clients("manager", region), channel=clients("channel", region))
    rows = add_projects(gateway, p.manager, [project(region, 3), project(region, lifecycle.LEVEL)])["rows"]
    level_3, level_4 = rows[0]["project_id"], rows[1]["project_id"]
    registered = gateway.ok("POST", "/v1/institutions", p.manager, {
        "region_code": region, "name": "长沙市电工培训学校", "credit_code": credit_code(), "sites": [SITE],
        "project_ids": [level_3]})
    p.institution_id, p.site = registered["institution_id"], registered["sites"][0]
    p.institution = clients("institution", region, p.institution_id)
    now = datetime.datetime.now(datetime.timezone.utc)
    p.workers = [id_number()]
    p.class_id = gateway.ok("POST", "/v1/classes", p.institution, {
        "site_id": p.site["site_id"], "name": "电工四级 第1期", "occupation": lifecycle.OCCUPATION,
        "skill_level": lifecycle.LEVEL, "roster": p.workers,
        "sessions": [{"starts_at": now.isoformat(), "ends_at": (now + datetime.timedelta(hours=3)).isoformat()}]}
    )["class_id"]
    lifecycle.create_templates(gateway, p, pool_size=1)
    code = lifecycle.claim(gateway, p, p.workers[0])["code"]

    def redemption_knows(project_ids):
        def check():
            found = sql(database_url, "redemption", "SELECT projects FROM institution_projects "
                                                    "WHERE institution_id = :i", i=p.institution_id)
            assert found and sorted(x["project_id"] for x in found[0][0]) == sorted(project_ids), found
        eventually(check)

    redemption_knows([level_3])
    refused = _redeem_after_replication(gateway, p.institution, code, p.class_id)
    assert (refused.status_code, refused.json()["error"]) == (422, "project_not_allowed"), refused.text
    assert lifecycle.OCCUPATION in refused.json()["message"]

    for client, status, error in ((p.institution, 403, "role_not_allowed"),
                                  (clients("manager", "370000"), 403, "other_region")):
        response = gateway.call("PUT", f"/v1/institutions/{p.institution_id}/projects", client,
                                {"project_ids": [level_3, level_4]})
        assert (response.status_code, response.json()["error"]) == (status, error)
    changed = gateway.ok("PUT", f"/v1/institutions/{p.institution_id}/projects", p.manager,
                         {"project_ids": [level_3, level_4]})
    assert sorted(x["project_id"] for x in changed["projects"]) == sorted([level_3, level_4])
    assert sorted(x["project_id"] for x in gateway.ok_get(f"/v1/institutions/{p.institution_id}",
                                                          p.manager)["projects"]) == sorted([level_3, level_4])

    redemption_knows([level_3, level_4])
    used = _redeem_after_replication(gateway, p.institution, code, p.class_id)
    assert used.status_code == 201, used.text
    assert used.json()["status"] == "used"

    published = sql(database_url, "issuance", "SELECT payload::text FROM outbox WHERE event_type = "
                                              "'institution_projects_changed' AND aggregate_id = :i",
                    i=p.institution_id)
    assert len(published) == 1
    payload = SCHEMAS["institution_projects_changed"]().load(json.loads(published[0][0]))
    assert sorted(str(x) for x in payload["project_ids"]) == sorted([level_3, level_4])
