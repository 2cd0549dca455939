"""Statistics's rules: claim and usage rates (Hunan Appendix 3), annual targets
(Hunan Appendix 2: issue target = plan × 50%, use target = issue target × 10%) and the
monthly supervision report (月调度, Appendix 3) in China-time months."""
import datetime
from decimal import Decimal

import pytest

from common.errors import InvalidInput
from stats.domain import monthly
from stats.domain.indicators import rate, summary
from stats.domain.targets import check, derive, progress

# 湖南省 2021 年职业培训券推广使用任务表 (附件 2), figures in 万 (10,000):
# city, region code, subsidised-training plan (万人), issue target (万张), use target (万张).
HUNAN_2021 = [
    ("长沙", "430100", "30", "15", "1.5"),
    ("株洲", "430200", "9", "4.5", "0.45"),
    ("湘潭", "430300", "4.1", "2.05", "0.205"),
    ("衡阳", "430400", "4.5", "2.25", "0.225"),
    ("邵阳", "430500", "4.5", "2.25", "0.225"),
    ("岳阳", "430600", "4.7", "2.35", "0.235"),
    ("常德", "430700", "4.5", "2.25", "0.225"),
    ("张家界", "430800", "2.4", "1.2", "0.12"),
    ("益阳", "430900", "3.6", "1.8", "0.18"),
    ("郴州", "431000", "4.6", "2.3", "0.23"),
    ("永州", "431100", "4.6", "2.3", "0.23"),
    ("怀化", "431200", "4.7", "2.35", "0.235"),
    ("娄底", "431300", "4.5", "2.25", "0.225"),
    ("自治州", "433100", "4.3", "2.15", "0.215"),
]
HUNAN_2021_TOTAL = ("合计", "430000", "90", "45", "4.5")


def _count(wan):
    count = Decimal(wan) * 10_000
    assert count == count.to_integral_value()
    return int(count)


def _row(row):
    _, region_code, plan, issue, use = row
    return {"region_code": region_code, "planned_trainees": _count(plan), "issue_target": _count(issue),
            "use_target": _count(use)}


# --- indicators ----------------------------------------------------------------------

def test_a_rate_over_nothing_issued_is_undefined_not_zero():
    assert rate(0, 0) is None
    assert rate(5, 0) is None


def test_a_rate_of_nothing_claimed_out_of_something_issued_is_zero():
    assert rate(0, 100) == 0.0


@pytest.mark.parametrize("part, whole, expected", [
    (1, 3, 0.3333), (2, 3, 0.6667), (1, 8, 0.125), (15_000, 150_000, 0.1), (123_456, 1_000_000, 0.1235),
    (150_000, 150_000, 1.0)])
def test_a_rate_is_rounded_to_four_places(part, whole, expected):
    assert rate(part, whole) == expected


def test_a_summary_adds_claim_and_usage_rates_over_issued():
    counts = {"issued": 150_000, "claimed": 90_000, "used": 15_000, "settled": 12_000}
    assert summary(counts) == {**counts, "claim_rate": 0.6, "usage_rate": 0.1}


def test_a_summary_of_a_region_that_issued_nothing_has_no_rates():
    counts = {"issued": 0, "claimed": 0, "used": 0}
    assert summary(counts) == {**counts, "claim_rate": None, "usage_rate": None}


def test_a_summary_does_not_change_the_counts_it_was_given():
    counts = {"issued": 3, "claimed": 2, "used": 1}
    summary(counts)
    assert counts == {"issued": 3, "claimed": 2, "used": 1}


# --- targets -----------------------------------------------------------------------

def test_the_issue_target_is_half_the_plan_and_the_use_target_a_tenth_of_that():
    assert derive(300_000) == (150_000, 15_000)
    assert derive(900_000) == (450_000, 45_000)


def test_derived_targets_are_whole_vouchers_rounded_down():
    assert derive(41_001) == (20_500, 2_050)
    assert derive(19) == (9, 0)
    assert all(isinstance(n, int) for n in derive(41_001))


def test_the_embedded_hunan_table_adds_up_to_its_published_total():
    for column in (2, 3, 4):
        assert sum(Decimal(row[column]) for row in HUNAN_2021) == Decimal(HUNAN_2021_TOTAL[column])


@pytest.mark.parametrize("row", HUNAN_2021 + [HUNAN_2021_TOTAL], ids=lambda row: row[1])
def test_every_row_of_hunans_2021_table_follows_the_rule(row):
    values = _row(row)
    assert check(**values) is None
    assert derive(values["planned_trainees"]) == (values["issue_target"], values["use_target"])


def test_changsha_plans_300000_issues_150000_and_uses_15000():
    assert _row(HUNAN_2021[0]) == {"region_code": "430100", "planned_trainees": 300_000, "issue_target": 150_000,
                                   "use_target": 15_000}


@pytest.mark.parametrize("change", [{"issue_target": 20_400}, {"use_target": 2_051}, {"planned_trainees": 41_100},
                                    {"issue_target": 41_000, "use_target": 4_100}])
