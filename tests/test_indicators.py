"""Every indicator of the supervision table (Hunan 附件 3; Shandong §一) computed by hand on a small
reference dataset and compared with statistics' answer; demographic breakdowns; a rebuild that
replays the journal and ends where it began.

Fabricated events go straight into statistics' handler queues (as in test_monthly_report), for
two cities of a made-up province no other test uses, in the third quarter of 2026. It ends at
2026-10-01 00:00 China time (2026-09-30T16:00Z): what comes later counts in no indicator here."""
import datetime
import random
import uuid

import pytest

from common import codes
from common.errors import InvalidInput
from tests import lifecycle
from tests.platform import eventually, new_region
from tests.test_monthly_report import deliver, terms

YEAR, QUARTER = 2026, 3


def at(day, hour="02:00", year=2026):
    return f"{year}-{day}T{hour}:00+00:00"


def profile(age_band="25-34", gender="F", employer_type="private", groups=()):
    return {"age_band": age_band, "gender": gender, "home_province": "430000", "groups": sorted(groups),
            "employer_type": employer_type}


@pytest.fixture(scope="module")
def province(rpc):
    """A province (72…79) that holds nothing yet, not even from an earlier run."""
    for code in random.sample(range(72, 80), 8):
        candidate = f"{code}0000"
        if not rpc.statistics.region_summary(region_code=candidate)["issued"]:
            return candidate
    pytest.fail("no empty made-up province left")


class Dataset:
    """The reference dataset, and a way to send each kind of event."""

    def __init__(self, amqp_uri, province):
        self.amqp_uri, self.p = amqp_uri, province[:2]
        self.city_1, self.city_2 = f"{self.p}0100", f"{self.p}0200"
        self.county_1a, self.county_1b, self.county_2a = f"{self.p}0102", f"{self.p}0103", f"{self.p}0202"
        self.delivered = 0

    def send(self, source, event_type, payload, occurred_at):
        deliver(self.amqp_uri, source, event_type, f"handle_{event_type}", payload, occurred_at)
        self.delivered += 1

    def template(self, region, function, distribution, occupation, level, created):
        template = {**terms(region, function, distribution), "occupation": occupation, "skill_level": level}
        self.send("issuance", "template_created", {"template": template, "quantity": 1000}, created)
        return template

    def issued(self, template, count, when):
        self.send("issuance", "vouchers_issued", {"batch_id": str(uuid.uuid4()), "template": template,
                                                   "count": count}, when)

    def claimed(self, template, count, when, profile_of=lambda i: None):
        self.send("issuance", "vouchers_claimed", {"template": template, "vouchers": [
            {"voucher_id": str(uuid.uuid4()), "code": codes.new_code(), "person_key": uuid.uuid4().hex * 2,
             "claimed_at": when, "profile": profile_of(i)} for i in range(count)]}, when)

    def used(self, template, count, when, profile_of=lambda i: None):
        uses = [{"voucher_id": str(uuid.uuid4()), "code": codes.new_code(), "person_key": uuid.uuid4().hex * 2,
                 "institution_id": str(uuid.uuid4()), "class_id": str(uuid.uuid4()), "device_id": None,
                 "used_at": when, "use_seq": 1, "subsidy_ratio_percent": 100, "profile": profile_of(i),
                 "template": template} for i in range(count)]
        self.send("redemption", "vouchers_used", {"vouchers": uses}, when)
        return uses

    def reversed(self, use, when):
        self.send("redemption", "voucher_use_reversed", {**use, "reversed_at": when, "reason": "mistaken_scan"}, when)

    def institution(self, region, when):
        institution_id = str(uuid.uuid4())
        self.send("issuance", "institution_registered", {
            "institution_id": institution_id, "region_code": region, "name": "培训学校", "sites": [],
            "project_ids": [], "projects": [], "payout_account_masked": None}, when)
        return institution_id

    def project(self, region, occupation, level, when):
        self.send("issuance", "project_registered", {
            "project_id": str(uuid.uuid4()), "region_code": region, "occupation": occupation, "skill_level": level,
            "name": "培训项目", "subsidy_standard_fen": 100000}, when)

    def checkin(self, institution_id, region, when):
        self.send("attendance", "checkins_recorded", {"checkins": [{
            "checkin_id": random.randrange(1, 2**31), "class_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()),
            "institution_id": institution_id, "region_code": region, "person_key": uuid.uuid4().hex * 2,
            "method": "location", "checked_in_at": when}]}, when)

    def completed(self, person, region, when):
        self.send("attendance", "trainings_completed", {"completions": [{
            "class_id": str(uuid.uuid4()), "institution_id": str(uuid.uuid4()), "region_code": region,
            "person_key": person, "attendance_rate": 1.0, "completed_at": when}]}, when)

    def evaluated(self, person, region, when):
        self.send("attendance", "evaluations_submitted", {"evaluations": [{
            "class_id": str(uuid.uuid4()), "institution_id": str(uuid.uuid4()), "region_code": region,
            "person_key": person, "rating": 5, "evaluated_at": when}]}, when)

    def anomaly(self, region, kind, when):
        self.send("attendance", "anomalies_detected", {"anomalies": [{
            "anomaly_id": str(uuid.uuid4()), "kind": kind, "class_id": str(uuid.uuid4()),
            "institution_id": str(uuid.uuid4()), "region_code": region, "detected_at": when}]}, when)


