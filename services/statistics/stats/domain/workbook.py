"""The monthly supervision report (月调度, Hunan Appendix 3) as the files a provincial analyst opens:
an Excel workbook, a CSV for machines and a progress chart. Pure: a report dict in, bytes out.

Rows are the report's child regions by code, then the total (报告期合计). Rates, shares and progress
are over the year's counts to the end of the month, as ``monthly.report()`` computes them; one
that is undefined (nothing issued, no target) is an empty cell, never 0.

CSV: UTF-8 with a BOM so that Excel reads the Chinese names; one header line of English keys (the
keys below, stable for machines; the workbook carries the Chinese headers); numbers as they are:
counts as integers, rates as fractions (0.4523), money in fen and in yuan (exact, two decimals).
It has the workbook's columns plus a ``*_settled_fen`` column before each ``*_settled_yuan``.

Chart: regions without an annual target (or with a target of 0) have no progress to draw, so they
are left out of the chart and named in its footnote. Chinese needs a CJK font (Debian's
fonts-wqy-microhei, 5 MB; Noto Sans CJK is preferred when present); without one the chart labels
regions by code in English rather than draw boxes.
"""
import csv
import functools
import io
import os
import re
import textwrap
from decimal import Decimal

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from stats.domain import indicators

TOTAL = "报告期合计"
COUNT, YUAN, FEN, RATE, TEXT = "#,##0", "#,##0.00", "0", "0.00%", "@"
_PERIODS = (("month", "本月"), ("to_date", "本年累计"))
_COUNTED = (("issued", "发券"), ("claimed", "领券"), ("used", "用券"), ("settled", "结算"))


def _columns():
    """(key, Chinese header, number format, on the sheet): the sheet's columns, and the CSV's."""
    columns = [("region_code", "地区代码", TEXT, True), ("name", "地区名称", TEXT, True)]
    for period, zh in _PERIODS:
        columns += [(f"{period}_{key}", f"{zh}{what}（张）", COUNT, True) for key, what in _COUNTED]
        columns += [(f"{period}_settled_fen", f"{zh}结算金额（分）", FEN, False),
                    (f"{period}_settled_yuan", f"{zh}结算金额（元）", YUAN, True)]
    return columns + [
        ("claim_rate", "领券率", RATE, True), ("usage_rate", "用券率", RATE, True),
        ("face_value_share", "面值券发放率", RATE, True), ("general_share", "通用券发放率", RATE, True),
        ("issue_target", "全年发券指标（张）", COUNT, True), ("use_target", "全年用券指标（张）", COUNT, True),
        ("issue_progress", "发券进度", RATE, True), ("use_progress", "用券进度", RATE, True)]


COLUMNS = _columns()
SHEET_COLUMNS = [column for column in COLUMNS if column[3]]

# Appendix 3's business indicators this report computes, in its words (their Q3 / Q4 targets are
# ``indicators.TARGETS``); then the progress of Appendix 2, whose notes give the targets' rule.
INDICATORS = (
    ("领券率", "claim_rate", "已领取的职业培训券总数占已发放的职业培训券总数的百分比", "附件 3"),
    ("用券率", "usage_rate", "已使用的职业培训券总数占已发放的职业培训券总数的百分比", "附件 3"),
    ("面值券发放率", "face_value_share", "已发放的面值券总数占发券总数的百分比", "附件 3"),
    ("通用券发放率", "general_share", "已发放的通用券总数占发券总数的百分比", "附件 3"),
    ("发券进度", "issue_progress",
     "本年累计发券数占全年发券指标的百分比；全年发放指标数=当年职业技能提升行动计划（开展补贴性职业技能培训总人数）× 50%",
     "附件 2 注 1"),
    ("用券进度", "use_progress", "本年累计用券数占全年用券指标的百分比；全年用券指标=全年发放指标数 × 10%", "附件 2 注 2"),
)
CONVENTIONS = (
    "比率、发放率和进度按本年累计数计算：1 月 1 日至报告月末，按北京时间计月。",
    "未发券的地区没有领券率、用券率、面值券发放率和通用券发放率，单元格留空（不是 0）；未下达指标的地区没有进度。",
    "领券数不含已退回的券（退券）；已作废、已过期的券仍计为已领取。",
    "全年指标以张计（附件 2 以万张列示）。本级模板发放的券单列一行，代码为本地区代码；本地区自身的全年指标属于报告期合计行。",
    "附件 3 的其他指标（工作机制、政策文件、宣传推广、电子社保卡签发数和签发率、培训机构和培训平台覆盖率、"
    "培训项目覆盖率、打卡签到覆盖率、培训评价完成率）不在本表。",
)


def _yuan(fen):
    """Exact yuan: Decimal, so 5_000_001 fen is 50000.01 and never 50000.009999."""
    return Decimal(fen).scaleb(-2)


