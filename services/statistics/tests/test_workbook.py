"""The monthly report as an analyst's files: the workbook read back cell by cell, the CSV row by row,
the chart as a PNG. Built from hand-made counts through ``monthly.report()``, so the files show what
the report says: rates as fractions formatted as percentages, undefined rates empty, the total last."""
import csv
import datetime
import io
import struct
import warnings
from decimal import Decimal

import matplotlib.image
from openpyxl import load_workbook

from stats.domain import monthly, workbook

NOVEMBER = datetime.date(2021, 11, 1)
# Hunan Appendix 2 (in vouchers, not 万): the province's own target belongs to the total.
TARGETS = {"430000": {"name": "湖南省", "issue_target": 450_000, "use_target": 45_000},
           "430100": {"name": "长沙", "issue_target": 150_000, "use_target": 15_000},
           "430200": {"name": "株洲", "issue_target": 45_000, "use_target": 4_500},
           "430300": {"name": "湘潭", "issue_target": 20_500, "use_target": 2_050}}
KEYS = [key for key, *_ in workbook.SHEET_COLUMNS]
PNG = b"\x89PNG\r\n\x1a\n"


def _sums(**counts):
    return {**monthly.empty(), **counts}


def _report():
    """Two cities with targets (长沙, 株洲), vouchers of a province-wide template (row 430000, no target of
    its own), and a city with a target that issued nothing (湘潭)."""
    counts = {
        "430000": {"month": _sums(issued=200, claimed=50),
                   "to_date": _sums(issued=200, claimed=50, general_issued=200)},
        "430100": {"month": _sums(issued=1_000, claimed=400, used=100, settled=50, settled_fen=2_500_050),
                   "to_date": _sums(issued=30_000, claimed=13_569, used=3_000, settled=1_200, settled_fen=60_000_001,
                                    face_value_issued=12_000, general_issued=18_000)},
        "430200": {"month": _sums(voided=3),
                   "to_date": _sums(issued=45_000, claimed=9_000, used=900, face_value_issued=45_000)},
    }
    return monthly.report("430000", NOVEMBER, counts, TARGETS)


def _sheet(report):
    book = load_workbook(io.BytesIO(workbook.to_xlsx(report)))
    assert book.sheetnames == ["月调度", "说明"]
    return book["月调度"], book["说明"]


def _row(sheet, row):
    return {key: sheet.cell(row, index) for index, key in enumerate(KEYS, start=1)}


def _values(sheet, row):
    return {key: cell.value for key, cell in _row(sheet, row).items()}


# --- the workbook ------------------------------------------------------------------------------

def test_the_sheet_names_the_region_and_month_and_heads_each_column_in_chinese_over_its_key():
    sheet, _ = _sheet(_report())
    assert "湖南省（430000）" in sheet["A1"].value and "2021年11月" in sheet["A1"].value
    assert sheet["A1"].font.b
    assert [cell.value for cell in sheet[2]] == [
        "地区代码", "地区名称", "本月发券（张）", "本月领券（张）", "本月用券（张）", "本月结算（张）", "本月结算金额（元）",
        "本年累计发券（张）", "本年累计领券（张）", "本年累计用券（张）", "本年累计结算（张）", "本年累计结算金额（元）",
        "领券率", "用券率", "面值券发放率", "通用券发放率", "全年发券指标（张）", "全年用券指标（张）", "发券进度", "用券进度"]
    assert [cell.value for cell in sheet[3]] == [
        "region_code", "name", "month_issued", "month_claimed", "month_used", "month_settled", "month_settled_yuan",
        "to_date_issued", "to_date_claimed", "to_date_used", "to_date_settled", "to_date_settled_yuan",
        "claim_rate", "usage_rate", "face_value_share", "general_share", "issue_target", "use_target",
        "issue_progress", "use_progress"]


