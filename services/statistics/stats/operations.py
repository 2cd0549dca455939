"""Statistics' projections: each event adds to the read models, once (the inbox), and is kept in
the journal they can be rebuilt from."""
import base64
import datetime
import json
from collections import Counter

from sqlalchemy import and_, case, exists, func, literal, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased

from common import regions
from common.db import insert_rows
from common.errors import InvalidInput
from stats import schemas
from stats.domain import indicators, monthly, targets, workbook
from stats.models import (ActivityCounts, CatalogueEntry, CheckinInstitution, DailyCounts, DemographicCounts,
                          EventJournal, MonthlyCounts, RegionFacts, Target, Trainee, VoucherCounts)

COUNTS = monthly.COUNTS


class _Adding:
    """Rows added to the counts kept under their ``keys`` in one statement (a statement may not
    touch a row twice: callers add up one row's counts first), in key order, so that two events
    adding to the same rows lock them in the same order and never deadlock. ``kept``: columns a
    row keeps once it has them (a settlement carries no terms: a row it created gets them from
    the next event that does)."""

    def __init__(self, model, keys, counts, kept=()):
        self.table, self.keys, self.columns = model.__table__, keys, (*keys, *kept, *counts)
        table = self.table.name
        self.then = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(
            [f'"{c}" = coalesce({table}."{c}", excluded."{c}")' for c in kept]
            + [f'"{c}" = {table}."{c}" + excluded."{c}"' for c in counts])

    def __call__(self, session, rows):
        """``rows``: dicts with every column."""
        if rows:
            rows = sorted(rows, key=lambda row: tuple("" if row[k] is None else str(row[k]) for k in self.keys))
            insert_rows(session, self.table, self.columns, [tuple(row[c] for c in self.columns) for row in rows],
                        self.then)


_TERMS = ("function", "distribution")
_COUNT = _Adding(VoucherCounts, ["region_code", "template_id"], COUNTS, kept=_TERMS)
_COUNT_MONTH = _Adding(MonthlyCounts, ["region_code", "template_id", "month"], COUNTS, kept=_TERMS)
_COUNT_DAY = _Adding(DailyCounts, ["region_code", "template_id", "day"], COUNTS, kept=_TERMS)
_DEMOGRAPHICS = _Adding(DemographicCounts, ["region_code", "month", "age_band", "gender", "home_province",
                                            "employer_type", "groups"], ("claimed", "used"))
_ACTIVITY = _Adding(ActivityCounts, ["region_code", "month", "kind"], ("n",))


def _add(session, entries):
    """Add ``entries`` (``(terms, day, {count: n})``) to the running counts and to their day's and
    month's: one statement per table, the entries of one row added up first."""
    rows = {_COUNT: {}, _COUNT_MONTH: {}, _COUNT_DAY: {}}
    for terms, day, increments in entries:
        template = {"region_code": terms["region_code"], "template_id": terms["template_id"]}
        for adding, period in ((_COUNT, {}), (_COUNT_MONTH, {"month": day.replace(day=1)}),
                               (_COUNT_DAY, {"day": day})):
            key = {**template, **period}
            row = rows[adding].setdefault(tuple(key.values()), {
                **key, "function": None, "distribution": None, **dict.fromkeys(COUNTS, 0)})
            row["function"] = row["function"] or terms.get("function")
            row["distribution"] = row["distribution"] or terms.get("distribution")
            for name, n in increments.items():
                row[name] += n
    for adding, found in rows.items():
        adding(session, list(found.values()))


def _demographics(session, holders, **increments):
    """Count holders by profile (``(region, month, profile)``); vouchers claimed before profiles have
    none and are counted in the totals only."""
    rows = Counter((region_code, month, profile["age_band"], profile["gender"], profile["home_province"],
                    profile["employer_type"], ",".join(sorted(profile["groups"])))
                   for region_code, month, profile in holders if profile)
    _DEMOGRAPHICS(session, [
        {"region_code": region_code, "month": month, "age_band": age_band, "gender": gender,
         "home_province": home, "employer_type": employer, "groups": groups,
         **{name: increments.get(name, 0) * n for name in ("claimed", "used")}}
        for (region_code, month, age_band, gender, home, employer, groups), n in rows.items()])


