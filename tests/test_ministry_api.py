"""The ministry's platform APIs (Shandong notice, Appendix 2) that the backbone serves."""
from tests import lifecycle
from tests.platform import new_region


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

    from tests.platform import eventually
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