def test_headers_stay_in_view_and_every_column_is_wide_enough_for_its_key():
    sheet, _ = _sheet(_report())
    assert sheet.freeze_panes == "C4"
    for index, key in enumerate(KEYS, start=1):
        width = sheet.column_dimensions[sheet.cell(1, index).column_letter].width
        assert 10 <= width <= 22 and width >= len(key)


def test_a_row_per_child_region_by_code_then_the_total_in_bold():
    sheet, _ = _sheet(_report())
    assert sheet.max_row == 8
    assert [sheet.cell(row, 1).value for row in range(4, 9)] == ["430000", "430100", "430200", "430300", "430000"]
    assert [sheet.cell(row, 2).value for row in range(4, 9)] == ["湖南省", "长沙", "株洲", "湘潭", "报告期合计"]
    assert all(cell.font.b for cell in sheet[8])
    assert not any(cell.font.b for row in range(4, 8) for cell in sheet[row])


def test_changsha_counts_money_rates_and_progress_cell_by_cell():
    sheet, _ = _sheet(_report())
    changsha = _row(sheet, 5)
    assert {key: cell.value for key, cell in changsha.items()} == {
        "region_code": "430100", "name": "长沙",
        "month_issued": 1_000, "month_claimed": 400, "month_used": 100, "month_settled": 50,
        "month_settled_yuan": 25_000.5,
        "to_date_issued": 30_000, "to_date_claimed": 13_569, "to_date_used": 3_000, "to_date_settled": 1_200,
        "to_date_settled_yuan": 600_000.01,
        "claim_rate": 0.4523, "usage_rate": 0.1, "face_value_share": 0.4, "general_share": 0.6,
        "issue_target": 150_000, "use_target": 15_000, "issue_progress": 0.2, "use_progress": 0.2}
    assert changsha["region_code"].data_type == "s"  # a code keeps its zeros: 000000 is the nation
    for key in ("claim_rate", "usage_rate", "face_value_share", "general_share", "issue_progress", "use_progress"):
        assert changsha[key].number_format == "0.00%", key
    for key in ("month_settled_yuan", "to_date_settled_yuan"):
        assert changsha[key].number_format == "#,##0.00", key
    assert changsha["to_date_issued"].number_format == "#,##0"


def test_a_city_that_issued_nothing_has_empty_rates_not_zero_and_progress_of_zero():
    sheet, _ = _sheet(_report())
    xiangtan = _values(sheet, 7)
    assert (xiangtan["name"], xiangtan["to_date_issued"], xiangtan["month_settled_yuan"]) == ("湘潭", 0, 0)
    assert [xiangtan[key] for key in ("claim_rate", "usage_rate", "face_value_share", "general_share")] == [None] * 4
    assert _row(sheet, 7)["claim_rate"].number_format == "0.00%"  # a rate once it has one
    assert (xiangtan["issue_target"], xiangtan["issue_progress"], xiangtan["use_progress"]) == (20_500, 0, 0)


def test_the_province_template_row_has_rates_and_no_target_and_zhuzhou_met_its_issue_target():
    sheet, _ = _sheet(_report())
    own, zhuzhou = _values(sheet, 4), _values(sheet, 6)
    assert (own["claim_rate"], own["usage_rate"], own["face_value_share"], own["general_share"]) == (0.25, 0, 0, 1)
    assert [own[key] for key in ("issue_target", "use_target", "issue_progress", "use_progress")] == [None] * 4
    assert (zhuzhou["month_issued"], zhuzhou["to_date_settled_yuan"]) == (0, 0)
    assert (zhuzhou["claim_rate"], zhuzhou["usage_rate"], zhuzhou["face_value_share"]) == (0.2, 0.02, 1)
    assert (zhuzhou["issue_progress"], zhuzhou["use_progress"]) == (1, 0.2)