WELDER, CARER, COOK = ("6-18-02-04", 4), ("4-10-01-05", 5), ("4-03-02-01", 3)


@pytest.fixture(scope="module")
def reference(rpc, amqp_uri, province):
    d = Dataset(amqp_uri, province)
    # Vouchers: city 1 has a face-value general template and a credit targeted one, city 2 a face-value targeted one.
    face_general = d.template(d.county_1a, "face_value", "general", *WELDER, at("08-01"))
    credit_targeted = d.template(d.county_1b, "credit", "targeted", *CARER, at("07-01"))
    face_targeted = d.template(d.county_2a, "face_value", "targeted", *WELDER, at("08-20"))
    d.template(province, "credit", "general", *COOK, at("10-15"))  # after the quarter: pays for no project yet
    d.issued(face_general, 100, at("08-05"))
    d.issued(credit_targeted, 50, at("07-10"))
    d.issued(face_targeted, 40, at("09-01"))
    d.issued(face_general, 60, at("10-10"))  # the fourth quarter
    d.claimed(face_general, 30, at("08-10"))
    d.claimed(credit_targeted, 50, at("07-10"))
    d.claimed(face_targeted, 40, at("09-01"))
    d.claimed(face_general, 10, at("10-12"))
    d.used(face_general, 6, at("09-10"))
    d.reversed(d.used(face_general, 1, at("09-20"))[0], at("09-21"))  # undone: counts no more
    d.used(credit_targeted, 9, at("08-15"))
    d.used(face_targeted, 4, at("09-05"))
    d.used(face_targeted, 1, at("09-30", "16:30"))  # 00:30 on 1 October in China: the fourth quarter
    # Institutions and platforms on the platform; projects of the catalogue.
    i1 = d.institution(d.county_1a, at("07-01"))
    i2 = d.institution(d.county_1b, at("08-01"))
    i3 = d.institution(d.county_2a, at("08-01"))
    d.institution(d.county_2a, at("10-05"))
    d.project(d.county_1a, *WELDER, at("07-01"))  # payable: the face-value general template, same county
    d.project(d.county_1b, *CARER, at("07-01"))  # payable: the credit targeted template, same county
    d.project(d.county_1b, *COOK, at("07-01"))  # the cook's template comes in October
    d.project(d.city_2, *WELDER, at("07-01"))  # payable: a template of a county inside the city
    d.project(d.county_2a, *CARER, at("07-01"))  # the carer's template is another city's
    # Check-ins: two institutions in the quarter, one after it.
    d.checkin(i1, d.county_1a, at("08-10"))
    d.checkin(i1, d.county_1a, at("08-11"))
    d.checkin(i3, d.county_2a, at("09-05"))
    d.checkin(i2, d.county_1b, at("10-02"))
    # Trainees: A completes in two counties of city 1 (one user of it); B rates 30 minutes too late.
    a, b, c, e, f = (uuid.uuid4().hex * 2 for _ in range(5))
    d.completed(a, d.county_1a, at("07-20"))
    d.completed(b, d.county_1a, at("08-15"))
    d.completed(c, d.county_1b, at("09-01"))
    d.completed(a, d.county_1b, at("09-10"))
    d.completed(e, d.county_2a, at("09-03"))
    d.completed(f, d.county_2a, at("10-03"))
    d.evaluated(a, d.county_1a, at("08-01"))
    d.evaluated(c, d.county_1b, at("09-02"))
    d.evaluated(b, d.county_1a, at("09-30", "16:30"))
    d.evaluated(e, d.county_2a, at("10-04"))
    d.anomaly(d.county_1a, "shared_device", at("09-01"))
    # What the bureaus reported; city 2 left its institutions out in September: August's stands.
    rpc.statistics.set_region_facts(month="2026-08", rows=[
        {"region_code": d.city_2, "institutions_total": 5, "resident_population": 2_000_000}])
    rpc.statistics.set_region_facts(month="2026-09", rows=[
        {"region_code": province, "institutions_total": 10, "e_cards_issued": 3_000_000,
         "resident_population": 6_000_000, "ecard_channels": 5, "voucher_channels": 4, "working_group": True,
         "policy_issued": True, "promotion_plan": False},
        {"region_code": d.city_1, "institutions_total": 4, "e_cards_issued": 1_000_000,
         "resident_population": 2_500_000, "ecard_channels": 2, "voucher_channels": 2},
        {"region_code": d.city_2, "e_cards_issued": 800_000}])
    rpc.statistics.set_region_facts(month="2026-10", rows=[{"region_code": d.city_2, "institutions_total": 50}])
    eventually(lambda: _all_applied(rpc, province), timeout=60)
    return d


