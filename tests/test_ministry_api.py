"""The ministry's platform APIs (Shandong notice, Appendix 2), each through the gateway."""
import datetime

from common.identity import age_band
from tests import lifecycle
from tests.platform import china_today, eventually, id_number, new_region


def test_list_templates_pages_through_every_template_once(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    for _ in range(3):
        lifecycle.create_templates(gateway, p, pool_size=1)  # two templates each time
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = gateway.ok_get(f"/v1/templates?region_code={p.region}", p.manager, params)
        seen += [t["template_id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 6
    targeted = gateway.ok_get(f"/v1/templates?region_code={p.region}&distribution=targeted", p.manager)
    assert {t["distribution"] for t in targeted["items"]} == {"targeted"} and len(targeted["items"]) == 3


def test_a_tampered_cursor_or_another_region_is_refused(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    tampered = gateway.call("GET", "/v1/templates", p.manager, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert (tampered.status_code, tampered.json()["error"]) == (400, "invalid_cursor")
    # decodes as a cursor, but its id is not a UUID
    forged = gateway.call("GET", "/v1/templates", p.manager, params={"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIngiXQ"})
    assert (forged.status_code, forged.json()["error"]) == (400, "invalid_cursor")
    other = gateway.call("GET", "/v1/templates", p.manager, params={"region_code": "370000"})
    assert (other.status_code, other.json()["error"]) == (403, "other_region")


def test_verify_voucher_scan_tells_usable_from_used_without_using_it(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, p, pool_size=1)
    code = lifecycle.claim(gateway, p, p.workers[0])["code"]

    def verify():
        response = gateway.call("POST", "/v1/vouchers/verification", p.institution, {"code": code},
                                headers={"Idempotency-Key": None})  # a read: no key needed
        assert response.status_code == 200, response.text
        return response.json()

    first = eventually(verify)
    assert (first["usable"], first["status"]) == (True, "claimed")
    assert verify()["usable"] is True  # verifying twice used nothing
    lifecycle.redeem(gateway, p, code)
    assert (verify()["usable"], verify()["reason"]) == (False, "already_used")


def test_list_user_vouchers_shows_a_workers_vouchers_in_the_callers_region_only(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, p, pool_size=2)
    lifecycle.issue_targeted(gateway, p)
    general = lifecycle.claim(gateway, p, p.workers[0])

    def vouchers(client, **page):
        response = gateway.call("POST", "/v1/vouchers/holder-query", client, {"id_number": p.workers[0], **page},
                                headers={"Idempotency-Key": None})
        assert response.status_code == 200, response.text
        return response.json()

    mine = vouchers(p.channel)
    assert len(mine["items"]) == 2 and mine["next_cursor"] is None
    assert general["code"] in {v["code"] for v in mine["items"]}
    assert p.workers[0] not in str(mine)
    first = vouchers(p.channel, limit=1)
    second = vouchers(p.channel, limit=1, cursor=first["next_cursor"])
    assert {first["items"][0]["code"], second["items"][0]["code"]} == {v["code"] for v in mine["items"]}
    assert vouchers(clients("channel", "370000"))["items"] == []  # Shandong's channel sees none of Hunan's


def test_batch_add_institutions_answers_row_by_row_and_a_repeat_adds_nothing(gateway, clients):
    from tests.platform import credit_code
    region = new_region()
    manager = clients("manager", region)
    site = {"name": "校区", "address": "长沙市", "latitude": 28.2, "longitude": 112.9, "radius_m": 100}
    good = [{"region_code": region, "name": f"机构{i}", "credit_code": credit_code(), "sites": [site]} for i in range(3)]
    rows = [good[0], {"region_code": region, "name": "缺少信用代码", "sites": [site]}, good[1],
            {**good[2], "region_code": "370100"}, good[2], good[0]]
    answer = gateway.ok("POST", "/v1/institutions/batch", manager, {"institutions": rows})
    assert [(r["row"], r["status"], r.get("error")) for r in answer["rows"]] == [
        (0, "accepted", None), (1, "refused", "validation_failed"), (2, "accepted", None),
        (3, "refused", "other_region"), (4, "accepted", None), (5, "refused", "institution_exists")]
    assert (answer["accepted"], answer["refused"]) == (3, 3)

    again = gateway.ok("POST", "/v1/institutions/batch", manager, {"institutions": good})
    assert [r["error"] for r in again["rows"]] == ["institution_exists"] * 3


def test_batch_add_trainees_answers_row_by_row_and_new_trainees_can_train(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    newcomer, second = id_number(), id_number()
    bad_check = newcomer[:17] + ("0" if newcomer[17] != "0" else "1")
    rows = [{"id_number": newcomer, "name": "李四"}, {"id_number": bad_check, "name": "王五"},
            {"id_number": p.workers[0]}, {"id_number": second, "name": "赵6"}, {"id_number": newcomer},
            {"id_number": second, "name": "赵六", "phone": "13800000000"}, {"id_number": second, "name": "赵六"}]
    answer = gateway.ok("POST", f"/v1/classes/{p.class_id}/trainees", p.institution, {"trainees": rows})
    assert [(r["row"], r["status"], r.get("error")) for r in answer["rows"]] == [
        (0, "added", None), (1, "refused", "invalid_id_number"), (2, "unchanged", None),
        (3, "refused", "validation_failed"), (4, "unchanged", None), (5, "refused", "validation_failed"),
        (6, "added", None)]
    assert (answer["added"], answer["unchanged"], answer["refused"]) == (2, 2, 3)
    assert "phone" in answer["rows"][5]["details"]  # an unknown field is named, not ignored

    again = gateway.ok("POST", f"/v1/classes/{p.class_id}/trainees", p.institution, {"trainees": rows})
    assert again["added"] == 0 and again["unchanged"] == 4

    lifecycle.create_templates(gateway, p, pool_size=1)
    assert lifecycle.issue_targeted(gateway, p)["issued"] == 3  # the newcomers are on the roster
    lifecycle.use_targeted(gateway, p, newcomer)
    assert lifecycle.check_in(gateway, p, newcomer)["completed"] is True  # attendance heard of them too

    other = lifecycle.register(gateway, clients, p.region, roster_size=1).institution
    refused = gateway.call("POST", f"/v1/classes/{p.class_id}/trainees", other, {"trainees": rows[:1]})
    assert (refused.status_code, refused.json()["error"]) == (403, "other_institution")


def test_get_trainee_by_qr_shows_the_holder_masked_to_whom_may_take_the_voucher(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    gateway.ok("POST", f"/v1/classes/{p.class_id}/trainees", p.institution,
               {"trainees": [{"id_number": p.workers[0], "name": "欧阳春华"}]})
    lifecycle.create_templates(gateway, p, pool_size=1)
    code = lifecycle.claim(gateway, p, p.workers[0])["code"]

    def lookup(client):
        return gateway.call("POST", "/v1/trainees/qr-lookup", client, {"qr": code}, headers={"Idempotency-Key": None})

    seen = lookup(p.institution)
    assert seen.status_code == 200, seen.text
    assert seen.json()["trainee"] == {"name": "欧***", "id_number": p.workers[0][:6] + "*" * 8 + p.workers[0][-4:],
                                      "gender": "M" if int(p.workers[0][16]) % 2 else "F",
                                      "age_band": age_band(int(p.workers[0][6:10])), "region_code": "430102"}
    assert seen.json()["voucher"]["code"] == code and "欧阳春华" not in seen.text
    assert lookup(p.manager).status_code == 200

    elsewhere = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    refused = lookup(elsewhere.institution)
    assert (refused.status_code, refused.json()["error"]) == (403, "not_your_trainee")
    refused = lookup(elsewhere.manager)
    assert (refused.status_code, refused.json()["error"]) == (403, "other_region")
    unknown = gateway.call("POST", "/v1/trainees/qr-lookup", p.institution, {"qr": "not a voucher code"},
                           headers={"Idempotency-Key": None})
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_code")


def test_batch_void_voids_claimed_vouchers_only_and_the_void_holds_everywhere(gateway, clients, rpc):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=3)
    lifecycle.create_templates(gateway, p, pool_size=3)
    to_void, to_use = (lifecycle.claim(gateway, p, worker)["code"] for worker in p.workers[:2])
    lifecycle.redeem(gateway, p, to_use)
    elsewhere = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, elsewhere, pool_size=1)
    foreign = lifecycle.claim(gateway, elsewhere, elsewhere.workers[0])["code"]

    for code, manager in ((to_void, p.manager), (foreign, elsewhere.manager)):  # redemption has heard of the claims
        eventually(lambda: gateway.ok("POST", "/v1/vouchers/verification", manager, {"code": code}))
    typo = to_void[:-1] + ("0" if to_void[-1] != "0" else "1")
    body = {"codes": [to_void, to_use, typo, foreign, to_void], "reason": "ineligible"}
    answer = gateway.ok("POST", "/v1/vouchers/void", p.manager, body)
    assert [(r["status"], r.get("error")) for r in answer["rows"]] == [
        ("voided", None), ("refused", "already_used"), ("refused", "invalid_code"), ("refused", "other_region"),
        ("refused", "voided")]
    assert (answer["voided"], answer["refused"]) == (1, 4)

    rescan = gateway.call("POST", "/v1/redemptions", p.institution, {"code": to_void, "class_id": p.class_id})
    assert (rescan.status_code, rescan.json()["error"]) == (409, "voided")
    eventually(lambda: _assert_equal(gateway.ok_get(f"/v1/vouchers/{to_void}", p.manager)["status"], "void"))
    eventually(lambda: _assert_equal(rpc.statistics.region_summary(region_code=p.region)["voided"], 1))
    bad_reason = gateway.call("POST", "/v1/vouchers/void", p.manager, {"codes": [to_void], "reason": "张三 asked"})
    assert (bad_reason.status_code, bad_reason.json()["error"]) == (400, "validation_failed")


def _assert_equal(actual, expected):
    assert actual == expected


def test_settle_vouchers_writes_off_what_a_province_paid_itself(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, p, pool_size=2)
    paid, unfinished = (lifecycle.claim(gateway, p, worker)["code"] for worker in p.workers)
    for code in (paid, unfinished):
        lifecycle.redeem(gateway, p, code)
    lifecycle.check_in(gateway, p, p.workers[0])  # only the first trainee completes
    platform = clients("platform", p.region)
    body = {"institution_id": p.institution_id, "codes": [paid, unfinished], "payment_reference": "HN-2026-0001"}

    def settle():
        response = gateway.call("POST", "/v1/settlements", platform, body)
        assert response.status_code == 201, response.text
        return response.json()
    answer = eventually(settle)
    assert [(line["code"], line["accepted"]) for line in answer["lines"]] == [(paid, True), (unfinished, False)]
    assert answer["total_fen"] == 80000 and answer["payment_reference"] == "HN-2026-0001"

    eventually(lambda: _assert_equal(gateway.ok_get(f"/v1/vouchers/{paid}", p.manager)["status"], "settled"))
    again = gateway.call("POST", "/v1/settlements", platform, {**body, "codes": [paid]})
    assert (again.status_code, again.json()["error"]) == (422, "no_payable_lines")
    outsider = clients("platform", new_region())
    foreign = gateway.call("POST", "/v1/settlements", outsider, {**body, "codes": [unfinished]})
    assert foreign.status_code == 422 and foreign.json()["details"]["lines"][0]["reason"] == "other_region"


def test_add_certificate_to_a_voucher_funded_training(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, p, pool_size=1)
    code = lifecycle.claim(gateway, p, p.workers[0])["code"]
    lifecycle.redeem(gateway, p, code)
    certificate = {"number": f"S{code}", "kind": "skill_level", "occupation": lifecycle.OCCUPATION,
                   "skill_level": lifecycle.LEVEL, "issued_on": china_today().isoformat(),
                   "issuer": "长沙市职业技能鉴定中心"}
    body = {"voucher_code": code, "id_number": p.workers[0], "certificate": certificate}

    def add():
        response = gateway.call("POST", "/v1/certificates", p.institution, body)
        assert response.status_code == 201, response.text
        return response.json()
    recorded = eventually(add)
    assert (recorded["voucher_code"], recorded["number"], recorded["kind"]) == (code, f"S{code}", "skill_level")
    assert add()["certificate_id"] == recorded["certificate_id"]  # the same certificate again is the same record

    not_holder = gateway.call("POST", "/v1/certificates", p.institution, {**body, "id_number": p.workers[1]})
    assert (not_holder.status_code, not_holder.json()["error"]) == (422, "not_the_holder")
    other = lifecycle.register(gateway, clients, p.region, roster_size=1)
    foreign = gateway.call("POST", "/v1/certificates", other.institution, body)
    assert (foreign.status_code, foreign.json()["error"]) == (403, "other_institution")


def test_monthly_report_has_a_row_per_county_of_a_city(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, p, pool_size=4)
    lifecycle.claim(gateway, p, p.workers[0])
    city = p.region[:4] + "00"
    month = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).strftime("%Y-%m")
    city_manager = clients("manager", city)

    def our_row():
        report = gateway.ok_get(f"/v1/reports/monthly/{city}", city_manager, {"month": month})
        assert report["month"] == month and report["region_code"] == city
        row = next(r for r in report["rows"] if r["region_code"] == p.region)
        assert row["month"]["issued"] == 4 and row["month"]["claimed"] == 1, row
        assert row["to_date"]["issued"] == 4 and row["claim_rate"] == 0.25 and row["face_value_share"] == 1.0
        return report
    report = eventually(our_row)
    assert report["total"]["to_date"]["issued"] >= 4
    bad = gateway.call("GET", f"/v1/reports/monthly/{city}", city_manager, params={"month": "2026-13"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_month")
    other = gateway.call("GET", "/v1/reports/monthly/370000", city_manager, params={"month": month})
    assert (other.status_code, other.json()["error"]) == (403, "other_region")