def test_the_total_adds_every_row_and_carries_the_provinces_own_target():
    sheet, _ = _sheet(_report())
    total = _values(sheet, 8)
    assert total == {
        "region_code": "430000", "name": "报告期合计",
        "month_issued": 1_200, "month_claimed": 450, "month_used": 100, "month_settled": 50,
        "month_settled_yuan": 25_000.5,
        "to_date_issued": 75_200, "to_date_claimed": 22_619, "to_date_used": 3_900, "to_date_settled": 1_200,
        "to_date_settled_yuan": 600_000.01,
        "claim_rate": 0.3008, "usage_rate": 0.0519, "face_value_share": 0.758, "general_share": 0.242,
        "issue_target": 450_000, "use_target": 45_000, "issue_progress": 0.1671, "use_progress": 0.0867}


def test_the_notes_give_each_indicator_its_definition_from_the_notice_and_its_quarterly_targets():
    _, notes = _sheet(_report())
    assert [cell.value for cell in notes[1]] == ["指标", "英文键", "定义（湖南通知原文）", "三季度目标", "四季度目标", "出处"]
    rows = {row[1]: row for row in notes.iter_rows(min_row=2, max_row=7, values_only=True)}
    # Hunan Appendix 3, word for word.
    assert rows["claim_rate"] == ("领券率", "claim_rate", "已领取的职业培训券总数占已发放的职业培训券总数的百分比",
                                  None, 0.4, "附件 3")
    assert rows["usage_rate"] == ("用券率", "usage_rate", "已使用的职业培训券总数占已发放的职业培训券总数的百分比",
                                  None, 0.1, "附件 3")
    assert rows["face_value_share"] == ("面值券发放率", "face_value_share", "已发放的面值券总数占发券总数的百分比",
                                        0.4, 0.6, "附件 3")
    assert rows["general_share"] == ("通用券发放率", "general_share", "已发放的通用券总数占发券总数的百分比",
                                     0.4, 0.6, "附件 3")
    assert "× 50%" in rows["issue_progress"][2] and "× 10%" in rows["use_progress"][2]
    assert notes["E2"].number_format == "0%" and notes["D4"].number_format == "0%"
    conventions = " ".join(str(cell.value) for cell in notes["A"][8:] if cell.value)
    assert "留空（不是 0）" in conventions and "本年累计" in conventions
    # every rate column of the sheet is explained
    rates = {key for key, _, number_format, _ in workbook.SHEET_COLUMNS if number_format == "0.00%"}
    assert rates <= set(rows)


# --- the CSV -----------------------------------------------------------------------------------

def _csv(report):
    data = workbook.to_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with its BOM
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _parsed(key, text):
    if text == "" or key in ("region_code", "name"):
        return text or None
    return Decimal(text) if key.endswith("_yuan") else float(text) if "." in text else int(text)


def test_the_csv_has_the_sheets_rows_with_english_keys_and_money_in_fen_and_yuan():
    report = _report()
    header, *rows = _csv(report)
    assert header == [key for key, *_ in workbook.COLUMNS]
    assert set(header) - set(KEYS) == {"month_settled_fen", "to_date_settled_fen"}
    assert header.index("to_date_settled_fen") + 1 == header.index("to_date_settled_yuan")
    sheet, _ = _sheet(report)
    assert len(rows) == sheet.max_row - 3
    for number, row in enumerate(rows, start=4):
        parsed = {key: _parsed(key, text) for key, text in zip(header, row)}
        # The sheet holds yuan as a float to format; the CSV holds it exact.
        assert {key: float(parsed[key]) if key.endswith("_yuan") else parsed[key] for key in KEYS} == _values(
            sheet, number), number
        for period in ("month", "to_date"):
            assert parsed[f"{period}_settled_yuan"] == Decimal(parsed[f"{period}_settled_fen"]) / 100