def _values(line, name):
    values = {"region_code": line["region_code"], "name": name}
    for period, _ in _PERIODS:
        counts = line[period]
        values.update({f"{period}_{key}": counts[key] for key, _ in _COUNTED})
        values.update({f"{period}_settled_fen": counts["settled_fen"],
                       f"{period}_settled_yuan": _yuan(counts["settled_fen"])})
    values.update({key: line[key] for key in ("claim_rate", "usage_rate", "face_value_share", "general_share")})
    target = line["target"] or {}
    values.update({key: target.get(key) for key in ("issue_target", "use_target", "issue_progress", "use_progress")})
    return values


def _lines(report):
    """Each row's values by key, the total last (named 报告期合计: its code may also be a row's)."""
    return [_values(line, line["name"]) for line in report["rows"]] + [_values(report["total"], TOTAL)]


def _region(report):
    name = report["total"]["name"]
    return f"{name}（{report['region_code']}）" if name else report["region_code"]


def _month(report):
    year, month = report["month"].split("-")
    return f"{year}年{int(month)}月"


# --- Excel -------------------------------------------------------------------------------------

def _width(text):
    """Excel's column width of a text: a CJK character takes two."""
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)


def to_xlsx(report):
    """Sheet 月调度: title, Chinese headers over English keys, a row per child region, the total in bold;
    sheet 说明: what each indicator means and its targets, in the notice's words."""
    book = Workbook()
    sheet = book.active
    sheet.title = "月调度"
    sheet["A1"] = f"职业培训券月调度　{_region(report)}　{_month(report)}（本年累计截至月末）"
    sheet["A1"].font = Font(bold=True, size=14)
    header_fill, key_font = PatternFill("solid", fgColor="DDEBF7"), Font(italic=True, size=9, color="808080")
    for index, (key, header, number_format, _) in enumerate(SHEET_COLUMNS, start=1):
        chinese, english = sheet.cell(2, index, header), sheet.cell(3, index, key)
        chinese.font, chinese.fill = Font(bold=True), header_fill
        chinese.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        english.font, english.fill, english.alignment = key_font, header_fill, Alignment(horizontal="center")
        # Headers wrap over two lines; the English key must fit on one.
        width = max(10, (_width(header) + 1) // 2 + 2, len(key))
        sheet.column_dimensions[get_column_letter(index)].width = min(width, 22)
    sheet.row_dimensions[2].height = 33
    lines = _lines(report)
    for row, values in enumerate(lines, start=4):
        for index, (key, _, number_format, _) in enumerate(SHEET_COLUMNS, start=1):
            value = values[key]
            cell = sheet.cell(row, index, float(value) if isinstance(value, Decimal) else value)
            cell.number_format = number_format
    total_row, rule = 3 + len(lines), Side(style="thin")
    for index in range(1, len(SHEET_COLUMNS) + 1):
        cell = sheet.cell(total_row, index)
        cell.font, cell.border = Font(bold=True), Border(top=rule)
    sheet.freeze_panes = "C4"  # titles, headers, code and name stay in view
    _notes(book.create_sheet("说明"))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _notes(sheet):
    widths = (14, 18, 70, 11, 11, 12)
    for index, (header, width) in enumerate(zip(("指标", "英文键", "定义（湖南通知原文）", "三季度目标", "四季度目标", "出处"),
                                                widths), start=1):
        sheet.cell(1, index, header).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row, (zh, key, definition, source) in enumerate(INDICATORS, start=2):
        targets = indicators.TARGETS.get(key, {})
        for index, value in enumerate((zh, key, definition, targets.get(3), targets.get(4), source), start=1):
            cell = sheet.cell(row, index, value)
            cell.alignment = Alignment(vertical="top", wrap_text=index == 3)
            if index in (4, 5):
                cell.number_format = "0%"
        _fit(sheet, row, definition, widths[2])
    first = len(INDICATORS) + 3
    sheet.cell(first, 1, "口径").font = Font(bold=True)
    for row, text in enumerate(CONVENTIONS, start=first + 1):
        sheet.cell(row, 1, text).alignment = Alignment(vertical="top", wrap_text=True)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(widths))
        _fit(sheet, row, text, sum(widths))
    sheet.freeze_panes = "A2"


