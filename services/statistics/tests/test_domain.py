"""Statistics's rules: claim and usage rates (Hunan Appendix 3) and annual targets
(Hunan Appendix 2: issue target = plan × 50%, use target = issue target × 10%)."""
from decimal import Decimal

import pytest

from common.errors import InvalidInput
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