def _activity(session, counted):
    """Add to activity counts: ``counted`` a Counter of (region, month, kind)."""
    _ACTIVITY(session, [{"region_code": region, "month": month, "kind": kind, "n": n}
                        for (region, month, kind), n in counted.items()])


# -- vouchers ---------------------------------------------------------------------------

def count_issued(tx, event):
    payload = event.payload
    _add(tx.session, [(payload["template"], monthly.day_of(event.occurred_at), {"issued": payload["count"]})])


def count_claimed(tx, event):
    template, vouchers = event.payload["template"], event.payload["vouchers"]
    claimed_at = [v.get("claimed_at") or event.occurred_at for v in vouchers]
    per_day = Counter(monthly.day_of(at) for at in claimed_at)
    _add(tx.session, [(template, day, {"claimed": n}) for day, n in per_day.items()])
    _demographics(tx.session, [(template["region_code"], monthly.month_of(at), v.get("profile"))
                               for at, v in zip(claimed_at, vouchers)], claimed=1)


def count_used(tx, event):
    vouchers = event.payload["vouchers"]
    used_at = [v["used_at"] or event.occurred_at for v in vouchers]
    _add(tx.session, [(v["template"], monthly.day_of(at), {"used": 1}) for at, v in zip(used_at, vouchers)])
    _demographics(tx.session, [(v["template"]["region_code"], monthly.month_of(at), v["profile"])
                               for at, v in zip(used_at, vouchers)], used=1)


def count_use_reversed(tx, event):
    """A use undone (撤销) counts no more, in the day of the use: the voucher is claimed still.
    Counts add up in any order, so a reversal that arrives before its use needs no care."""
    payload = event.payload
    _add(tx.session, [(payload["template"], monthly.day_of(payload["used_at"]), {"used": -1})])
    _demographics(tx.session, [(payload["template"]["region_code"], monthly.month_of(payload["used_at"]),
                                payload["profile"])], used=-1)


def count_settled(tx, event):
    day = monthly.day_of(event.occurred_at)
    _add(tx.session, [({"region_code": v["region_code"], "template_id": v["template_id"]}, day,
                       {"settled": 1, "settled_fen": v["amount_fen"]}) for v in event.payload["vouchers"]])


def count_voided(tx, event):
    """Voided vouchers were claimed: they stay claimed, and count as voided too."""
    _add(tx.session, [(v["template"], monthly.day_of(v["voided_at"] or event.occurred_at), {"voided": 1})
                      for v in event.payload["vouchers"]])


def count_returned(tx, event):
    """A returned voucher (退券) is claimed no more: it is back in its pool, to be claimed again."""
    payload = event.payload
    moment = payload["returned_at"] or event.occurred_at
    _add(tx.session, [(payload["template"], monthly.day_of(moment), {"claimed": -1, "returned": 1})])
    _demographics(tx.session, [(payload["template"]["region_code"], monthly.month_of(moment), payload["profile"])],
                  claimed=-1)


def count_expired(tx, event):
    """Expired vouchers were claimed: they stay claimed, and count as expired too."""
    _add(tx.session, [(v["template"], monthly.day_of(v["expired_on"]), {"expired": 1})
                      for v in event.payload["vouchers"]])


# -- the catalogue, check-ins, trainings, evaluations, anomalies -------------------------

def _catalogue(kind, payload_key, terms=lambda payload: payload):
    """Record a catalogue entry from its event, from the first time it was announced; a template's
    later versions may change what it pays for."""
    def record(tx, event):
        entry = terms(event.payload)
        statement = pg_insert(CatalogueEntry).values(
            kind=kind, entry_id=entry[payload_key], region_code=entry["region_code"],
            occupation=entry.get("occupation"), skill_level=entry.get("skill_level"), since=event.occurred_at)
        tx.session.execute(statement.on_conflict_do_update(index_elements=["kind", "entry_id"], set_={
            "occupation": statement.excluded.occupation, "skill_level": statement.excluded.skill_level,
            "since": func.least(CatalogueEntry.since, statement.excluded.since)}))
    return record