def test_csv_numbers_are_unformatted_and_undefined_rates_empty_with_the_total_last():
    header, *rows = _csv(_report())
    changsha, xiangtan, total = (dict(zip(header, row)) for row in (rows[1], rows[3], rows[-1]))
    assert (changsha["to_date_settled_fen"], changsha["to_date_settled_yuan"]) == ("60000001", "600000.01")
    assert (changsha["month_settled_fen"], changsha["month_settled_yuan"]) == ("2500050", "25000.50")
    assert (changsha["claim_rate"], changsha["to_date_issued"], changsha["issue_target"]) == ("0.4523", "30000",
                                                                                             "150000")
    assert [xiangtan[key] for key in ("claim_rate", "usage_rate", "face_value_share", "general_share")] == [""] * 4
    assert (xiangtan["month_settled_yuan"], xiangtan["issue_progress"]) == ("0.00", "0.0")
    assert (total["region_code"], total["name"], total["claim_rate"]) == ("430000", "报告期合计", "0.3008")


# --- the chart ---------------------------------------------------------------------------------

def _size(png):
    """Width and height from the IHDR chunk, the first after the signature."""
    assert png[:8] == PNG and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _render(report):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = workbook.progress_chart_png(report)
    missing = [str(warning.message) for warning in caught if "missing from" in str(warning.message)]
    assert not missing, missing  # a missing glyph is drawn as a box
    return png


def test_the_chart_draws_regions_with_a_target_and_the_total_and_names_the_one_left_out():
    charted, left_out = workbook.chart_lines(_report())
    assert charted == [("长沙 430100", 0.2, 0.2), ("株洲 430200", 1.0, 0.2), ("湘潭 430300", 0.0, 0.0),
                       ("报告期合计 430000", 0.1671, 0.0867)]
    assert left_out == ["湖南省 430000"]


def test_a_target_too_small_for_use_draws_issue_progress_alone():
    targets = {"430100": {"name": "长沙", "issue_target": 9, "use_target": 0}}
    counts = {"430100": {"month": _sums(), "to_date": _sums(issued=3)}}
    charted, _ = workbook.chart_lines(monthly.report("430000", NOVEMBER, counts, targets))
    assert charted == [("长沙 430100", 0.3333, None)]
    assert _size(_render(monthly.report("430000", NOVEMBER, counts, targets)))[0] == 1000


def test_the_chart_is_a_png_with_a_bar_row_per_charted_region_in_chinese():
    assert workbook.cjk_family(), "no CJK font: install fonts-wqy-microhei (make install does, scripts/system-packages.sh)"
    png = _render(_report())
    width, height = _size(png)
    assert width == 1000 and 400 <= height <= 800  # 10 in at 100 dpi; grows with the four charted lines
    assert matplotlib.image.imread(io.BytesIO(png)).shape[:2] == (height, width)


def test_without_a_cjk_font_the_chart_falls_back_to_codes_rather_than_boxes(monkeypatch):
    monkeypatch.setattr(workbook, "cjk_family", lambda: None)
    assert _size(_render(_report()))[0] == 1000
    charted, left_out = workbook.chart_lines(_report(), chinese=False)
    assert [text for text, _, _ in charted] == ["430100", "430200", "430300", "Total 430000"]
    assert left_out == ["430000"]


# --- nothing to report -------------------------------------------------------------------------

def test_a_region_with_no_rows_still_renders_all_three():
    report = monthly.report("450000", NOVEMBER, {}, {})
    assert report["rows"] == []
    sheet, notes = _sheet(report)
    assert sheet.max_row == 4 and [cell.value for cell in sheet[3]] == KEYS
    total = _values(sheet, 4)
    assert (total["region_code"], total["name"], total["to_date_issued"], total["to_date_settled_yuan"]) == (
        "450000", "报告期合计", 0, 0)
    assert total["claim_rate"] is None and total["issue_target"] is None and total["issue_progress"] is None
    assert notes["A2"].value == "领券率"
    header, *rows = _csv(report)
    assert len(rows) == 1 and rows[0][:2] == ["450000", "报告期合计"]
    assert workbook.chart_lines(report) == ([], [])
    width, height = _size(_render(report))
    assert width == 1000 and 200 <= height <= 400
