"""CSV uploads to the batch endpoints (batchAddTrainees, batchAddInstitutions), as a clerk's
spreadsheet exports them: answered row by row like JSON, each refused row with its line."""
from voucher_client import VoucherClient

from common import credit_codes
from tests import lifecycle
from tests.platform import credit_code, distinct_id_numbers, id_number, new_region

INSTITUTION_HEADER = "region_code,name,credit_code,site_name,site_address,latitude,longitude,radius_m\r\n"


def post_csv(gateway, client, path, data, charset="utf-8", **kwargs):
    """Signed over the exact bytes by the SDK."""
    return VoucherClient(gateway.base_url, client.key_id, client.secret, session=gateway.http).post_csv(
        path, data, charset, **kwargs)


def ok_csv(gateway, client, path, data, charset="utf-8", **kwargs):
    response = post_csv(gateway, client, path, data, charset, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def refused_whole(gateway, client, path, data, charset="utf-8"):
    response = post_csv(gateway, client, path, data, charset)
    return response.status_code, response.json()["error"], response.json()


def test_a_trainees_csv_is_answered_row_by_row_with_lines_and_a_repeat_adds_nothing(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    newcomer, second = id_number(), id_number()
    bad_check = newcomer[:17] + ("0" if newcomer[17] != "0" else "1")
    # As Excel saves "CSV UTF-8": a byte-order mark and CRLF; line 4 is blank.
    csv = (f"\ufeffid_number,name\r\n{newcomer},李四\r\n{bad_check},王五\r\n\r\n{p.workers[0]},\r\n"
           f"{second},赵6\r\n{second},赵六\r\n").encode()
    path = f"/v1/classes/{p.class_id}/trainees"
    answer = ok_csv(gateway, p.institution, path, csv, idempotency_key="csv-trainees-1")
    assert [(r["row"], r["status"], r.get("error"), r.get("line")) for r in answer["rows"]] == [
        (0, "added", None, None), (1, "refused", "invalid_id_number", 3), (2, "unchanged", None, None),
        (3, "refused", "validation_failed", 6), (4, "added", None, None)]
    assert (answer["class_id"], answer["added"], answer["unchanged"], answer["refused"]) == (p.class_id, 2, 1, 2)
    assert "name" in answer["rows"][3]["details"]
    assert ok_csv(gateway, p.institution, path, csv, idempotency_key="csv-trainees-1") == answer  # a retry

    again = ok_csv(gateway, p.institution, path, csv)
    assert (again["added"], again["unchanged"], again["refused"]) == (0, 3, 2)
    assert [r.get("line") for r in again["rows"]] == [None, 3, None, 6, None]


def test_a_gb18030_csv_with_chinese_names_is_read(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    newcomer = id_number()
    csv = f"id_number,name\r\n{newcomer},欧阳春华\r\n".encode("gb18030")
    path = f"/v1/classes/{p.class_id}/trainees"
    assert refused_whole(gateway, p.institution, path, csv)[:2] == (400, "invalid_csv")  # said to be UTF-8
    answer = ok_csv(gateway, p.institution, path, csv, charset="gb18030")
    assert [(r["row"], r["status"]) for r in answer["rows"]] == [(0, "added")]

    lifecycle.create_templates(gateway, p, pool_size=1)
    code = lifecycle.claim(gateway, p, newcomer)["code"]
    seen = gateway.call("POST", "/v1/trainees/qr-lookup", p.institution, {"qr": code},
                        headers={"Idempotency-Key": None})
    assert seen.status_code == 200, seen.text
    assert seen.json()["trainee"]["name"] == "欧***"  # the name was decoded, not mangled


def test_an_institutions_csv_makes_one_institution_of_the_rows_sharing_a_credit_code(gateway, clients):
    region = new_region()
    manager = clients("manager", region)
    two_sites, one_site, other_region = credit_code(), credit_code(), credit_code()
    typo = two_sites[:17] + next(c for c in credit_codes.ALPHABET if c != two_sites[17])
    csv = (INSTITUTION_HEADER
           + f"{region},长沙市甲职业培训学校,{two_sites},本部,八一路1号,28.1960,112.9823,150\r\n"
           + f"{region},长沙市乙培训中心,{one_site},校区,五一路2号,28.2,112.9,100\r\n"
           + f'{region},长沙市甲职业培训学校,{two_sites},实训基地,"芙蓉路3号, 2楼",28.21,112.99,200\r\n'
           + f"{region},长沙市丙培训学校,{typo},本部,韶山路4号,28.1,112.9,100\r\n"
           + f"370100,济南市丁培训学校,{other_region},本部,泉城路5号,36.6,117.0,100\r\n").encode()
    answer = ok_csv(gateway, manager, "/v1/institutions/batch", csv)
    assert [(r["row"], r["status"], r.get("error"), r.get("line")) for r in answer["rows"]] == [
        (0, "accepted", None, None), (1, "accepted", None, None), (3, "refused", "validation_failed", 5),
        (4, "refused", "other_region", 6)]
    assert (answer["accepted"], answer["refused"]) == (2, 2)
    assert sorted(s["name"] for s in answer["rows"][0]["sites"]) == ["实训基地", "本部"]
    assert len(answer["rows"][1]["sites"]) == 1
    assert list(answer["rows"][2]["details"]) == ["credit_code"]
    assert "check character" in answer["rows"][2]["details"]["credit_code"][0]

    again = ok_csv(gateway, manager, "/v1/institutions/batch", csv)
    assert [(r["row"], r.get("error"), r.get("line")) for r in again["rows"]] == [
        (0, "institution_exists", 2), (1, "institution_exists", 3), (3, "validation_failed", 5),
        (4, "other_region", 6)]


def test_a_file_with_a_wrong_header_too_many_rows_or_too_many_bytes_is_refused_whole(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    path = f"/v1/classes/{p.class_id}/trainees"
    people = distinct_id_numbers(1001, exclude=p.workers)

    status, error, body = refused_whole(gateway, p.institution, path, f"身份证号,name\r\n{people[0]},张三\r\n")
    assert (status, error) == (400, "csv_header")
    assert body["details"]["missing"] == ["id_number"] and body["details"]["unknown"] == ["身份证号"]
    status, error, body = refused_whole(gateway, p.manager, "/v1/institutions/batch",
                                        "region_code,name,credit_code\r\n430102,x,y\r\n")
    assert (status, error) == (400, "csv_header") and "site_name" in body["details"]["missing"]

    rows = "".join(f"{person}\r\n" for person in people)
    assert refused_whole(gateway, p.institution, path, "id_number\r\n" + rows)[:2] == (400, "too_many_rows")
    oversized = "id_number\r\n" + f"{people[0]}\r\n" * 60_000  # 1.2 MB
    assert refused_whole(gateway, p.institution, path, oversized)[:2] == (413, "body_too_large")
    assert refused_whole(gateway, p.institution, path, b"\x89PNG\r\n\x1a\n")[:2] == (400, "invalid_csv")

    answer = ok_csv(gateway, p.institution, path, f"id_number\r\n{people[0]}\r\n")
    assert answer["added"] == 1  # the refused files added no one


def test_the_upload_tool_sends_a_big_file_in_parts_and_a_rerun_acts_once(gateway, clients, database_url):
    from sqlalchemy import create_engine, text

    from voucher_client.upload import upload
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    people = distinct_id_numbers(2300, exclude=p.workers)
    lines = ["id_number,name"] + [f"{number},学员" for number in people]
    typo = people[1499][:-1] + ("0" if people[1499][-1] != "0" else "1")
    lines[1500] = f"{typo},学员"  # line 1501 of the file: a mistyped check character
    client = VoucherClient(gateway.base_url, p.institution.key_id, p.institution.secret, session=gateway.http)
    path = f"/v1/classes/{p.class_id}/trainees"
    seen = []
    totals, refused = upload(client, path, "\n".join(lines) + "\n", progress=lambda done, total: seen.append(done))
    assert seen == [1, 2, 3]
    assert totals == {"added": 2299, "refused": 1}
    assert [(r["line"], r["error"]) for r in refused] == [(1501, "invalid_id_number")]

    again, _ = upload(client, path, "\n".join(lines) + "\n")
    assert again == totals  # the same parts, the same keys: the first answers, replayed
    engine = create_engine(database_url("issuance"))
    with engine.connect() as connection:
        roster = connection.execute(text("SELECT count(*) FROM roster WHERE class_id = :c"), {"c": p.class_id}).scalar()
    engine.dispose()
    assert roster == 2300  # the one registered with the class, and 2,299 added once