record_institution = _catalogue("institution", "institution_id")
record_project = _catalogue("project", "project_id")
record_template = _catalogue("template", "template_id", lambda payload: payload["template"])


def count_checkins(tx, event):
    """Check-ins by region and month; an institution uses check-in from its first one."""
    checkins = event.payload["checkins"]
    first = {}
    for checkin in checkins:
        key = checkin["institution_id"]
        if key not in first or checkin["checked_in_at"] < first[key]["checked_in_at"]:
            first[key] = checkin
    insert_rows(tx.session, CheckinInstitution.__table__, ("institution_id", "region_code", "since"),
                [(key, c["region_code"], c["checked_in_at"]) for key, c in first.items()],
                "ON CONFLICT (institution_id) DO UPDATE SET since = least(checkin_institutions.since, excluded.since)")
    _activity(tx.session, Counter((c["region_code"], monthly.month_of(c["checked_in_at"]), "checkins")
                                  for c in checkins))


def _trainees(session, rows, column):
    """Record when each (region, person) first completed or first rated a training."""
    earliest = {}
    for region_code, person_key, at in rows:
        key = (region_code, person_key)
        earliest[key] = min(at, earliest.get(key, at))
    insert_rows(session, Trainee.__table__, ("region_code", "person_key", column),
                [(region_code, person_key, at) for (region_code, person_key), at in earliest.items()],
                f"ON CONFLICT (region_code, person_key) DO UPDATE SET {column} = "
                f"least(trainees.{column}, excluded.{column})")


def _trainee_steps(session, steps, at, activity):
    """Trainees' completions or evaluations: when each person first reached the step, and the month's count."""
    _trainees(session, [(step["region_code"], step["person_key"], step[at]) for step in steps], at)
    _activity(session, Counter((step["region_code"], monthly.month_of(step[at]), activity) for step in steps))


def count_completions(tx, event):
    _trainee_steps(tx.session, event.payload["completions"], "completed_at", "completions")


def count_evaluations(tx, event):
    _trainee_steps(tx.session, event.payload["evaluations"], "evaluated_at", "evaluations")


def count_anomalies(tx, event):
    _activity(tx.session, Counter((a["region_code"], monthly.month_of(a["detected_at"]), f"anomaly:{a['kind']}")
                                  for a in event.payload["anomalies"]))


# -- the journal, and rebuilding from it ------------------------------------------------------

# Each event statistics reads: who publishes it, the contract it is read with, what it does.
PROJECTIONS = {
    "vouchers_issued": ("issuance", schemas.VouchersIssued, count_issued),
    "vouchers_claimed": ("issuance", schemas.VouchersClaimed, count_claimed),
    "vouchers_used": ("redemption", schemas.VouchersUsed, count_used),
    "voucher_use_reversed": ("redemption", schemas.VoucherUseReversed, count_use_reversed),
    "vouchers_settled": ("settlement", schemas.VouchersSettled, count_settled),
    "vouchers_voided": ("redemption", schemas.VouchersVoided, count_voided),
    "voucher_returned": ("redemption", schemas.VoucherReturned, count_returned),
    "vouchers_expired": ("redemption", schemas.VouchersExpired, count_expired),
    "institution_registered": ("issuance", schemas.InstitutionRegistered, record_institution),
    "project_registered": ("issuance", schemas.ProjectRegistered, record_project),
    "template_created": ("issuance", schemas.TemplateAnnounced, record_template),
    "template_updated": ("issuance", schemas.TemplateAnnounced, record_template),
    "checkins_recorded": ("attendance", schemas.CheckinsRecorded, count_checkins),
    "trainings_completed": ("attendance", schemas.TrainingsCompleted, count_completions),
    "evaluations_submitted": ("attendance", schemas.EvaluationsSubmitted, count_evaluations),
    "anomalies_detected": ("attendance", schemas.AnomaliesDetected, count_anomalies),
}
# Derived from the journal, so emptied and replayed by a rebuild; targets and region facts are
# entered, not derived, and stay.
DERIVED = (VoucherCounts, MonthlyCounts, DailyCounts, DemographicCounts, CatalogueEntry, CheckinInstitution,
           Trainee, ActivityCounts)