def _all_applied(rpc, province):
    indicators = rpc.statistics.quarterly_indicators(region_code=province, year=2026, quarter=4)["total"]
    assert indicators["counts"]["issued"] == 250 and indicators["counts"]["used"] == 20
    assert indicators["counts"]["trainees_completed"] == 5 and indicators["counts"]["trainees_evaluated"] == 4
    assert indicators["counts"]["checkin_institutions"] == 3 and indicators["counts"]["institutions"] == 4


def fraction(numerator, denominator, target=None):
    value = None if numerator is None or denominator is None or not denominator else round(numerator / denominator, 4)
    return {"value": value, "numerator": numerator, "denominator": denominator, "target": target,
            "met": None if value is None or target is None else value >= target}


def by_hand(issued, claimed, used, face, general, institutions, institutions_total, projects, payable,
            checkins, completed, evaluated, e_cards, population, ecard_channels, voucher_channels):
    """The third quarter's indicators as 附件 3 defines them, with its third-quarter targets."""
    return {
        "claim_rate": fraction(claimed, issued),  # a fourth-quarter target only
        "usage_rate": fraction(used, issued),
        "face_value_share": fraction(face, issued, 0.40),
        "general_share": fraction(general, issued, 0.40),
        "institution_coverage": fraction(institutions, institutions_total, 0.60),
        "project_coverage": fraction(payable, projects, 0.60),
        "checkin_coverage": fraction(checkins, 10, 0.60),  # of the province's ten institutions (全省)
        "evaluation_completion": fraction(evaluated, completed, 0.60),
        "e_card_rate": fraction(e_cards, population),
        "channel_coverage": fraction(voucher_channels, ecard_channels),
    }


def test_every_indicator_is_what_the_sources_define_computed_by_hand(rpc, reference, province):
    d = reference
    found = rpc.statistics.quarterly_indicators(region_code=province, year=YEAR, quarter=QUARTER)
    rows = {row["region_code"]: row for row in found["rows"]}
    assert sorted(rows) == [d.city_1, d.city_2]
    expected = {
        # 150 issued (100 face-value general, 50 credit targeted), 80 claimed, 6 + 9 used (a 7th undone);
        # institutions 2 of 4; projects 2 of 3 payable; 1 institution checked in; users A, B, C completed
        # (A in two counties, once), A and C rated (B's came at 00:30 on 1 October).
        d.city_1: by_hand(150, 80, 15, 100, 100, 2, 4, 3, 2, 1, 3, 2, 1_000_000, 2_500_000, 2, 2),
        # 40 face-value targeted, all claimed, 4 used by the quarter's end; 1 institution of 5 (August's
        # figure); the city's welder project payable by its county's template, the carer's not.
        d.city_2: by_hand(40, 40, 4, 40, 0, 1, 5, 2, 1, 1, 1, 0, 800_000, 2_000_000, None, None),
        province: by_hand(190, 120, 19, 140, 100, 3, 10, 5, 3, 2, 4, 2, 3_000_000, 6_000_000, 5, 4),
    }
    for code, row in [*rows.items(), (province, found["total"])]:
        for name, indicator in expected[code].items():
            assert row[name] == indicator, (code, name)
    assert (found["total"]["working_group"], found["total"]["policy_issued"], found["total"]["promotion_plan"]) == (
        True, True, False)
    assert rows[d.city_1]["working_group"] is None  # not reported: unknown, not "no"
    assert found["total"]["e_cards_issued"] == 3_000_000
    assert found["targets"]["claim_rate"] is None and found["targets"]["face_value_share"] == 0.40


def test_the_fourth_quarter_counts_what_came_after_and_holds_the_fourth_quarter_targets(rpc, reference, province):
    d = reference
    found = rpc.statistics.quarterly_indicators(region_code=province, year=YEAR, quarter=4)
    total = found["total"]
    assert total["claim_rate"] == fraction(130, 250, 0.40)
    assert total["usage_rate"] == fraction(20, 250, 0.10)
    assert total["project_coverage"] == fraction(4, 5, 0.80)  # the cook's template, province-wide, came
    assert total["evaluation_completion"] == fraction(4, 5, 0.80)
    assert total["channel_coverage"] == fraction(4, 5, 0.80)
    city_2 = {row["region_code"]: row for row in found["rows"]}[d.city_2]
    assert city_2["institution_coverage"] == fraction(2, 50, 0.80)  # October's total


