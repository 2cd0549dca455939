"""The 2021 task tables in data/targets/, reproduced exactly from the seeds: Hunan 附件 2,
Shandong 附件 1 (万张, no plan), Wuxi's 附件 (江阴 and 宜兴 pre-allocated); checked against the
rule (issue = plan × 50%, use = issue × 10%) as published, the source's rounding allowed."""
import pytest

from common.errors import InvalidInput
from stats import task_tables
from stats.domain.targets import check, derive, rule_deviations

# Transcribed from the seeds: code, name, planned trainees, issue target, use target (whole vouchers).
# 湖南 附件 2, in 万: 长沙 30 / 15 / 1.5 … 合计 90 / 45 / 4.5.
HUNAN_2021 = [
    ("430100", "长沙市", 300_000, 150_000, 15_000),
    ("430200", "株洲市", 90_000, 45_000, 4_500),
    ("430300", "湘潭市", 41_000, 20_500, 2_050),
    ("430400", "衡阳市", 45_000, 22_500, 2_250),
    ("430500", "邵阳市", 45_000, 22_500, 2_250),
    ("430600", "岳阳市", 47_000, 23_500, 2_350),
    ("430700", "常德市", 45_000, 22_500, 2_250),
    ("430800", "张家界市", 24_000, 12_000, 1_200),
    ("430900", "益阳市", 36_000, 18_000, 1_800),
    ("431000", "郴州市", 46_000, 23_000, 2_300),
    ("431100", "永州市", 46_000, 23_000, 2_300),
    ("431200", "怀化市", 47_000, 23_500, 2_350),
    ("431300", "娄底市", 45_000, 22_500, 2_250),
    ("433100", "湘西土家族苗族自治州", 43_000, 21_500, 2_150),
]
HUNAN_2021_TOTAL = ("430000", "湖南省", 900_000, 450_000, 45_000)

# 山东 附件 1, in 万张 to 2 decimals: 济南 6.05 / 0.61 … 合计 50.00 / 5.00; no plan.
SHANDONG_2021 = [
    ("370100", "济南市", None, 60_500, 6_100),
    ("370200", "青岛市", None, 45_000, 4_500),
    ("370300", "淄博市", None, 26_000, 2_600),
    ("370400", "枣庄市", None, 16_500, 1_700),
    ("370500", "东营市", None, 13_500, 1_400),
    ("370600", "烟台市", None, 43_000, 4_300),
    ("370700", "潍坊市", None, 45_500, 4_600),
    ("370800", "济宁市", None, 43_500, 4_400),
    ("370900", "泰安市", None, 25_500, 2_600),
    ("371000", "威海市", None, 14_500, 1_500),
    ("371100", "日照市", None, 14_000, 1_400),
    ("371300", "临沂市", None, 45_000, 4_500),
    ("371400", "德州市", None, 25_500, 2_600),
    ("371500", "聊城市", None, 25_000, 2_500),
    ("371600", "滨州市", None, 17_000, 1_700),
    ("371700", "菏泽市", None, 40_000, 4_000),
]
SHANDONG_2021_TOTAL = ("370000", "山东省", None, 500_000, 50_000)
SHANDONG_ROUNDED_UP = {"370100", "370400", "370500", "370700", "370800", "370900", "371000", "371400"}  # x.x5 万

# 无锡 附件, in 人次 and 张: 全市 first, then 市本级, 江阴市, 宜兴市.
WUXI_2021_TOTAL = ("320200", "无锡市", 180_000, 90_000, 9_000)
WUXI_2021 = [
    ("320201", "市本级", 140_000, 70_000, 7_000),
    ("320281", "江阴市", 25_000, 13_000, 1_300),
    ("320282", "宜兴市", 15_000, 7_000, 700),
]

FIELDS = ("region_code", "name", "planned_trainees", "issue_target", "use_target")
TABLES = {"hunan": (task_tables.HUNAN_2021, HUNAN_2021 + [HUNAN_2021_TOTAL]),
          "shandong": (task_tables.SHANDONG_2021, SHANDONG_2021 + [SHANDONG_2021_TOTAL]),
          "wuxi": (task_tables.WUXI_2021, [WUXI_2021_TOTAL] + WUXI_2021)}


def _published(path):
    return [tuple(row[name] for name in FIELDS) for row in task_tables.load_table(path)]


def _deviating(path):
    unit = task_tables.PRINTED_UNIT[path]
    return {row["region_code"]: rule_deviations(row, unit=unit) for row in task_tables.load_table(path)
            if rule_deviations(row, unit=unit)}


def _sums(rows):
    return tuple(sum(row[column] or 0 for row in rows) for column in (2, 3, 4))


# --- the tables as published ------------------------------------------------------------

@pytest.mark.parametrize("table", TABLES)
def test_each_table_is_the_seed_row_by_row_in_the_sources_order(table):
    path, transcribed = TABLES[table]
    assert _published(path) == transcribed