def _json(value):
    return value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else str(value)


_JOURNAL = text("""
    INSERT INTO event_journal (event_id, source, type, occurred_at, payload)
    VALUES (CAST(:event_id AS uuid), :source, :type, :occurred_at, CAST(:payload AS jsonb))""")


def record(tx, event):
    """Apply an event to the read models and keep it in the journal, in one transaction."""
    tx.session.execute(_JOURNAL, {
        "event_id": str(event.event_id), "source": event.source, "type": event.type, "occurred_at": event.occurred_at,
        # Written as text once: a JSON value would be dumped, loaded and dumped again (150 kB an event).
        "payload": json.dumps(event.payload, default=_json)})
    PROJECTIONS[event.type][2](tx, event)


def _digest(session):
    """Each derived table's rows and a digest of their content, to compare before and after."""
    found = {}
    for model in DERIVED:
        table = model.__tablename__
        found[table] = dict(session.execute(text(
            f"SELECT count(*) AS rows, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS md5 "
            f"FROM {table} t")).one()._mapping)
    return found


REPLAY_CHUNK = 1000


def rebuild(tx):
    """Empty the derived read models and replay the journal into them, in one transaction: readers
    see the old figures until the new are committed, and events that arrive meanwhile wait their
    turn in their queues. Answers each table's rows and digest before and after: equal, if nothing was lost."""
    session = tx.session
    names = ", ".join(model.__tablename__ for model in DERIVED)
    session.execute(text(f"LOCK TABLE {names}, event_journal IN EXCLUSIVE MODE"))
    before = _digest(session)
    for model in DERIVED:
        session.execute(model.__table__.delete())  # not TRUNCATE: readers keep the old rows until the commit
    replayed, position = 0, 0
    while True:
        chunk = session.execute(select(EventJournal).where(EventJournal.position > position)
                                .order_by(EventJournal.position).limit(REPLAY_CHUNK)).scalars().all()
        if not chunk:
            break
        for entry in chunk:
            _, schema, apply = PROJECTIONS[entry.type]
            apply(tx, _Replayed(entry, schema().load(entry.payload)))
        replayed, position = replayed + len(chunk), chunk[-1].position
        session.expunge_all()
    after = _digest(session)
    return {"replayed": replayed, "before": before, "after": after, "equal": before == after}


class _Replayed:
    """A journal entry as a projection reads an event."""

    def __init__(self, entry, payload):
        self.event_id, self.type, self.source = entry.event_id, entry.type, entry.source
        self.occurred_at, self.payload = entry.occurred_at, payload


def set_targets(tx, *, year, rows):
    """Load (or replace) a task table's rows for a year, as published: every row follows the rule
    or says why it does not."""
    rows = [{**row, "rule_deviation": row.get("rule_deviation")} for row in rows]  # none clears an old one
    for row in rows:
        targets.check(region_code=row["region_code"], planned_trainees=row["planned_trainees"],
                      issue_target=row["issue_target"], use_target=row["use_target"],
                      rule_deviation=row["rule_deviation"])
    statement = pg_insert(Target).values([{"year": year, **row} for row in rows])
    tx.session.execute(statement.on_conflict_do_update(
        index_elements=["year", "region_code"],
        set_={name: getattr(statement.excluded, name)
              for name in ("name", "planned_trainees", "issue_target", "use_target", "rule_deviation")}))
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


