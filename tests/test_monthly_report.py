"""The monthly supervision report (月调度, Hunan Appendix 3) from statistics' RPC.

Fabricated events go straight into statistics' handler queues, as in test_duplicate_delivery,
dated inside and around November 2026, for counties of a city under the made-up province
71 that no other test uses (new_region only gives Hunan's 43). Months are China time: an
event at 2026-11-30T20:00Z is on 1 December in China and counts in December."""
import random
import uuid

import pytest
from kombu import Connection

from common import codes
from common.errors import InvalidInput
from common.events import Event, queue_names
from tests.platform import eventually

PROVINCE = "710000"
_UNUSED_CITIES = random.sample([f"71{city:02d}00" for city in range(1, 100)], 99)

NOV_5, NOV_10, NOV_12, NOV_20, NOV_25 = (f"2026-11-{day:02d}T02:00:00+00:00" for day in (5, 10, 12, 20, 25))
OCT_15, OCT_20 = "2026-10-15T02:00:00+00:00", "2026-10-20T02:00:00+00:00"
OCT_31_LATE = "2026-10-31T16:30:00+00:00"  # 00:30 on 1 November in China
NOV_30_LATE = "2026-11-30T20:00:00+00:00"  # 04:00 on 1 December in China


def new_city(rpc):
    """A city of province 71 that holds nothing yet, not even from an earlier run."""
    while True:
        city = _UNUSED_CITIES.pop()
        if not any(rpc.statistics.region_summary(region_code=city)[key] for key in ("issued", "claimed", "voided")):
            return city


def terms(region, function, distribution):
    return {"template_id": str(uuid.uuid4()), "region_code": region, "function": function,
            "distribution": distribution, "face_value_fen": 50000 if function == "face_value" else None,
            "subsidy_standard_fen": None if function == "face_value" else 80000, "occupation": "6-01-02-01",
            "skill_level": 5, "institution_ids": None, "funding_source": "就业补助资金",
            "valid_from": "2026-01-01", "valid_until": "2026-12-31"}


def deliver(amqp_uri, source, event_type, method, payload, occurred_at):
    event = Event(type=event_type, source=source, aggregate_id=str(uuid.uuid4()), payload=payload,
                  occurred_at=occurred_at)
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(event.to_message(), exchange="",
                                      routing_key=queue_names(source, event_type, "statistics", method)[0],
                                      serializer="json", delivery_mode=2)


def issued(amqp_uri, template, count, at):
    deliver(amqp_uri, "issuance", "vouchers_issued", "handle_vouchers_issued",
            {"batch_id": str(uuid.uuid4()), "template": template, "count": count}, at)


def claimed(amqp_uri, template, *claimed_at):
    deliver(amqp_uri, "issuance", "vouchers_claimed", "handle_vouchers_claimed", {"template": template, "vouchers": [
        {"voucher_id": str(uuid.uuid4()), "code": codes.new_code(), "person_key": uuid.uuid4().hex * 2,
         "claimed_at": at} for at in claimed_at]}, NOV_25)


def used(amqp_uri, template, used_at):
    """Delivers a use, and returns it."""
    use = {"voucher_id": str(uuid.uuid4()), "code": codes.new_code(), "person_key": uuid.uuid4().hex * 2,
           "institution_id": str(uuid.uuid4()), "class_id": str(uuid.uuid4()), "device_id": None, "used_at": used_at,
           "use_seq": 1, "template": template}
    deliver(amqp_uri, "redemption", "vouchers_used", "handle_vouchers_used", {"vouchers": [use]}, NOV_25)
    return use


def use_reversed(amqp_uri, use, reversed_at):
    deliver(amqp_uri, "redemption", "voucher_use_reversed", "handle_voucher_use_reversed",
            {**use, "reversed_at": reversed_at, "reason": "mistaken_scan"}, reversed_at)


def settled(amqp_uri, template, at):
    deliver(amqp_uri, "settlement", "vouchers_settled", "handle_vouchers_settled", {
        "claim_id": str(uuid.uuid4()), "institution_id": str(uuid.uuid4()), "vouchers": [{
            "voucher_id": str(uuid.uuid4()), "code": codes.new_code(), "template_id": template["template_id"],
            "region_code": template["region_code"], "amount_fen": 50000}]}, at)


def voided(amqp_uri, template, *voided_at):
    deliver(amqp_uri, "redemption", "vouchers_voided", "handle_vouchers_voided", {"reason": "ineligible", "vouchers": [
        {"voucher_id": str(uuid.uuid4()), "code": codes.new_code(), "voided_at": at, "template": template}
        for at in voided_at]}, NOV_30_LATE)