def test_a_table_reads_as_target_rows_of_ints_with_none_for_an_empty_cell():
    jinan, qingdao = task_tables.load_table(task_tables.SHANDONG_2021)[:2]
    assert qingdao == {"region_code": "370200", "name": "青岛市", "planned_trainees": None, "issue_target": 45_000,
                       "use_target": 4_500, "rule_deviation": None}
    assert "0.61" in jinan["rule_deviation"]


def test_hunans_cities_add_up_to_its_total_of_900000_450000_45000():
    assert _sums(HUNAN_2021) == HUNAN_2021_TOTAL[2:] == (900_000, 450_000, 45_000)


def test_shandongs_issue_targets_add_up_to_500000_and_its_use_targets_to_50000_plus_its_rounding():
    """Eight cities' use targets are printed 0.005 万 (50 vouchers) above issue × 10%: their sum is
    5.04 万, while the 合计 prints 5.00 万 (its own 50.00 × 10%), kept as published."""
    assert SHANDONG_2021_TOTAL[3:] == (500_000, 50_000)
    assert _sums(SHANDONG_2021)[1] == 500_000
    assert _sums(SHANDONG_2021)[2] == 50_000 + 50 * len(SHANDONG_ROUNDED_UP) == 50_400
    assert sum(use - issue // 10 for _, _, _, issue, use in SHANDONG_2021) == 400


def test_wuxis_three_rows_add_up_to_the_whole_city_180000_90000_9000():
    assert _sums(WUXI_2021) == WUXI_2021_TOTAL[2:] == (180_000, 90_000, 9_000)


# --- against the rule ---------------------------------------------------------------------

def test_every_row_of_hunans_table_follows_the_rule():
    assert _deviating(task_tables.HUNAN_2021) == {}


def test_shandongs_rounding_to_a_hundredth_of_10000_is_no_deviation():
    assert _deviating(task_tables.SHANDONG_2021) == {}


def test_shandongs_rounded_rows_would_deviate_if_the_table_were_printed_in_whole_vouchers():
    jinan = task_tables.load_table(task_tables.SHANDONG_2021)[0]
    assert rule_deviations(jinan) == ["use target 6100 is not the issue target 60500 × 10% = 6050"]


def test_wuxis_pre_allocations_jiangyin_and_yixing_are_the_only_deviations():
    assert _deviating(task_tables.WUXI_2021) == {
        "320281": ["issue target 13000 is not the plan 25000 × 50% = 12500"],
        "320282": ["issue target 7000 is not the plan 15000 × 50% = 7500"]}


def test_a_deviation_from_a_plan_or_from_the_issue_target_is_named():
    row = {"planned_trainees": 41_000, "issue_target": 20_400, "use_target": 2_051}
    assert rule_deviations(row) == ["issue target 20400 is not the plan 41000 × 50% = 20500",
                                    "use target 2051 is not the issue target 20400 × 10% = 2040"]
    assert rule_deviations({**row, "planned_trainees": None}) == [
        "use target 2051 is not the issue target 20400 × 10% = 2040"]


def test_half_a_voucher_is_a_tables_rounding_even_in_whole_vouchers():
    assert rule_deviations({"planned_trainees": 41_001, "issue_target": 20_500, "use_target": 2_050}) == []


@pytest.mark.parametrize("table", TABLES)
def test_every_published_row_loads_as_it_is_following_the_rule_or_saying_why(table):
    for row in task_tables.load_table(TABLES[table][0]):
        assert check(**{name: value for name, value in row.items() if name != "name"}) is None
        assert (row["rule_deviation"] is None) == (
            (row["issue_target"], row["use_target"]) == derive(row["planned_trainees"], row["issue_target"]))


# --- check: a reason lets a row in ----------------------------------------------------------

JIANGYIN = {"region_code": "320281", "planned_trainees": 25_000, "issue_target": 13_000, "use_target": 1_300}


def test_a_row_that_breaks_the_rule_and_says_why_is_accepted():
    assert check(**JIANGYIN, rule_deviation="附件注 1：预分配指标数") is None


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_row_that_breaks_the_rule_without_saying_why_is_still_refused(reason):
    with pytest.raises(InvalidInput) as refused:
        check(**JIANGYIN, rule_deviation=reason)
    assert refused.value.code == "target_rule_broken"
    assert "320281" in refused.value.message and "12500" in refused.value.message


def test_without_a_plan_only_the_use_target_is_held_to_a_tenth_of_the_issue_target():
    qingdao = {"region_code": "370200", "planned_trainees": None, "issue_target": 45_000}
    assert derive(None, 45_000) == (45_000, 4_500)
    assert check(**qingdao, use_target=4_500) is None
    with pytest.raises(InvalidInput) as refused:
        check(**qingdao, use_target=4_600)
    assert refused.value.code == "target_rule_broken"
    assert "370200" in refused.value.message and "4500" in refused.value.message