def _counts_to_date(session, region_code, first):
    """Per child region, the counts of the month ``first`` and of its year to that month's end,
    summed in SQL from the monthly counts: a year's report reads a few rows per region and
    template, never a voucher."""
    child = _child(MonthlyCounts.region_code, region_code)
    in_month = MonthlyCounts.month == first
    sums = ([func.sum(getattr(MonthlyCounts, name)).filter(in_month) for name in COUNTS]
            + [func.sum(getattr(MonthlyCounts, name)) for name in COUNTS]
            + [func.sum(MonthlyCounts.issued).filter(MonthlyCounts.function == "face_value"),
               func.sum(MonthlyCounts.issued).filter(MonthlyCounts.distribution == "general")])
    found = session.execute(select(child, *sums).where(
        MonthlyCounts.region_code.like(regions.like_pattern(region_code)),
        MonthlyCounts.month.between(first.replace(month=1), first)).group_by(child)).all()
    counts = {}
    for code, *values in found:
        values = [int(value or 0) for value in values]
        counts[code] = {"month": dict(zip(COUNTS, values)),
                        "to_date": dict(zip(COUNTS + monthly.SHARES, values[len(COUNTS):]))}
    return counts


def _year_targets(session, region_code, year):
    return {target.region_code: {"name": target.name, "issue_target": target.issue_target,
                                 "use_target": target.use_target}
            for target in session.scalars(select(Target).where(
                Target.year == year, Target.region_code.like(regions.like_pattern(region_code))))}


def _region(region_code):
    if not regions.is_valid(region_code):
        raise InvalidInput("invalid_region", "region_code must be a 6-digit administrative division code.")
    return region_code


def monthly_report(tx, *, region_code, month):
    """The 月调度 report of a region for a month: one row per child region, with the month's and
    the year's counts, the indicators and progress against the year's targets."""
    first = monthly.parse_month(month)
    counts = _counts_to_date(tx.session, _region(region_code), first)
    return monthly.report(region_code, first, counts, _year_targets(tx.session, region_code, first.year))