def _fit(sheet, row, text, width):
    """Excel does not grow a row for wrapped text it did not write itself: give it the lines' height."""
    sheet.row_dimensions[row].height = 15 * -(-_width(text) // int(width - 2))


# --- CSV ---------------------------------------------------------------------------------------

def _csv_value(value):
    return "" if value is None else str(value)


def to_csv(report):
    """English keys, then the workbook's rows unformatted, the total last."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(key for key, *_ in COLUMNS)
    for values in _lines(report):
        writer.writerow(_csv_value(values[key]) for key, *_ in COLUMNS)
    return text.getvalue().encode("utf-8-sig")


# --- chart -------------------------------------------------------------------------------------

# First found wins; Noto Sans CJK SC draws the simplified forms the report's names are written in.
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                "Droid Sans Fallback", "Noto Sans CJK JP", "SimHei", "Microsoft YaHei", "PingFang SC")
_CJK_FILE = re.compile(r"cjk|sourcehan|wqy|droidsansfallback|simhei|msyh|pingfang", re.IGNORECASE)

ZH = {"title": "{region}　{month}　职业培训券发券、用券进度", "issue": "发券进度（本年累计发券 ÷ 全年发券指标）",
      "use": "用券进度（本年累计用券 ÷ 全年用券指标）", "target": "全年指标（100%）", "axis": "进度",
      "left_out": "未下达全年指标、不在图中：{regions}", "nothing": "没有下达全年指标的地区", "total": TOTAL}
EN = {"title": "Voucher issue and use progress, {region}, {month}", "issue": "issue progress (issued ÷ annual target)",
      "use": "use progress (used ÷ annual target)", "target": "annual target (100%)", "axis": "progress",
      "left_out": "Left out, no annual target: {regions}", "nothing": "No region has an annual target",
      "total": "Total"}


@functools.cache
def cjk_family():
    """A CJK font family matplotlib can use, or None. A font installed after matplotlib built its
    font cache is not in that cache: such files are added from the system's font folders."""
    def known():
        names = {font.name for font in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FAMILIES if family in names), None)
    if (family := known()) is None:
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(os.path.basename(path)):
                font_manager.fontManager.addfont(path)
        family = known()
    return family


def _progress(line, key):
    return (line["target"] or {}).get(key)


def chart_lines(report, chinese=True):
    """What the chart draws: (label, issue progress, use progress) per child region with a target, then the
    total when the region has one; and the labels of the regions it leaves out for want of a target."""
    def label(line, name):
        return f"{name} {line['region_code']}" if chinese and name else line["region_code"]

    lines = [(line, label(line, line["name"])) for line in report["rows"]]
    total = report["total"]
    if _progress(total, "issue_progress") is not None:
        lines.append((total, f"{(ZH if chinese else EN)['total']} {total['region_code']}"))
    charted = [(text, _progress(line, "issue_progress"), _progress(line, "use_progress")) for line, text in lines
               if _progress(line, "issue_progress") is not None]
    return charted, [text for line, text in lines if _progress(line, "issue_progress") is None]


def progress_chart_png(report):
    """Each child region's issue and use progress against its annual target, a line at 100%;
    the total last, in bold, when the region has a target of its own."""
    family = cjk_family()
    words = ZH if family else EN
    charted, left_out = chart_lines(report, chinese=family is not None)
    region = _region(report) if family else report["region_code"]
    month = _month(report) if family else report["month"]
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": fonts, "axes.unicode_minus": False}):
        figure = Figure(figsize=(10, 2.4 + 0.55 * max(len(charted), 1)), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots()
        figure.suptitle(words["title"].format(region=region, month=month), fontsize=13)
        if charted:
            _bars(axes, charted, words)
            if _progress(report["total"], "issue_progress") is not None:
                axes.get_yticklabels()[-1].set_fontweight("bold")
        else:
            axes.set_axis_off()
            axes.text(0.5, 0.5, words["nothing"], ha="center", va="center", fontsize=12, transform=axes.transAxes)
        if left_out:
            figure.supxlabel(textwrap.fill(words["left_out"].format(regions="、".join(left_out)), 90), fontsize=9,
                             color="#555555")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _bars(axes, charted, words):
    rows = range(len(charted))
    issue = [issue for _, issue, _ in charted]
    # A use target of 0 (a plan under 20 trainees) has no use progress: no bar, rather than a bar of 0.
    use = [(y, use) for y, (_, _, use) in zip(rows, charted) if use is not None]
    height = 0.38
    issued = axes.barh([y - height / 2 for y in rows], issue, height, color="#2f6fb0", label=words["issue"])
    used = axes.barh([y + height / 2 for y, _ in use], [value for _, value in use], height, color="#f0a030",
                     label=words["use"])
    axes.bar_label(issued, labels=[f"{value:.1%}" for value in issue], padding=3, fontsize=8)
    axes.bar_label(used, labels=[f"{value:.1%}" for _, value in use], padding=3, fontsize=8)
    axes.axvline(1.0, color="#c00000", linestyle="--", linewidth=1.2, label=words["target"])
    axes.set_yticks(list(rows), [text for text, _, _ in charted])
    axes.invert_yaxis()  # first code at the top, as in the workbook
    axes.set_xlim(0, max([1.15] + [value * 1.2 for value in issue + [value for _, value in use]]))
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel(words["axis"])
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False, fontsize=9)