def test_a_quarter_outside_one_to_four_or_a_bad_region_is_refused(rpc):
    for kwargs, code in (({"region_code": "430000", "year": 2026, "quarter": 5}, "invalid_quarter"),
                         ({"region_code": "43", "year": 2026, "quarter": 1}, "invalid_region")):
        with pytest.raises(InvalidInput) as refused:
            rpc.statistics.quarterly_indicators(**kwargs)
        assert refused.value.code == code


def test_demographics_count_holders_by_every_dimension_and_no_person(rpc, amqp_uri, province):
    d = Dataset(amqp_uri, province)
    county = f"{province[:2]}0302"
    template = terms(county, "credit", "general")
    older = profile(age_band="45-54", gender="M", employer_type="none", groups=("unemployed", "rural_migrant"))
    young = profile(age_band="16-24", groups=("graduate",))
    d.claimed(template, 3, at("06-10", year=2025), lambda i: older if i == 0 else young)
    d.claimed(template, 1, at("06-11", year=2025))  # claimed before profiles: in the totals of vouchers only
    uses = d.used(template, 2, at("06-20", year=2025), lambda i: older if i == 0 else young)
    d.reversed(uses[1], at("06-21", year=2025))

    def counted():
        found = rpc.statistics.demographics(region_code=f"{province[:2]}0300", year=2025)
        assert (found["claimed"], found["used"]) == (3, 1)
        return found

    found = eventually(counted, timeout=30)
    breakdown = {dimension: {row["value"]: (row["claimed"], row["used"]) for row in rows}
                 for dimension, rows in found["breakdown"].items()}
    assert breakdown == {
        "age_band": {"45-54": (1, 1), "16-24": (2, 0)},
        "gender": {"M": (1, 1), "F": (2, 0)},
        "home_province": {"430000": (3, 1)},
        "employer_type": {"none": (1, 1), "private": (2, 0)},
        "group": {"unemployed": (1, 1), "rural_migrant": (1, 1), "graduate": (2, 0)},
    }
    assert rpc.statistics.demographics(region_code=f"{province[:2]}0300", year=2025, month="2025-07")["claimed"] == 0


def test_a_rebuild_replays_the_journal_and_every_read_model_ends_as_it_was(rpc, reference, province):
    before = rpc.statistics.quarterly_indicators(region_code=province, year=YEAR, quarter=QUARTER)
    report_before = rpc.statistics.monthly_report(region_code=province, month="2026-09")
    rebuilt = rpc.statistics.rebuild()
    assert rebuilt["replayed"] >= reference.delivered
    assert rebuilt["before"]["voucher_counts"]["rows"] > 0 and rebuilt["before"]["trainees"]["rows"] > 0
    assert rebuilt["after"] == rebuilt["before"], "a read model changed in the rebuild"
    assert rpc.statistics.quarterly_indicators(region_code=province, year=YEAR, quarter=QUARTER) == before
    assert rpc.statistics.monthly_report(region_code=province, month="2026-09") == report_before


def test_a_holders_profile_travels_from_the_claim_to_statistics_without_the_person(gateway, clients, rpc):
    from common.identity import age_band
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, p, pool_size=1)
    worker = p.workers[0]
    voucher = gateway.ok("POST", "/v1/claims", p.channel, {"template_id": p.template_id, "id_number": worker,
                                                           "employer_type": "state_owned"})
    lifecycle.redeem(gateway, p, voucher["code"])
    year = datetime.date.today().year

    def counted():
        found = gateway.ok_get(f"/v1/statistics/demographics/{p.region}", p.manager, {"year": year})
        assert (found["claimed"], found["used"]) == (1, 1)
        return found
    breakdown = {dimension: [(row["value"], row["claimed"], row["used"]) for row in rows]
                 for dimension, rows in eventually(counted, timeout=30)["breakdown"].items()}
    assert breakdown == {
        "age_band": [(age_band(int(worker[6:10])), 1, 1)],
        "gender": [("M" if int(worker[16]) % 2 else "F", 1, 1)],
        "home_province": [("430000", 1, 1)],
        "employer_type": [("state_owned", 1, 1)],
        "group": [("none", 1, 1)],
    }
    refused = gateway.call("POST", "/v1/claims", p.channel, {"template_id": p.template_id, "id_number": worker,
                                                             "employer_type": "pirate"})
    assert (refused.status_code, refused.json()["error"]) == (400, "validation_failed")
