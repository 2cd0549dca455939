"""The monthly supervision report (月调度, Hunan Appendix 3): for each child region, the month's
counts and the year's counts to the end of that month, with the business indicators on the
year-to-date counts and progress against the annual targets (Hunan Appendix 2).

Months are China's (Asia/Shanghai): an event at 2026-11-30T20:00Z happened on 1 December
in the region that reports it, so it counts in December.
"""
import datetime
import functools
import re
from zoneinfo import ZoneInfo

from common import regions
from common.errors import InvalidInput
from stats.domain import targets
from stats.domain.indicators import rate

CHINA = ZoneInfo("Asia/Shanghai")
# A returned voucher (退券) is no longer claimed; voided and expired ones stay claimed.
COUNTS = ("issued", "claimed", "used", "settled", "settled_fen", "voided", "returned", "expired")
# Beside the counters, what the shares need: issued face-value and issued general vouchers.
SHARES = ("face_value_issued", "general_issued")
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def parse_month(text):
    """``"2026-11"`` -> ``date(2026, 11, 1)``, the key of that month's counts."""
    match = _MONTH.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match[1]) == 0:
        raise InvalidInput("invalid_month", "month must be a calendar month written YYYY-MM, e.g. 2026-11.")
    return datetime.date(int(match[1]), int(match[2]), 1)


@functools.lru_cache(maxsize=4096)  # an event's thousand vouchers mostly share a few moments
def day_of(moment):
    """The China-time day of a moment (an aware datetime or ISO 8601 text; a naive one is taken
    as UTC, as envelopes write it), or a China-time date itself."""
    if isinstance(moment, datetime.date) and not isinstance(moment, datetime.datetime):
        return moment
    if isinstance(moment, str):
        moment = datetime.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(CHINA).date()


def month_of(moment):
    """The first day of the China-time month of a moment, or of a China-time date."""
    return day_of(moment).replace(day=1)


def parse_quarter(year, quarter):
    """The first and the last month of a quarter, as the keys of their counts."""
    if not isinstance(quarter, int) or not 1 <= quarter <= 4 or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput("invalid_quarter", "Give the year (e.g. 2026) and the quarter, 1 to 4.")
    return datetime.date(year, 3 * quarter - 2, 1), datetime.date(year, 3 * quarter, 1)


def end_of_month(first):
    """The moment a China-time month ends (the next month's first instant), as an aware datetime."""
    following = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return datetime.datetime.combine(following, datetime.time(), CHINA)


def child_length(region_code):
    """Leading digits that name a child: the nation's are provinces (2), a province's cities (4),
    a city's counties (6). A county has no children: it is its own one row."""
    return min(len(regions.prefix(region_code)) + 2, 6)


def child_of(region_code, code):
    """The child of ``region_code`` that holds ``code`` (``430000``, ``430102`` -> ``430100``).
    Vouchers of the region's own level (a province-wide template) give the region itself."""
    return code[:child_length(region_code)].ljust(6, "0")


def empty():
    return {name: 0 for name in COUNTS + SHARES}


def add(*counts):
    return {key: sum(c[key] for c in counts) for key in counts[0]} if counts else empty()


def row(region_code, month, to_date, target=None, name=None):
    """One line of the report; ``to_date`` also carries ``SHARES``, ``target`` is a targets row."""
    issued = to_date["issued"]
    return {"region_code": region_code, "name": name,
            "month": {key: month[key] for key in COUNTS}, "to_date": {key: to_date[key] for key in COUNTS},
            "claim_rate": rate(to_date["claimed"], issued), "usage_rate": rate(to_date["used"], issued),
            "face_value_share": rate(to_date["face_value_issued"], issued),
            "general_share": rate(to_date["general_issued"], issued),
            "target": None if target is None else {
                "issue_target": target["issue_target"], "use_target": target["use_target"],
                "issue_progress": targets.progress(issued, target["issue_target"]),
                "use_progress": targets.progress(to_date["used"], target["use_target"])}}


def report(region_code, month, counts, year_targets):
    """``counts``: child code -> {"month": ..., "to_date": ...} (``empty()``-shaped sums);
    ``year_targets``: code -> targets row (name, issue_target, use_target) for the month's year,
    for any code in the region. Rows: every child with counts or with a target, by code. The
    region's own target belongs to the total, not to the row of its own-level vouchers."""
    children = {code: target for code, target in year_targets.items() if code != region_code
                and regions.contains(region_code, code) and child_of(region_code, code) == code}
    lines = []
    for code in sorted(set(counts) | set(children)):
        found = counts.get(code, {"month": empty(), "to_date": empty()})
        named = year_targets.get(code)
        lines.append(row(code, found["month"], found["to_date"], children.get(code), named and named["name"]))
    own = year_targets.get(region_code)
    total = row(region_code, add(*(c["month"] for c in counts.values())),
                add(*(c["to_date"] for c in counts.values())), own, own and own["name"])
    return {"region_code": region_code, "month": f"{month:%Y-%m}", "year": month.year, "rows": lines, "total": total}
