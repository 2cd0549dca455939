"""Statistics' projections: each event adds to the running counts, once (the inbox)."""
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common import regions
from stats.domain import indicators, targets
from stats.models import Target, VoucherCounts

COUNTS = ("issued", "claimed", "used", "settled", "settled_fen")


def _add(session, terms, **increments):
    row = {"region_code": terms["region_code"], "template_id": terms["template_id"],
           "function": terms.get("function"), "distribution": terms.get("distribution"),
           **{name: increments.get(name, 0) for name in COUNTS}}
    statement = pg_insert(VoucherCounts).values(row)
    session.execute(statement.on_conflict_do_update(
        index_elements=["region_code", "template_id"],
        set_={name: getattr(VoucherCounts, name) + getattr(statement.excluded, name) for name in increments}))


def count_issued(tx, event):
    _add(tx.session, event.payload["template"], issued=event.payload["count"])


def count_claimed(tx, event):
    _add(tx.session, event.payload["template"], claimed=len(event.payload["vouchers"]))


def count_used(tx, event):
    _add(tx.session, event.payload["template"], used=1)


def count_settled(tx, event):
    settled, money = Counter(), Counter()
    for voucher in event.payload["vouchers"]:
        key = (voucher["region_code"], voucher["template_id"])
        settled[key] += 1
        money[key] += voucher["amount_fen"]
    for (region_code, template_id), n in settled.items():
        _add(tx.session, {"region_code": region_code, "template_id": template_id},
             settled=n, settled_fen=money[(region_code, template_id)])


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