def test_a_row_that_breaks_the_rule_is_refused_naming_the_region(change):
    row = {**_row(HUNAN_2021[2]), **change}
    with pytest.raises(InvalidInput) as refused:
        check(**row)
    assert refused.value.code == "target_rule_broken"
    assert "430300" in refused.value.message


def test_progress_is_done_over_target_rounded_to_four_places():
    assert progress(15_000, 150_000) == 0.1
    assert progress(2, 3) == 0.6667
    assert progress(160_000, 150_000) == 1.0667


def test_progress_against_no_target_is_undefined():
    assert progress(10, 0) is None


# --- the monthly report ----------------------------------------------------------------

def test_a_month_is_written_yyyy_mm_and_keyed_by_its_first_day():
    assert monthly.parse_month("2026-11") == datetime.date(2026, 11, 1)
    assert monthly.parse_month("2021-01") == datetime.date(2021, 1, 1)
    assert monthly.parse_month("2021-12") == datetime.date(2021, 12, 1)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-11", "202611", "2026/11", "2026-11-01",
                                  " 2026-11", "2026-11\n", "", "0000-01", "２０２６-11", None, 202611])
def test_anything_but_a_yyyy_mm_month_is_refused_saying_the_form(text):
    with pytest.raises(InvalidInput) as refused:
        monthly.parse_month(text)
    assert refused.value.code == "invalid_month"
    assert "YYYY-MM" in refused.value.message


@pytest.mark.parametrize("moment, month", [
    ("2026-11-30T20:00:00Z", "2026-12"),  # 04:00 on 1 December in China
    ("2026-11-30T15:59:59+00:00", "2026-11"),
    ("2026-11-30T16:00:00+00:00", "2026-12"),
    ("2026-12-31T16:00:00+00:00", "2027-01"),  # and the year turns too
    ("2026-10-31T17:00:00Z", "2026-11"),
    ("2026-11-01T00:30:00+08:00", "2026-11"),
    ("2026-11-30T23:59:59+08:00", "2026-11"),
    (datetime.datetime(2026, 11, 30, 20, tzinfo=datetime.timezone.utc), "2026-12"),
    ("2026-11-30T20:00:00", "2026-12"),  # naive: UTC, as envelopes write it
])
def test_an_event_counts_in_its_china_time_month(moment, month):
    assert f"{monthly.month_of(moment):%Y-%m}" == month
    assert monthly.month_of(moment).day == 1


@pytest.mark.parametrize("day, month", [
    (datetime.date(2026, 12, 1), "2026-12"), (datetime.date(2026, 11, 30), "2026-11"),
    (datetime.date(2027, 1, 1), "2027-01")])
def test_a_china_time_day_counts_in_its_own_month(day, month):
    # An expiry is dated by a China-time day (expired_on): no time zone to convert.
    assert monthly.month_of(day) == monthly.parse_month(month)


def test_returned_and_expired_vouchers_are_counted_beside_the_others():
    assert monthly.COUNTS[-2:] == ("returned", "expired")
    assert monthly.empty()["returned"] == monthly.empty()["expired"] == 0


def test_a_return_takes_a_voucher_out_of_the_claim_rate_and_an_expiry_does_not():
    # 100 issued, 40 claimed, then 4 returned (claimed -4) and 6 expired (still claimed).
    line = monthly.row("430100", _sums(), _sums(issued=100, claimed=36, returned=4, expired=6))
    assert (line["claim_rate"], line["to_date"]["returned"], line["to_date"]["expired"]) == (0.36, 4, 6)


@pytest.mark.parametrize("region, code, child", [
    ("000000", "430102", "430000"), ("000000", "370000", "370000"),  # the nation: provinces
    ("430000", "430102", "430100"), ("430000", "433101", "433100"),  # a province: cities
    ("430100", "430102", "430102"),  # a city: counties
    ("430102", "430102", "430102"),  # a county is its own only row
    ("430000", "430000", "430000"), ("430100", "430100", "430100"),  # vouchers of the region's own level
])
def test_a_code_belongs_to_the_child_region_one_level_down(region, code, child):
    assert monthly.child_of(region, code) == child


def _sums(issued=0, claimed=0, used=0, settled=0, settled_fen=0, voided=0, returned=0, expired=0,
          face_value_issued=0, general_issued=0):
    return {"issued": issued, "claimed": claimed, "used": used, "settled": settled, "settled_fen": settled_fen,
            "voided": voided, "returned": returned, "expired": expired, "face_value_issued": face_value_issued,
            "general_issued": general_issued}


def _target(row):
    values = _row(row)
    return {"name": row[0], "issue_target": values["issue_target"], "use_target": values["use_target"]}


def test_shares_are_over_all_issued_and_undefined_when_nothing_was_issued():
    line = monthly.row("430100", _sums(), _sums(issued=200, claimed=80, used=20, face_value_issued=120,
                                                general_issued=50))
    assert (line["claim_rate"], line["usage_rate"], line["face_value_share"], line["general_share"]) == (
        0.4, 0.1, 0.6, 0.25)
    nothing = monthly.row("430100", _sums(), _sums())
    assert (nothing["claim_rate"], nothing["usage_rate"], nothing["face_value_share"], nothing["general_share"],
            nothing["target"], nothing["name"]) == (None, None, None, None, None, None)


