"""The 2021 task tables (任务表) as published, kept as CSV in data/targets/ (its README says
which seed and appendix each comes from): one target row per region, in whole vouchers."""
import csv
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "data" / "targets"  # services/statistics/stats/ -> the repository
HUNAN_2021 = DATA / "hunan_2021.csv"  # 湘人社办发〔2021〕19号, 附件 2
SHANDONG_2021 = DATA / "shandong_2021.csv"  # 山东省 2021 任务分解表, 附件 1
WUXI_2021 = DATA / "wuxi_2021.csv"  # 无锡市 2021 推广使用计划, 附件

COLUMNS = ("region_code", "name", "planned_trainees", "issue_target", "use_target", "rule_deviation")
COUNTS = ("planned_trainees", "issue_target", "use_target")
# The step each table is printed in, in vouchers: what ``targets.rule_deviations`` allows as rounding.
PRINTED_UNIT = {HUNAN_2021: 10, SHANDONG_2021: 100, WUXI_2021: 1}  # 0.001 万; 0.01 万张; 张


def load_table(path):
    """A task table's rows as ``set_targets`` takes them: counts as ints, an empty cell as None
    (Shandong gives no plan; a row that follows the rule gives no reason). Another header is
    refused: a misspelt column must not load as empty."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{Path(path).name}: columns {reader.fieldnames}, expected {list(COLUMNS)}")
        return [{name: _cell(name, row[name]) for name in COLUMNS} for row in reader]


def _cell(name, text):
    if text == "":
        return None
    return int(text) if name in COUNTS else text