def counters(issued=0, claimed=0, used=0, settled=0, settled_fen=0, voided=0, returned=0, expired=0):
    return {"issued": issued, "claimed": claimed, "used": used, "settled": settled, "settled_fen": settled_fen,
            "voided": voided, "returned": returned, "expired": expired}


def row_of(rpc, region_code, month, code):
    report = rpc.statistics.monthly_report(region_code=region_code, month=month)
    rows = {row["region_code"]: row for row in report["rows"]}
    assert code in rows, f"no row {code} in {sorted(rows)}"
    return rows[code]


def assert_row(rpc, region_code, month, code, expected_month, expected_to_date):
    row = row_of(rpc, region_code, month, code)
    assert (row["month"], row["to_date"]) == (expected_month, expected_to_date)
    return row


@pytest.fixture(scope="module")
def city(rpc, amqp_uri):
    """November 2026 in two counties of a fresh city, with events on either side of the month."""
    city = new_city(rpc)
    county_a, county_b = city[:4] + "01", city[:4] + "02"
    rpc.statistics.set_targets(year=2026, rows=[
        {"region_code": city, "name": "试点市", "planned_trainees": 1000, "issue_target": 500, "use_target": 50},
        {"region_code": county_a, "name": "试点县", "planned_trainees": 100, "issue_target": 50, "use_target": 5}])
    face = terms(county_a, "face_value", "general")
    credit = terms(county_b, "credit", "targeted")
    issued(amqp_uri, face, 10, NOV_5)
    issued(amqp_uri, face, 5, NOV_30_LATE)  # December in China
    issued(amqp_uri, credit, 20, OCT_15)
    claimed(amqp_uri, face, NOV_10, OCT_31_LATE, NOV_30_LATE)  # November, November, December
    used(amqp_uri, face, NOV_20)
    used(amqp_uri, credit, OCT_20)
    settled(amqp_uri, face, NOV_25)
    voided(amqp_uri, face, NOV_12, NOV_30_LATE)  # November, December
    everything = counters(issued=35, claimed=3, used=2, settled=1, settled_fen=50000, voided=2)
    eventually(lambda: _counted(rpc.statistics.region_summary(region_code=city), everything), timeout=30)
    return city, county_a, county_b


def _counted(summary, expected):
    assert {key: summary[key] for key in expected} == expected


def test_the_province_report_counts_each_event_in_its_china_time_month(rpc, city):
    city, _, _ = city
    row = assert_row(rpc, PROVINCE, "2026-11", city,
                     counters(issued=10, claimed=2, used=1, settled=1, settled_fen=50000, voided=1),
                     counters(issued=30, claimed=2, used=2, settled=1, settled_fen=50000, voided=1))
    assert row["name"] == "试点市"
    assert (row["claim_rate"], row["usage_rate"], row["face_value_share"], row["general_share"]) == (
        0.0667, 0.0667, 0.3333, 0.3333)
    assert row["target"] == {"issue_target": 500, "use_target": 50, "issue_progress": 0.06, "use_progress": 0.04}
    # October's events are in November's to-date counts only, and in October's own month.
    assert_row(rpc, PROVINCE, "2026-10", city, counters(issued=20, used=1), counters(issued=20, used=1))
    # What happened at 20:00Z on 30 November is December's, in China.
    assert_row(rpc, PROVINCE, "2026-12", city, counters(issued=5, claimed=1, voided=1),
               counters(issued=35, claimed=3, used=2, settled=1, settled_fen=50000, voided=2))
    # A year's counts never run into the next year's report.
    report = rpc.statistics.monthly_report(region_code=PROVINCE, month="2027-01")
    assert city not in {r["region_code"] for r in report["rows"]}


def test_the_city_report_has_a_row_per_county_and_the_citys_target_on_its_total(rpc, city):
    city, county_a, county_b = city
    assert_row(rpc, city, "2026-12", county_a, counters(issued=5, claimed=1, voided=1),
               counters(issued=15, claimed=3, used=1, settled=1, settled_fen=50000, voided=2))
    report = rpc.statistics.monthly_report(region_code=city, month="2026-11")
    assert (report["region_code"], report["month"], report["year"]) == (city, "2026-11", 2026)
    assert [row["region_code"] for row in report["rows"]] == [county_a, county_b]
    a, b = report["rows"]
    assert (a["name"], a["target"]["issue_target"], a["face_value_share"], a["general_share"]) == (
        "试点县", 50, 1.0, 1.0)
    assert (b["name"], b["target"], b["month"], b["to_date"]) == (
        None, None, counters(), counters(issued=20, used=1))
    assert (b["face_value_share"], b["general_share"], b["usage_rate"]) == (0.0, 0.0, 0.05)
    total = report["total"]
    assert (total["name"], total["target"]["issue_target"]) == ("试点市", 500)
    assert total["to_date"] == counters(issued=30, claimed=2, used=2, settled=1, settled_fen=50000, voided=1)