def test_a_row_shows_the_eight_counters_for_the_month_and_to_date_and_progress_to_date():
    line = monthly.row("430100", _sums(issued=10, voided=1, returned=2, face_value_issued=10),
                       _sums(issued=30_000, used=1_500, settled=100, settled_fen=5_000_000, voided=3, expired=4,
                             face_value_issued=30_000), _target(HUNAN_2021[0]), "长沙")
    assert line["month"] == {"issued": 10, "claimed": 0, "used": 0, "settled": 0, "settled_fen": 0, "voided": 1,
                             "returned": 2, "expired": 0}
    assert line["to_date"] == {"issued": 30_000, "claimed": 0, "used": 1_500, "settled": 100,
                               "settled_fen": 5_000_000, "voided": 3, "returned": 0, "expired": 4}
    assert line["target"] == {"issue_target": 150_000, "use_target": 15_000, "issue_progress": 0.2,
                              "use_progress": 0.1}
    assert line["name"] == "长沙"


def test_a_province_report_has_a_row_per_city_with_counts_or_a_target_and_a_total():
    hunan = {row[1]: _target(row) for row in HUNAN_2021 + [HUNAN_2021_TOTAL]}
    hunan["430102"] = {"name": "芙蓉区", "issue_target": 10, "use_target": 1}  # a county: not a row here
    hunan["370000"] = {"name": "山东", "issue_target": 10, "use_target": 1}  # another province: never
    counts = {"430100": {"month": _sums(issued=100, claimed=10, face_value_issued=100),
                         "to_date": _sums(issued=15_000, claimed=6_000, used=1_500, face_value_issued=9_000,
                                          general_issued=6_000)},
              "439900": {"month": _sums(voided=2), "to_date": _sums(issued=50, voided=2, general_issued=50)}}
    report = monthly.report("430000", datetime.date(2026, 11, 1), counts, hunan)
    assert (report["region_code"], report["month"], report["year"]) == ("430000", "2026-11", 2026)
    assert [line["region_code"] for line in report["rows"]] == sorted([row[1] for row in HUNAN_2021] + ["439900"])
    changsha, zhuzhou = report["rows"][:2]
    assert (changsha["name"], changsha["claim_rate"], changsha["usage_rate"]) == ("长沙", 0.4, 0.1)
    assert (changsha["face_value_share"], changsha["general_share"]) == (0.6, 0.4)
    assert changsha["target"]["issue_progress"] == 0.1
    assert (zhuzhou["name"], zhuzhou["to_date"]["issued"], zhuzhou["claim_rate"]) == ("株洲", 0, None)
    assert zhuzhou["target"] == {"issue_target": 45_000, "use_target": 4_500, "issue_progress": 0.0,
                                 "use_progress": 0.0}
    unnamed = report["rows"][-1]
    assert (unnamed["name"], unnamed["target"], unnamed["general_share"]) == (None, None, 1.0)
    total = report["total"]
    assert (total["region_code"], total["name"]) == ("430000", "合计")
    assert total["month"] == {"issued": 100, "claimed": 10, "used": 0, "settled": 0, "settled_fen": 0, "voided": 2,
                              "returned": 0, "expired": 0}
    assert total["to_date"]["issued"] == 15_050 and total["to_date"]["voided"] == 2
    assert total["target"]["issue_target"] == 450_000
    assert (total["face_value_share"], total["general_share"]) == (round(9_000 / 15_050, 4),
                                                                   round(6_050 / 15_050, 4))


def test_vouchers_of_the_regions_own_level_are_a_row_whose_target_stays_on_the_total():
    counts = {"430000": {"month": _sums(), "to_date": _sums(issued=4)}}
    report = monthly.report("430000", datetime.date(2026, 11, 1), counts, {"430000": _target(HUNAN_2021_TOTAL)})
    (own,) = report["rows"]
    assert (own["region_code"], own["name"], own["target"]) == ("430000", "合计", None)
    assert report["total"]["target"]["issue_target"] == 450_000


def test_the_nation_reports_by_province_and_an_empty_region_reports_nothing():
    counts = {"430000": {"month": _sums(), "to_date": _sums(issued=4)},
              "370000": {"month": _sums(), "to_date": _sums(issued=6)}}
    report = monthly.report("000000", datetime.date(2021, 6, 1), counts, {"430100": _target(HUNAN_2021[0])})
    assert [line["region_code"] for line in report["rows"]] == ["370000", "430000"]
    assert report["total"]["to_date"]["issued"] == 10 and report["total"]["target"] is None
    empty = monthly.report("450000", datetime.date(2021, 6, 1), {}, {})
    assert empty["rows"] == [] and empty["total"]["to_date"]["issued"] == 0 and empty["total"]["claim_rate"] is None