REPORT_FILES = {"xlsx": (workbook.to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                "csv": (workbook.to_csv, "text/csv; charset=utf-8"),
                "png": (workbook.progress_chart_png, "image/png")}


def monthly_report_file(tx, *, region_code, month, file_format):
    """The same report as the file an analyst opens: the workbook, its CSV or the progress chart."""
    if file_format not in REPORT_FILES:
        raise InvalidInput("invalid_format", f"format must be one of {', '.join(REPORT_FILES)}.")
    report = monthly_report(tx, region_code=region_code, month=month)
    render, content_type = REPORT_FILES[file_format]
    return {"filename": f"monthly-report-{region_code}-{report['month']}.{file_format}",
            "content_type": content_type, "content": base64.b64encode(render(report)).decode()}


# -- quarterly indicators ----------------------------------------------------------------------

def _child(column, region_code):
    """The child of ``region_code`` that holds the code in ``column`` (``monthly.child_of`` in SQL)."""
    return func.rpad(func.substr(column, 1, monthly.child_length(region_code)), 6, "0")


def _inside(column, parent):
    """``column``'s code lies in region ``parent`` (``regions.contains`` in SQL, ``parent`` a column)."""
    prefix = case((parent == regions.NATIONAL, ""), (parent.like("%0000"), func.substr(parent, 1, 2)),
                  (parent.like("%00"), func.substr(parent, 1, 4)), else_=parent)
    return column.like(prefix + "%")


def _catalogue_counts(session, region_code, end):
    """Per child, as of ``end``: institutions on the platform, subsidised projects of the catalogue
    and those a template makes payable by voucher (it names their occupation and skill level, and
    one of the two regions holds the other)."""
    project, template = CatalogueEntry, aliased(CatalogueEntry)
    payable = exists().where(template.kind == "template", template.since < end,
                             template.occupation == project.occupation, template.skill_level == project.skill_level,
                             or_(_inside(project.region_code, template.region_code),
                                 _inside(template.region_code, project.region_code)))
    child = _child(project.region_code, region_code)
    rows = session.execute(select(
        child, func.count().filter(project.kind == "institution"), func.count().filter(project.kind == "project"),
        func.count().filter(and_(project.kind == "project", payable)))
        .where(project.kind.in_(("institution", "project")), project.since < end,
               project.region_code.like(regions.like_pattern(region_code))).group_by(child))
    return {code: {"institutions": i, "projects": p, "projects_payable": q} for code, i, p, q in rows}


def _checkin_counts(session, region_code, end):
    child = _child(CheckinInstitution.region_code, region_code)
    return {code: {"checkin_institutions": n} for code, n in session.execute(
        select(child, func.count()).where(CheckinInstitution.region_code.like(regions.like_pattern(region_code)),
                                          CheckinInstitution.since < end).group_by(child))}


def _trainee_counts(session, region_code, end, per_child):
    """Users who completed a training by ``end``, and those of them who had rated one, per child
    or in the whole region: each person once, wherever they trained in it."""
    completed = Trainee.completed_at < end
    grouping = _child(Trainee.region_code, region_code) if per_child else literal(region_code)
    query = select(grouping, func.count(func.distinct(Trainee.person_key)).filter(completed),
                   func.count(func.distinct(Trainee.person_key)).filter(and_(completed, Trainee.evaluated_at < end))
                   ).where(Trainee.region_code.like(regions.like_pattern(region_code)))
    rows = session.execute(query.group_by(grouping) if per_child else query)
    return {code: {"trainees_completed": done, "trainees_evaluated": rated} for code, done, rated in rows}


def _latest_facts(session, codes, last_month):
    """Each region's facts as last reported up to ``last_month``, a field at a time: a month that
    leaves a figure out keeps the one reported before."""
    facts = {}
    for row in session.scalars(select(RegionFacts).where(RegionFacts.region_code.in_(sorted(codes)),
                                                         RegionFacts.month <= last_month)
                               .order_by(RegionFacts.month)):
        known = facts.setdefault(row.region_code, {})
        known.update({name: getattr(row, name) for name in FACT_FIELDS if getattr(row, name) is not None})
    return facts


FACT_FIELDS = ("working_group", "policy_issued", "promotion_plan", "e_cards_issued", "resident_population",
               "institutions_total", "ecard_channels", "voucher_channels")
_ZERO = {"institutions": 0, "projects": 0, "projects_payable": 0, "checkin_institutions": 0,
         "trainees_completed": 0, "trainees_evaluated": 0}


def quarterly_indicators(tx, *, region_code, year, quarter):
    """Every indicator of 附件 3 (and Shandong's channels) for each child region of ``region_code``
    and for the region itself, at the end of the quarter, beside the quarter's targets."""
    session = tx.session
    _, last = monthly.parse_quarter(year, quarter)
    end = monthly.end_of_month(last)
    region_code = _region(region_code)
    vouchers = _counts_to_date(session, region_code, last)
    per_child = {}
    for part in (_catalogue_counts(session, region_code, end), _checkin_counts(session, region_code, end),
                 _trainee_counts(session, region_code, end, per_child=True)):
        for code, counts in part.items():
            per_child.setdefault(code, {}).update(counts)
    children = sorted(set(vouchers) | set(per_child))
    provinces = {regions.province_of(code) for code in children + [region_code]}
    facts = _latest_facts(session, set(children) | provinces | {region_code}, last)

    def line(code, voucher_counts, other_counts):
        counts = {**_ZERO, **{name: voucher_counts.get(name, 0) for name in ("issued", "claimed", "used")},
                  "face_value_issued": voucher_counts.get("face_value_issued", 0),
                  "general_issued": voucher_counts.get("general_issued", 0), **other_counts}
        return {"region_code": code, "counts": counts,
                **indicators.quarterly(quarter, counts, facts.get(code, {}),
                                       facts.get(regions.province_of(code), {}))}

    rows = [line(code, vouchers.get(code, {}).get("to_date", {}), per_child.get(code, {})) for code in children]
    total_vouchers = monthly.add(*(c["to_date"] for c in vouchers.values()))
    total_other = {name: sum(row["counts"][name] for row in rows) for name in _ZERO}
    total_other.update(_trainee_counts(session, region_code, end, per_child=False)[region_code])
    names = {target.region_code: target.name for target in session.scalars(select(Target).where(
        Target.year == year, Target.region_code.in_(children + [region_code])))}
    for row in rows:
        row["name"] = names.get(row["region_code"])
    total = {**line(region_code, total_vouchers, total_other), "name": names.get(region_code)}
    return {"region_code": region_code, "year": year, "quarter": quarter, "as_of": end.isoformat(),
            "targets": {name: by_quarter.get(quarter) for name, by_quarter in indicators.TARGETS.items()},
            "rows": rows, "total": total}


def set_region_facts(tx, *, month, rows):
    """Record what regions' bureaus report for a month; a figure left out is not erased."""
    first = monthly.parse_month(month)
    given = {}  # per region, the figures its rows give (a later row's win)
    for row in rows:
        given.setdefault(_region(row["region_code"]), {}).update(
            {name: row[name] for name in FACT_FIELDS if row.get(name) is not None})
    if given:
        statement = pg_insert(RegionFacts).values([
            {"region_code": code, "month": first, **{name: figures.get(name) for name in FACT_FIELDS}}
            for code, figures in given.items()])
        tx.session.execute(statement.on_conflict_do_update(index_elements=["region_code", "month"], set_={
            name: func.coalesce(statement.excluded[name], getattr(RegionFacts, name)) for name in FACT_FIELDS}))
    return {"month": f"{first:%Y-%m}", "recorded": len(rows)}


# -- demographics -----------------------------------------------------------------------------

DIMENSIONS = ("age_band", "gender", "home_province", "employer_type", "group")


def demographics(tx, *, region_code, year, month=None):
    """Vouchers claimed and used in a region by their holders' age band, gender, home province,
    employer type and target group, over a year (or one month of it): counts only. A holder in two
    target groups counts in each; ``none`` counts holders in none."""
    region_code = _region(region_code)
    if month is not None:
        first = last = monthly.parse_month(month)
        if first.year != year:
            raise InvalidInput("invalid_month", "The month must be in the year asked for.")
    else:
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 1)
    rows = tx.session.execute(select(
        DemographicCounts.age_band, DemographicCounts.gender, DemographicCounts.home_province,
        DemographicCounts.employer_type, DemographicCounts.groups,
        func.sum(DemographicCounts.claimed), func.sum(DemographicCounts.used))
        .where(DemographicCounts.region_code.like(regions.like_pattern(region_code)),
               DemographicCounts.month.between(first, last))
        .group_by(DemographicCounts.age_band, DemographicCounts.gender, DemographicCounts.home_province,
                  DemographicCounts.employer_type, DemographicCounts.groups)).all()
    breakdown = {dimension: {} for dimension in DIMENSIONS}
    totals = {"claimed": 0, "used": 0}
    for age_band, gender, home, employer, groups, claimed, used in rows:
        claimed, used = int(claimed), int(used)
        totals["claimed"] += claimed
        totals["used"] += used
        for dimension, values in (("age_band", [age_band]), ("gender", [gender]), ("home_province", [home]),
                                  ("employer_type", [employer]), ("group", groups.split(",") if groups else ["none"])):
            for value in values:
                counted = breakdown[dimension].setdefault(value, {"claimed": 0, "used": 0})
                counted["claimed"] += claimed
                counted["used"] += used
    return {"region_code": region_code, "year": year, "month": month, **totals,
            "breakdown": {dimension: [{"value": value, **counted} for value, counted in sorted(found.items())]
                          for dimension, found in breakdown.items()}}


# -- operators' business metrics ---------------------------------------------------------------

def business_figures(tx):
    """Per province: vouchers by state, money settled, check-ins, completions and anomalies by rule."""
    province = _child(VoucherCounts.region_code, regions.NATIONAL)
    vouchers = {code: dict(zip(COUNTS, map(int, values))) for code, *values in tx.session.execute(
        select(province, *[func.sum(getattr(VoucherCounts, name)) for name in COUNTS]).group_by(province))}
    activity_province = _child(ActivityCounts.region_code, regions.NATIONAL)
    activity = {}
    for code, kind, n in tx.session.execute(select(activity_province, ActivityCounts.kind, func.sum(ActivityCounts.n))
                                            .group_by(activity_province, ActivityCounts.kind)):
        activity.setdefault(code, {})[kind] = int(n)
    return {"vouchers": vouchers, "activity": activity}