def test_voided_vouchers_stay_claimed_in_the_running_counts(rpc, city):
    city, _, _ = city
    summary = rpc.statistics.region_summary(region_code=city)
    assert (summary["issued"], summary["claimed"], summary["voided"]) == (35, 3, 2)


def test_the_nation_reports_the_made_up_province_as_one_row(rpc, city):
    row = row_of(rpc, "000000", "2026-12", PROVINCE)
    assert row["to_date"]["issued"] >= 35 and row["to_date"]["voided"] >= 2


def test_a_use_undone_leaves_the_month_of_the_use_not_the_month_of_its_reversal(rpc, amqp_uri, quiet):
    city = new_city(rpc)
    county = city[:4] + "01"
    face = terms(county, "face_value", "general")
    issued(amqp_uri, face, 10, OCT_15)
    use_reversed(amqp_uri, used(amqp_uri, face, OCT_20), NOV_5)
    used(amqp_uri, face, NOV_20)
    quiet()
    _counted(rpc.statistics.region_summary(region_code=city), counters(issued=10, used=1))
    assert_row(rpc, city, "2026-10", county, counters(issued=10), counters(issued=10))
    assert_row(rpc, city, "2026-11", county, counters(used=1), counters(issued=10, used=1))


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "11-2026", "2026-11-01", ""])
def test_a_month_not_written_yyyy_mm_is_refused(rpc, month):
    with pytest.raises(InvalidInput) as refused:
        rpc.statistics.monthly_report(region_code=PROVINCE, month=month)
    assert refused.value.code == "invalid_month"


def test_a_region_code_that_is_not_six_digits_is_refused(rpc):
    with pytest.raises(InvalidInput) as refused:
        rpc.statistics.monthly_report(region_code="71", month="2026-11")
    assert refused.value.code == "invalid_region"


def test_the_report_through_the_gateway_as_a_workbook_a_csv_and_a_chart(gateway, clients, city):
    import csv
    import io

    from openpyxl import load_workbook
    city, _, _ = city
    manager = clients("manager", PROVINCE)
    params = {"month": "2026-11"}
    as_json = gateway.ok_get(f"/v1/reports/monthly/{PROVINCE}", manager, params)
    response = gateway.call("GET", f"/v1/reports/monthly/{PROVINCE}", manager, params={**params, "format": "xlsx"})
    assert response.status_code == 200, response.text
    assert f"monthly-report-{PROVINCE}-2026-11.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content))["月调度"]
    keys = [cell.value for cell in sheet[3]]
    rows = {row[0]: dict(zip(keys, row)) for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert len(rows) == len(as_json["rows"]) + 1  # and the total
    ours = rows[city]
    assert (ours["name"], ours["month_issued"], ours["to_date_issued"], ours["to_date_claimed"]) == ("试点市", 10, 30, 2)
    assert (ours["to_date_used"], ours["to_date_settled"], ours["to_date_settled_yuan"]) == (2, 1, 500)
    assert (ours["claim_rate"], ours["issue_target"], ours["issue_progress"]) == (0.0667, 500, 0.06)
    answered = gateway.call("GET", f"/v1/reports/monthly/{PROVINCE}", manager, params={**params, "format": "csv"})
    lines = list(csv.DictReader(io.StringIO(answered.content.decode("utf-8-sig"))))
    assert {line["region_code"]: line["to_date_issued"] for line in lines}[city] == "30"
    chart = gateway.call("GET", f"/v1/reports/monthly/{PROVINCE}", manager, params={**params, "format": "png"})
    assert (chart.headers["Content-Type"], chart.content[:8]) == ("image/png", b"\x89PNG\r\n\x1a\n")
    refused = gateway.call("GET", f"/v1/reports/monthly/{PROVINCE}", manager, params={**params, "format": "pdf"})
    assert (refused.status_code, refused.json()["error"]) == (400, "validation_failed")
