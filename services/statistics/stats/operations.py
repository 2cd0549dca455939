"""Statistics' projections: each event adds to the running counts, once (the inbox)."""
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common import regions
from common.errors import InvalidInput
from stats.domain import indicators, monthly, targets
from stats.models import MonthlyCounts, Target, VoucherCounts

COUNTS = monthly.COUNTS


def _counting(table, keys):
    """Add a row's counts to the counts kept under ``keys``; built once, as every call is alike."""
    statement = pg_insert(table)
    return statement.on_conflict_do_update(index_elements=keys, set_={
        # A settlement carries no terms: a row it created gets them from the next event that does.
        "function": func.coalesce(table.c.function, statement.excluded.function),
        "distribution": func.coalesce(table.c.distribution, statement.excluded.distribution),
        **{name: table.c[name] + statement.excluded[name] for name in COUNTS}})


_COUNT = _counting(VoucherCounts.__table__, ["region_code", "template_id"])
_COUNT_MONTH = _counting(MonthlyCounts.__table__, ["region_code", "template_id", "month"])


def _add(session, terms, month, **increments):
    """Add to the running counts and to the same month's counts, in the same transaction."""
    row = {"region_code": terms["region_code"], "template_id": terms["template_id"],
           "function": terms.get("function"), "distribution": terms.get("distribution"),
           **{name: increments.get(name, 0) for name in COUNTS}}
    session.execute(_COUNT, row)
    session.execute(_COUNT_MONTH, {**row, "month": month})


def count_issued(tx, event):
    _add(tx.session, event.payload["template"], monthly.month_of(event.occurred_at), issued=event.payload["count"])


def count_claimed(tx, event):
    months = Counter(monthly.month_of(voucher.get("claimed_at") or event.occurred_at)
                     for voucher in event.payload["vouchers"])
    for month, n in months.items():
        _add(tx.session, event.payload["template"], month, claimed=n)


def count_used(tx, event):
    used, terms = Counter(), {}
    for voucher in event.payload["vouchers"]:
        template = voucher["template"]
        key = (template["region_code"], template["template_id"],
               monthly.month_of(voucher["used_at"] or event.occurred_at))
        used[key] += 1
        terms[key] = template
    for key, n in used.items():
        _add(tx.session, terms[key], key[2], used=n)


def count_use_reversed(tx, event):
    """A use undone (撤销) counts no more, in the month of the use: the voucher is claimed still.
    Counts add up in any order, so a reversal that arrives before its use needs no care."""
    _add(tx.session, event.payload["template"], monthly.month_of(event.payload["used_at"]), used=-1)


def count_settled(tx, event):
    settled, money = Counter(), Counter()
    for voucher in event.payload["vouchers"]:
        key = (voucher["region_code"], voucher["template_id"])
        settled[key] += 1
        money[key] += voucher["amount_fen"]
    month = monthly.month_of(event.occurred_at)
    for (region_code, template_id), n in settled.items():
        _add(tx.session, {"region_code": region_code, "template_id": template_id}, month,
             settled=n, settled_fen=money[(region_code, template_id)])


def count_voided(tx, event):
    """Voided vouchers were claimed: they stay claimed, and count as voided too."""
    voided, terms = Counter(), {}
    for voucher in event.payload["vouchers"]:
        template = voucher["template"]
        key = (template["region_code"], template["template_id"],
               monthly.month_of(voucher["voided_at"] or event.occurred_at))
        voided[key] += 1
        terms[key] = template
    for key, n in voided.items():
        _add(tx.session, terms[key], key[2], voided=n)


def count_returned(tx, event):
    """A returned voucher (退券) is claimed no more: it is back in its pool, to be claimed again."""
    _add(tx.session, event.payload["template"],
         monthly.month_of(event.payload["returned_at"] or event.occurred_at), claimed=-1, returned=1)


def count_expired(tx, event):
    """Expired vouchers were claimed: they stay claimed, and count as expired too."""
    expired, terms = Counter(), {}
    for voucher in event.payload["vouchers"]:
        template = voucher["template"]
        key = (template["region_code"], template["template_id"], monthly.month_of(voucher["expired_on"]))
        expired[key] += 1
        terms[key] = template
    for key, n in expired.items():
        _add(tx.session, terms[key], key[2], expired=n)


def set_targets(tx, *, year, rows):
    """Load (or replace) a task table's rows for a year; every row must follow the rule."""
    for row in rows:
        targets.check(region_code=row["region_code"], planned_trainees=row["planned_trainees"],
                      issue_target=row["issue_target"], use_target=row["use_target"])
    statement = pg_insert(Target).values([{"year": year, **row} for row in rows])
    tx.session.execute(statement.on_conflict_do_update(
        index_elements=["year", "region_code"],
        set_={name: getattr(statement.excluded, name)
              for name in ("name", "planned_trainees", "issue_target", "use_target")}))
    return {"year": year, "loaded": len(rows)}


def region_summary(tx, *, region_code, year=None):
    totals = tx.session.execute(select(*[func.coalesce(func.sum(getattr(VoucherCounts, name)), 0)
                                      for name in COUNTS]).where(
        VoucherCounts.region_code.like(regions.like_pattern(region_code)))).one()
    summary = {"region_code": region_code, **indicators.summary(dict(zip(COUNTS, map(int, totals))))}
    target = tx.session.get(Target, (year, region_code)) if year else None
    summary["target"] = None if target is None else {
        "year": year, "name": target.name, "issue_target": target.issue_target, "use_target": target.use_target,
        "issue_progress": targets.progress(summary["issued"], target.issue_target),
        "use_progress": targets.progress(summary["used"], target.use_target)}
    return summary


def monthly_report(tx, *, region_code, month):
    """The 月调度 report of a region for a month: one row per child region, summed in SQL from
    the monthly counts of the year up to that month."""
    if not regions.is_valid(region_code):
        raise InvalidInput("invalid_region", "region_code must be a 6-digit administrative division code.")
    first = monthly.parse_month(month)
    child = func.rpad(func.substr(MonthlyCounts.region_code, 1, monthly.child_length(region_code)), 6, "0")
    in_month = MonthlyCounts.month == first
    sums = ([func.sum(getattr(MonthlyCounts, name)).filter(in_month) for name in COUNTS]
            + [func.sum(getattr(MonthlyCounts, name)) for name in COUNTS]
            + [func.sum(MonthlyCounts.issued).filter(MonthlyCounts.function == "face_value"),
               func.sum(MonthlyCounts.issued).filter(MonthlyCounts.distribution == "general")])
    found = tx.session.execute(select(child, *sums).where(
        MonthlyCounts.region_code.like(regions.like_pattern(region_code)),
        MonthlyCounts.month.between(first.replace(month=1), first)).group_by(child)).all()
    counts = {}
    for code, *values in found:
        values = [int(value or 0) for value in values]
        counts[code] = {"month": dict(zip(COUNTS, values)),
                        "to_date": dict(zip(COUNTS + monthly.SHARES, values[len(COUNTS):]))}
    year_targets = {target.region_code: {"name": target.name, "issue_target": target.issue_target,
                                         "use_target": target.use_target}
                    for target in tx.session.scalars(select(Target).where(
                        Target.year == first.year, Target.region_code.like(regions.like_pattern(region_code))))}
    return monthly.report(region_code, first, counts, year_targets)
