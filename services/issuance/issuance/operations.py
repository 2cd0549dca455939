"""Issuance's use cases: each takes a transaction (``tx.session`` and ``tx.emit``) and
keyword arguments, applies the domain rules and records the events of the change."""
import base64
import datetime
import uuid
from collections import Counter

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from common import codes, identity, pagination, regions
from common.db import insert_rows
from common.identity import age_band
from common.errors import Conflict, DomainError, Forbidden, InvalidInput, not_found
from issuance import events
from issuance.domain import catalogue, claims
from issuance.domain.templates import (CHINA, FULL_RATIO_PERCENT, Distribution, check_terms, snapshot,
                                       subsidy_ratio_percent, today, voucher_valid_until)
from issuance.models import (ClassSession, Institution, InstitutionProject, IssuanceJob, Person, PersonGroup,
                             Project, RosterEntry, Site, Template, TemplateVersion, TrainingClass, Voucher,
                             VoucherHistory)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _site_data(site):
    return {"site_id": str(site.id), "name": site.name, "latitude": site.latitude,
            "longitude": site.longitude, "radius_m": site.radius_m}


def _get(session, model, ident, kind, for_update=False):
    try:
        found = session.get(model, uuid.UUID(str(ident)), with_for_update=for_update)
    except ValueError:
        found = None
    if found is None:
        raise not_found(kind, ident)
    return found


_PERSON_COLUMNS = ("person_key", "id_masked", "id_sealed", "region_code", "birth_year", "gender", "name_masked",
                   "name_sealed", "employer_type")
_PERSON_KEPT = ("ON CONFLICT (person_key) DO UPDATE SET " + ", ".join(
    f"{name} = coalesce(excluded.{name}, persons.{name})" for name in ("name_masked", "name_sealed", "employer_type")))


def _save_persons(session, persons):
    """Upsert protected persons (see ``common.identity.protect``); a name (or employer type)
    given later is kept, one not given never erases one. Returns their keys. Rows go in key order, so
    that concurrent upserts of the same people never deadlock."""
    rows = {p["person_key"]: (
        p["person_key"], p["masked"], base64.b64decode(p["sealed"]), p["region_code"], p["birth_year"], p["gender"],
        p.get("name_masked"), base64.b64decode(p["name_sealed"]) if p.get("name_sealed") else None,
        p.get("employer_type")) for p in persons}
    insert_rows(session, Person.__table__, _PERSON_COLUMNS, [rows[key] for key in sorted(rows)], _PERSON_KEPT)
    return [p["person_key"] for p in persons]


def register_institution(tx, *, region_code, name, credit_code, sites, payout_account=None, project_ids=()):
    """Register one institution; its unified social credit code is its identity, so a
    second registration of the same code is refused, whatever the concurrency.
    ``payout_account``: {bank_name, account_name, account_masked, account_sealed (base64)}, as
    the gateway protected it; ``project_ids``: the projects it may train for (none: any)."""
    projects = _allowed_projects(tx.session, region_code, project_ids)
    account = payout_account or {}
    institution_id = tx.session.scalar(pg_insert(Institution).values(
        id=uuid.uuid4(), region_code=region_code, name=name, credit_code=credit_code,
        payout_bank_name=account.get("bank_name"), payout_account_name=account.get("account_name"),
        payout_account_masked=account.get("account_masked"),
        payout_account_sealed=base64.b64decode(account["account_sealed"]) if account else None)
        .on_conflict_do_nothing(index_elements=["credit_code"]).returning(Institution.id))
    if institution_id is None:
        raise Conflict("institution_exists", f"An institution with credit code {credit_code} is registered.")
    site_rows = [Site(id=uuid.uuid4(), institution_id=institution_id, **site) for site in sites]
    tx.session.add_all(site_rows)
    _add_projects(tx.session, institution_id, projects)
    tx.emit(events.INSTITUTION_REGISTERED, aggregate_id=institution_id, payload={
        "institution_id": str(institution_id), "region_code": region_code, "name": name,
        "sites": [_site_data(s) for s in site_rows], **_allowed_data(projects),
        "payout_account_masked": account.get("account_masked")})
    return _institution_view(tx.session.get(Institution, institution_id), site_rows, projects)


def register_institutions(tx, *, rows):
    """Batch add institutions (批量新增机构): each row registered or refused with its reason;
    a refused row never blocks the others, and an upload repeated creates nothing new."""
    results = []
    for row in rows:
        try:
            with tx.session.begin_nested():
                results.append({"status": "accepted", **register_institution(tx, **row)})
        except DomainError as refusal:
            results.append({"status": "refused", **refusal.as_dict()})
    return results


def _parse_ids(ids, kind):
    found = []
    for ident in dict.fromkeys(str(i) for i in ids or ()):
        try:
            found.append(uuid.UUID(ident))
        except ValueError:
            raise not_found(kind, ident)
    return found


def _allowed_projects(session, institution_region, project_ids):
    """The projects named, in the order given, each existing and of a region the institution's
    overlaps."""
    wanted = _parse_ids(project_ids, "project")
    found = {p.id: p for p in session.scalars(select(Project).where(Project.id.in_(wanted)))} if wanted else {}
    for project_id in wanted:
        if project_id not in found:
            raise not_found("project", str(project_id))
        catalogue.check_allowed_project(institution_region, project_id=str(project_id),
                                        project_region=found[project_id].region_code)
    return [found[project_id] for project_id in wanted]


def _add_projects(session, institution_id, projects):
    if projects:
        session.execute(insert(InstitutionProject), [{"institution_id": institution_id, "project_id": p.id}
                                                     for p in projects])


def _allowed_data(projects):
    """What consumers learn of an institution's allowed projects: enough to match a class."""
    return {"project_ids": [str(p.id) for p in projects],
            "projects": [{"project_id": str(p.id), "occupation": p.occupation, "skill_level": p.skill_level}
                         for p in projects]}


def _project_view(project):
    return {"project_id": str(project.id), "region_code": project.region_code, "occupation": project.occupation,
            "skill_level": project.skill_level, "name": project.name,
            "subsidy_standard_fen": project.subsidy_standard_fen, "created_at": project.created_at.isoformat()}


def _institution_view(institution, sites, projects):
    """What an institution looks like from outside: its payout account only masked."""
    account = None
    if institution.payout_account_masked:
        account = {"bank_name": institution.payout_bank_name, "account_name": institution.payout_account_name,
                   "account_masked": institution.payout_account_masked}
    return {"institution_id": str(institution.id), "region_code": institution.region_code, "name": institution.name,
            "credit_code": institution.credit_code, "sites": [_site_data(s) for s in sites],
            "payout_account": account, "projects": [
                _project_view(p) for p in sorted(projects, key=lambda p: (p.occupation, p.skill_level, str(p.id)))]}


def _institution_projects(session, institution_id):
    return list(session.scalars(select(Project).join(InstitutionProject).where(
        InstitutionProject.institution_id == institution_id)))


def get_institution(tx, *, institution_id, region_code):
    """An institution with its sites, allowed projects and masked payout account."""
    institution = _get(tx.session, Institution, institution_id, "institution")
    if not regions.contains(region_code, institution.region_code):
        raise Forbidden("other_region", "This institution belongs to a region outside yours.")
    sites = tx.session.scalars(select(Site).where(Site.institution_id == institution.id).order_by(Site.name, Site.id))
    return _institution_view(institution, list(sites), _institution_projects(tx.session, institution.id))


def payout_accounts(tx, *, institution_ids):
    """Where institutions are paid, for a bank payment file: the account number still sealed,
    opened only where the file is written."""
    wanted = _parse_ids(institution_ids, "institution")
    return {str(i.id): {"name": i.name, "bank_name": i.payout_bank_name, "account_name": i.payout_account_name,
                        "account_sealed": base64.b64encode(i.payout_account_sealed).decode()
                        if i.payout_account_sealed else None}
            for i in tx.session.scalars(select(Institution).where(Institution.id.in_(wanted)))}


def set_institution_projects(tx, *, institution_id, region_code, project_ids):
    """Replace the projects an institution may train for; an empty list lifts the limit. The
    institution's row is locked, so concurrent replacements follow each other in event order."""
    institution = _get(tx.session, Institution, institution_id, "institution", for_update=True)
    if not regions.contains(region_code, institution.region_code):
        raise Forbidden("other_region", "This institution belongs to a region outside yours.")
    projects = _allowed_projects(tx.session, institution.region_code, project_ids)
    tx.session.execute(delete(InstitutionProject).where(InstitutionProject.institution_id == institution.id))
    _add_projects(tx.session, institution.id, projects)
    tx.emit(events.INSTITUTION_PROJECTS_CHANGED, aggregate_id=institution.id, payload={
        "institution_id": str(institution.id), **_allowed_data(projects)})
    sites = tx.session.scalars(select(Site).where(Site.institution_id == institution.id).order_by(Site.name, Site.id))
    return _institution_view(institution, list(sites), projects)


def register_projects(tx, *, rows, region_code):
    """Batch add training projects (培训项目目录) to the catalogue of the caller's region (or a
    region inside it): each row accepted with its project_id, or refused with the reason. A
    project is one per region, occupation and level, so a repeated upload creates nothing new."""
    results = []
    for row in rows:
        try:
            catalogue.check_project(**{k: row[k] for k in ("region_code", "occupation", "skill_level",
                                                           "subsidy_standard_fen")})
            catalogue.check_uploader_region(region_code, row["region_code"])
            project = tx.session.scalar(pg_insert(Project).values(id=uuid.uuid4(), **{
                k: row[k] for k in ("region_code", "occupation", "skill_level", "name", "subsidy_standard_fen")})
                .on_conflict_do_nothing(constraint="projects_region_occupation_level").returning(Project))
            if project is None:
                raise _project_exists(tx.session, row)
        except DomainError as refusal:
            results.append({"status": "refused", **refusal.as_dict()})
            continue
        tx.emit(events.PROJECT_REGISTERED, aggregate_id=project.id, payload={
            "project_id": str(project.id), **{k: row[k] for k in ("region_code", "occupation", "skill_level", "name",
                                                                 "subsidy_standard_fen")}})
        results.append({"status": "accepted", "project_id": str(project.id)})
    return results


def _project_exists(session, row):
    existing = session.scalar(select(Project.id).where(Project.region_code == row["region_code"],
                                                       Project.occupation == row["occupation"],
                                                       Project.skill_level == row["skill_level"]))
    return Conflict("project_exists", f"Region {row['region_code']} already has a project for {row['occupation']} "
                                      f"level {row['skill_level']}.", {"project_id": str(existing)})


def list_projects(tx, *, region_code, cursor=None, limit=50):
    """Training projects of a region and the regions inside it, newest first, a page at a time."""
    query = select(Project).where(Project.region_code.like(regions.like_pattern(region_code)))
    return pagination.page(tx.session, query, order_by=(Project.created_at, Project.id), cursor=cursor,
                           limit=limit, key=lambda row: (row[0].created_at, row[0].id),
                           view=lambda row: _project_view(row[0]))


def register_class(tx, *, institution_id, region_code, site_id, name, occupation, skill_level, mode,
                   completion_threshold, sessions, roster):
    institution = _get(tx.session, Institution, institution_id, "institution")
    if not regions.contains(region_code, institution.region_code):
        raise Forbidden("other_region", "This institution belongs to a region outside yours.")
    site = _get(tx.session, Site, site_id, "site")
    if site.institution_id != institution.id:
        raise InvalidInput("site_not_of_institution", "site_id names a site of another institution.")
    for s in sessions:
        if s["ends_at"] <= s["starts_at"]:
            raise InvalidInput("invalid_session", "Each session must end after it starts.")
    training_class = TrainingClass(id=uuid.uuid4(), institution_id=institution.id, site_id=site.id, name=name,
                                   occupation=occupation, skill_level=skill_level, mode=mode,
                                   completion_threshold=completion_threshold)
    tx.session.add(training_class)
    tx.session.flush()
    session_rows = [ClassSession(id=uuid.uuid4(), class_id=training_class.id, **s) for s in sessions]
    tx.session.add_all(session_rows)
    person_keys = _save_persons(tx.session, roster)
    if person_keys:
        tx.session.execute(insert(RosterEntry), [{"class_id": training_class.id, "person_key": k}
                                                 for k in dict.fromkeys(person_keys)])
    tx.emit(events.CLASS_REGISTERED, aggregate_id=training_class.id, payload={
        **_class_snapshot(training_class, institution, site, session_rows), "roster": list(dict.fromkeys(person_keys))})
    return {"class_id": str(training_class.id), "institution_id": str(institution.id),
            "sessions": _sessions_data(session_rows), "roster_size": len(set(person_keys))}


def _sessions_data(session_rows):
    return [{"session_id": str(s.id), "starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat()}
            for s in sorted(session_rows, key=lambda s: s.starts_at)]


def _class_snapshot(training_class, institution, site, session_rows):
    """What other services keep of a class: where, when, what it teaches; never who (the roster
    travels on its own)."""
    return {"class_id": str(training_class.id), "institution_id": str(institution.id),
            "region_code": institution.region_code, "occupation": training_class.occupation,
            "skill_level": training_class.skill_level, "mode": training_class.mode,
            "completion_threshold": training_class.completion_threshold, "site": _site_data(site),
            "sessions": _sessions_data(session_rows)}


def reschedule_class(tx, *, class_id, region_code, institution_id=None, sessions):
    """Replace a class's schedule: a session named by its ``session_id`` keeps it (its times may
    change), one without is new, and one left out is dropped. The class's row is locked, so that
    concurrent changes are announced in the order they were made."""
    training_class = _get(tx.session, TrainingClass, class_id, "class", for_update=True)
    institution = tx.session.get(Institution, training_class.institution_id)
    if institution_id and str(institution.id) != str(institution_id):
        raise Forbidden("other_institution", "This class belongs to another institution.")
    if not regions.contains(region_code, institution.region_code):
        raise Forbidden("other_region", "This class belongs to a region outside yours.")
    existing = {s.id: s for s in tx.session.scalars(select(ClassSession).where(
        ClassSession.class_id == training_class.id))}
    kept = []
    for given in sessions:
        if given["ends_at"] <= given["starts_at"]:
            raise InvalidInput("invalid_session", "Each session must end after it starts.")
        if given.get("session_id") is None:
            kept.append(ClassSession(id=uuid.uuid4(), class_id=training_class.id, starts_at=given["starts_at"],
                                     ends_at=given["ends_at"]))
            tx.session.add(kept[-1])
        elif uuid.UUID(str(given["session_id"])) in existing:
            kept.append(existing.pop(uuid.UUID(str(given["session_id"]))))
            kept[-1].starts_at, kept[-1].ends_at = given["starts_at"], given["ends_at"]
        else:
            raise not_found("session", str(given["session_id"]))
    for dropped in existing.values():
        tx.session.delete(dropped)
    tx.session.flush()
    tx.emit(events.CLASS_SCHEDULE_CHANGED, aggregate_id=training_class.id, payload=_class_snapshot(
        training_class, institution, tx.session.get(Site, training_class.site_id), kept))
    return {"class_id": str(training_class.id), "sessions": _sessions_data(kept)}


def add_trainees(tx, *, class_id, region_code, institution_id=None, trainees):
    """Batch add trainees (批量添加培训人员) to a class roster: each row added, or unchanged
    when the person is already on it, so a repeated upload adds nobody twice."""
    training_class = _get(tx.session, TrainingClass, class_id, "class")
    institution = tx.session.get(Institution, training_class.institution_id)
    if institution_id and str(institution.id) != str(institution_id):
        raise Forbidden("other_institution", "This class belongs to another institution.")
    if not regions.contains(region_code, institution.region_code):
        raise Forbidden("other_region", "This class belongs to a region outside yours.")
    person_keys = _save_persons(tx.session, trainees)
    added = set(insert_rows(tx.session, RosterEntry.__table__, ("class_id", "person_key"),
                            [(training_class.id, key) for key in dict.fromkeys(person_keys)],
                            "ON CONFLICT DO NOTHING RETURNING person_key").scalars())
    if added:
        tx.emit(events.ROSTER_EXTENDED, aggregate_id=training_class.id, payload={
            "class_id": str(training_class.id), "roster": [key for key in dict.fromkeys(person_keys) if key in added]})
    rows, seen = [], set()
    for key in person_keys:
        rows.append("added" if key in added and key not in seen else "unchanged")
        seen.add(key)
    return rows


def create_template(tx, **terms):
    check_terms(**{k: terms.get(k) for k in ("region_code", "function", "face_value_fen", "subsidy_standard_fen",
                                             "valid_from", "valid_until", "quantity", "validity_days",
                                             "eligible_groups", "subsidy_ratios")},
                payee=terms.get("payee") or "institution",
                default_subsidy_ratio_percent=terms.get("default_subsidy_ratio_percent", FULL_RATIO_PERCENT))
    _check_institutions(tx.session, terms.get("institution_ids"))
    template = Template(id=uuid.uuid4(), version=1, issued=0, **{
        **terms, **{name: terms.get(name) or None for name in _NONE_WHEN_EMPTY}})
    tx.session.add(template)
    tx.session.flush()
    _record_version(tx, template, events.TEMPLATE_CREATED)
    return template_view(template)


# What a new version may change; the rest (region, function, distribution, the training it
# pays for) would make it another template.
UPDATABLE = ("name", "face_value_fen", "subsidy_standard_fen", "institution_ids", "eligible_groups",
             "funding_source", "payee", "valid_from", "valid_until", "validity_days",
             "one_training_per_occupation_year", "reversal_grace_hours", "subsidy_ratios",
             "default_subsidy_ratio_percent", "requires_certificate", "quantity")
# Terms an empty list or mapping leaves unlimited, kept as None.
_NONE_WHEN_EMPTY = ("institution_ids", "eligible_groups", "subsidy_ratios")


def update_template(tx, *, template_id, region_code, changes):
    """A new version of a template's terms: vouchers issued from now on carry it; those
    issued before keep theirs."""
    template = _template_in_region(tx.session, template_id, region_code, for_update=True)
    fixed = sorted(set(changes) - set(UPDATABLE))
    if fixed:
        raise InvalidInput("not_updatable", f"{', '.join(fixed)} cannot change; create another template.")
    merged = {name: changes[name] if name in changes else getattr(template, name) for name in UPDATABLE}
    check_terms(region_code=template.region_code, function=template.function,
                **{k: merged[k] for k in ("face_value_fen", "subsidy_standard_fen", "valid_from", "valid_until",
                                          "quantity", "validity_days", "eligible_groups", "payee", "subsidy_ratios",
                                          "default_subsidy_ratio_percent")})
    if merged["quantity"] < template.issued:
        raise Conflict("quantity_below_issued",
                       f"{template.issued} vouchers are issued already; quantity cannot be less.")
    _check_institutions(tx.session, merged["institution_ids"])
    for name in _NONE_WHEN_EMPTY:
        merged[name] = merged[name] or None
    for name, value in merged.items():
        setattr(template, name, value)
    template.version += 1
    _record_version(tx, template, events.TEMPLATE_UPDATED)
    return template_view(template)


def _check_institutions(session, institution_ids):
    if institution_ids:
        found = set(session.scalars(select(Institution.id).where(Institution.id.in_(institution_ids))))
        unknown = [str(i) for i in institution_ids if i not in found]
        if unknown:
            raise not_found("institution", unknown[0])


def _record_version(tx, template, event_type):
    terms = snapshot(template)
    tx.session.add(TemplateVersion(template_id=template.id, version=template.version, terms=terms))
    tx.emit(event_type, aggregate_id=template.id, payload={"template": terms, "quantity": template.quantity})


def template_view(template):
    return {**snapshot(template), "name": template.name, "quantity": template.quantity,
            "issued": template.issued}


def _reserve_quantity(session, template, count):
    """Take ``count`` from the template's quantity, or refuse: decided by one conditional
    update, so concurrent issuances can never pass the cap together. Called last, just before
    the commit: the template's row stays locked only for that moment, so classes of one template
    are issued in parallel, and a refusal rolls back the vouchers already written."""
    taken = session.execute(update(Template).where(Template.id == template.id,
                                                   Template.issued + count <= Template.quantity)
                            .values(issued=Template.issued + count).returning(Template.issued)).first()
    if taken is None:
        raise _quantity_exceeded(template, count)


def _quantity_exceeded(template, count):
    return Conflict("quantity_exceeded",
                    f"Issuing {count} would exceed the template's quantity of {template.quantity}.")


def _check_quantity(template, count):
    """Refuse at once what the quantity already left cannot hold, before writing anything."""
    if template.issued + count > template.quantity:
        raise _quantity_exceeded(template, count)


_VOUCHER_COLUMNS = ("id", "code", "template_id", "template_version", "status", "holder", "claimed_at", "valid_until")


def _write_vouchers(session, rows):
    """New vouchers, in bulk. Two issuances racing to give one person a voucher of the same
    template meet at the unique index: the later is told to try again."""
    try:
        with session.begin_nested():
            insert_rows(session, Voucher.__table__, _VOUCHER_COLUMNS, rows)
    except IntegrityError:
        raise Conflict("concurrent_issuance", "Another issuance of this template to the same people is running; "
                                              "try again: only people without a voucher get one.")


def issue_pool(tx, *, template_id, quantity, region_code):
    """Issue ``quantity`` general vouchers into the template's pool (制券/发券)."""
    template = _template_in_region(tx.session, template_id, region_code)
    _require(template, Distribution.GENERAL)
    return _issue_pool(tx, template, quantity)


def _require(template, distribution):
    """A pool comes from a general template; targeted vouchers from a targeted one."""
    if template.distribution == distribution:
        return
    if distribution == Distribution.GENERAL:
        raise InvalidInput("not_general", "Only a general template issues a pool; targeted vouchers come from "
                                          "a class roster.")
    raise InvalidInput("not_targeted", "This template is general: issue a pool and let workers claim.")


def _issue_pool(tx, template, quantity):
    _check_quantity(template, quantity)
    batch_id = uuid.uuid4()
    _write_vouchers(tx.session, [(str(uuid.uuid4()), code, str(template.id), template.version, "issued", None,
                                  None, None) for code in codes.new_codes(quantity)])
    _reserve_quantity(tx.session, template, quantity)
    tx.emit(events.VOUCHERS_ISSUED, aggregate_id=batch_id,
            payload={"batch_id": str(batch_id), "template": snapshot(template), "count": quantity})
    return {"batch_id": str(batch_id), "template_id": str(template.id), "issued": quantity}


def issue_targeted(tx, *, template_id, class_id, region_code):
    """Targeted vouchers (定向券) for everyone on a class roster, born claimed. Running it
    again for the same class issues only to people who have none yet."""
    template = _template_in_region(tx.session, template_id, region_code)
    _require(template, Distribution.TARGETED)
    return _issue_targeted(tx, template, class_id)


def _issue_targeted(tx, template, class_id):
    claims.check_targeted(template, _get(tx.session, TrainingClass, class_id, "class"))
    # Whether each person on the roster holds one already is an index probe of its own (the LIMIT
    # keeps it one): NOT IN or an anti-join reads every holder of the template, once per class,
    # a million of them by the end of a province's roll-out.
    holding = select(Voucher.holder).where(Voucher.template_id == template.id,
                                           Voucher.holder == RosterEntry.person_key).limit(1)
    unissued = select(RosterEntry.person_key).where(RosterEntry.class_id == uuid.UUID(str(class_id)),
                                                    holding.scalar_subquery().is_(None))
    known, groups = _persons(tx.session, unissued)
    person_keys = list(known)
    batch_id = uuid.uuid4()
    if not person_keys:
        return {"batch_id": None, "template_id": str(template.id), "issued": 0}
    _check_quantity(template, len(person_keys))
    now, terms, day = _now(), snapshot(template), today()
    valid_until = voucher_valid_until(terms, day)
    vouchers = [_claimed(uuid.uuid4(), code, key, now, valid_until, subsidy_ratio_percent(terms, groups.get(key, ())),
                         _profile(known[key], groups.get(key, ()), day))
                for key, code in zip(person_keys, codes.new_codes(len(person_keys)))]
    _write_vouchers(tx.session, [(v["voucher_id"], v["code"], str(template.id), template.version, "claimed",
                                  v["person_key"], now, valid_until) for v in vouchers])
    _reserve_quantity(tx.session, template, len(vouchers))
    tx.emit(events.VOUCHERS_ISSUED, aggregate_id=batch_id,
            payload={"batch_id": str(batch_id), "template": terms, "count": len(vouchers)})
    for start in range(0, len(vouchers), events.CLAIMED_CHUNK):
        tx.emit(events.VOUCHERS_CLAIMED, aggregate_id=batch_id,
                payload={"template": terms, "vouchers": vouchers[start:start + events.CLAIMED_CHUNK]})
    return {"batch_id": str(batch_id), "template_id": str(template.id), "issued": len(vouchers)}


def start_issuance_job(tx, *, template_id, region_code, quantity=None, class_ids=None):
    """Bulk issuance in the background (批量发券任务): a pool of ``quantity`` vouchers, or targeted
    vouchers for each of ``class_ids`` in turn. Checked now as far as it can be; then
    ``advance_issuance_job`` issues it a chunk per transaction."""
    template = _template_in_region(tx.session, template_id, region_code)
    if quantity is not None:
        _require(template, Distribution.GENERAL)
        _check_quantity(template, quantity)
        kind, total, wanted = "pool", quantity, None
    else:
        _require(template, Distribution.TARGETED)
        wanted = _parse_ids(class_ids, "class")
        found = set(tx.session.scalars(select(TrainingClass.id).where(TrainingClass.id.in_(wanted))))
        missing = [class_id for class_id in wanted if class_id not in found]
        if missing:
            raise not_found("class", str(missing[0]))
        kind, total = "targeted", len(wanted)
    job = IssuanceJob(id=uuid.uuid4(), region_code=region_code, template_id=template.id, kind=kind, class_ids=wanted,
                      total=total, done=0, issued=0, refusals=[], status="running",
                      correlation_id=tx.correlation_id)
    tx.session.add(job)
    tx.session.flush()
    return _job_view(job)


def advance_issuance_job(tx, *, pool_chunk):
    """Issue the next chunk of the oldest running job that no other worker holds: ``pool_chunk``
    vouchers of a pool, or one class of a targeted job. A chunk refused (the quantity ran out, a
    class trains another occupation) issues nothing: a pool stops there; a targeted job notes the
    class and goes on. Returns False when no job is left to advance."""
    job = tx.session.scalar(select(IssuanceJob).where(IssuanceJob.status == "running")
                            .order_by(IssuanceJob.created_at).limit(1).with_for_update(skip_locked=True))
    if job is None:
        return False
    tx.correlation_id = job.correlation_id
    template = tx.session.get(Template, job.template_id)
    class_id = job.class_ids[job.done] if job.kind == "targeted" else None
    try:
        with tx.session.begin_nested():
            if job.kind == "pool":
                issued = _issue_pool(tx, template, min(pool_chunk, job.total - job.done))["issued"]
                job.done += issued
            else:
                issued = _issue_targeted(tx, template, class_id)["issued"]
                job.done += 1
            job.issued += issued
    except DomainError as refusal:
        if job.kind == "pool":
            job.refusals, job.status = [refusal.as_dict()], "stopped"
        else:
            job.refusals, job.done = [*job.refusals, {"class_id": str(class_id), **refusal.as_dict()}], job.done + 1
    if job.status == "running" and job.done == job.total:
        job.status = "done"
    if job.status != "running":
        job.finished_at = _now()
    return True


def get_issuance_job(tx, *, job_id, region_code):
    job = _get(tx.session, IssuanceJob, job_id, "job")
    if not regions.contains(region_code, job.region_code):
        raise Forbidden("other_region", "This job was started by a region outside yours.")
    return _job_view(job)


def _job_view(job):
    return {"job_id": str(job.id), "template_id": str(job.template_id), "kind": job.kind, "status": job.status,
            "progress": {"done": job.done, "total": job.total, "unit": "vouchers" if job.kind == "pool" else "classes"},
            "issued": job.issued, "refusals": job.refusals,
            "created_at": job.created_at.isoformat() if job.created_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def _claimed(voucher_id, code, holder, claimed_at, valid_until, ratio_percent, profile):
    return {"voucher_id": str(voucher_id), "code": code, "person_key": holder, "claimed_at": claimed_at.isoformat(),
            "valid_until": valid_until.isoformat(), "subsidy_ratio_percent": ratio_percent, "profile": profile}


def _template_in_region(session, template_id, region_code, for_update=False):
    template = _get(session, Template, template_id, "template", for_update=for_update)
    if not regions.contains(region_code, template.region_code):
        raise Forbidden("other_region", "This template belongs to a region outside yours.")
    return template


def claim_vouchers(tx, batch):
    """Workers claim general vouchers (领券), a batch at a time (``Store.run_each``): each claim
    ``{template_id, person, channel_region}`` gets a voucher from its template's pool, or the
    refusal that names its rule, exactly as if it had come alone and in this order: one per
    template per person, under the rules of the template version the voucher was issued under.
    The batch costs a fixed number of statements, however many claims it holds."""
    outcomes = [None] * len(batch)
    by_template = {}
    for index, claim in enumerate(batch):
        try:
            by_template.setdefault(uuid.UUID(str(claim["template_id"])), []).append(index)
        except ValueError:
            outcomes[index] = not_found("template", claim["template_id"])
    templates, terms = _templates_with_versions(tx.session, list(by_template))
    holders = sorted({batch[i]["person"]["person_key"] for indexes in by_template.values() for i in indexes})
    _lock_holders(tx.session, [(template_id, batch[i]["person"]["person_key"])
                               for template_id, indexes in by_template.items() for i in indexes])
    day = today()
    held, trained = _holdings(tx.session, holders, list(templates), day)
    # A holder's groups decide, under the version a voucher was issued under, who may claim it and its ratio.
    known, groups = _persons(tx.session, holders)
    now, claimed, persons = _now(), [], {}
    for template_id, indexes in by_template.items():
        template = templates.get(template_id)
        if template is None:
            for index in indexes:
                outcomes[index] = not_found("template", batch[index]["template_id"])
            continue
        pool = list(tx.session.execute(
            select(Voucher.id, Voucher.code, Voucher.template_version)
            .where(Voucher.template_id == template.id, Voucher.status == "issued")
            .limit(len(indexes)).with_for_update(skip_locked=True)))
        for index in indexes:
            person = batch[index]["person"]
            holder = person["person_key"]
            voucher_terms = terms[template.id, pool[0].template_version if pool else template.version]
            try:
                if (template.id, holder) in held:
                    raise claims.already_claimed()
                claims.check_claim(voucher_terms, day=day, channel_region=batch[index]["channel_region"],
                                   groups=groups.get(holder, ()), trained_occupations=trained.get(holder, ()))
                if not pool:
                    raise claims.pool_exhausted()
            except DomainError as refusal:
                outcomes[index] = refusal
                continue
            voucher = pool.pop(0)
            held.add((template.id, holder))
            persons[holder] = person
            valid_until = voucher_valid_until(voucher_terms, day)
            ratio = subsidy_ratio_percent(voucher_terms, groups.get(holder, ()))
            # The request's employer type, else the one on record.
            facts = {**person, "employer_type": person.get("employer_type")
                     or known.get(holder, {}).get("employer_type")}
            claimed.append((voucher_terms, _claimed(voucher.id, voucher.code, holder, now, valid_until, ratio,
                                                    _profile(facts, groups.get(holder, ()), day))))
            outcomes[index] = {"voucher_id": str(voucher.id), "code": voucher.code,
                               "display_code": codes.display(voucher.code), "template_id": str(template.id),
                               "claimed_at": now.isoformat(), "valid_until": valid_until.isoformat()}
    if claimed:
        _save_persons(tx.session, list(persons.values()))
        tx.session.execute(_CLAIM, {"claimed_at": now, "ids": [v["voucher_id"] for _, v in claimed],
                                    "holders": [v["person_key"] for _, v in claimed],
                                    "valid_until": [v["valid_until"] for _, v in claimed]})
        _emit_claimed(tx, claimed)
    return outcomes


# The vouchers claimed, and their history, in one round trip.
_CLAIM = text("""
    WITH claimed AS (
        UPDATE vouchers SET status = 'claimed', holder = claim.holder, claimed_at = :claimed_at,
                            valid_until = claim.valid_until
        FROM unnest(CAST(:ids AS uuid[]), CAST(:holders AS text[]), CAST(:valid_until AS date[]))
             AS claim (id, holder, valid_until)
        WHERE vouchers.id = claim.id
        RETURNING vouchers.id)
    INSERT INTO voucher_history (voucher_id, status, at) SELECT id, 'claimed', :claimed_at FROM claimed""")


def _templates_with_versions(session, template_ids):
    """The templates named, and the terms of each of their versions by (template id, version)."""
    templates, terms = {}, {}
    for template, version, version_terms in session.execute(
            select(Template, TemplateVersion.version, TemplateVersion.terms).join(
                TemplateVersion, TemplateVersion.template_id == Template.id).where(Template.id.in_(template_ids))):
        templates[template.id] = template
        terms[template.id, version] = version_terms
    return templates, terms


def _holdings(session, person_keys, template_ids, day):
    """Which of ``template_ids`` each person holds a voucher of, as (template id, person) pairs,
    and the occupations each trained in with a voucher this (China) year: one read of their
    vouchers for both."""
    start = datetime.datetime.combine(day.replace(month=1, day=1), datetime.time(), CHINA)
    used_this_year = and_(Voucher.status.in_(("used", "settled")), Voucher.used_at >= start)
    held, trained = set(), {}
    for template_id, holder, used, occupation in session.execute(
            select(Voucher.template_id, Voucher.holder, used_this_year, Template.occupation).join(Template)
            .where(Voucher.holder.in_(person_keys), or_(Voucher.template_id.in_(template_ids), used_this_year))):
        if template_id in template_ids:
            held.add((template_id, holder))
        if used:
            trained.setdefault(holder, set()).add(occupation)
    return held, trained


CLAIM_LOCK = 1  # advisory lock namespace of claims


def _lock_holders(session, pairs):
    """One claim at a time per template and person, across every concurrent batch, so that
    "holds none yet" stays true until the claim commits. Taken in one order: no deadlock."""
    keys = sorted({f"{template_id}:{holder}" for template_id, holder in pairs})
    if keys:
        session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(key)) "
                             "FROM unnest(CAST(:keys AS text[])) AS key"), {"space": CLAIM_LOCK, "keys": keys})


def _emit_claimed(tx, claimed):
    """One ``vouchers_claimed`` per template version in the batch, with every voucher it claimed;
    the batch is its aggregate, as a targeted issuance's is."""
    by_terms = {}
    for terms, voucher in claimed:
        by_terms.setdefault((terms["template_id"], terms["version"]), (terms, []))[1].append(voucher)
    for terms, vouchers in by_terms.values():
        tx.emit(events.VOUCHERS_CLAIMED, aggregate_id=uuid.uuid4(), payload={"template": terms, "vouchers": vouchers})


def _persons(session, person_keys):
    """What is known of each person, in one read: {key: their row} and {key: the target groups they
    were recorded in, as (group, region) pairs}; ``person_keys`` a list, or a select of them (a
    roster, read in the same statement)."""
    known, groups = {}, {}
    for key, birth_year, gender, region_code, employer_type, group, group_region in session.execute(select(
            Person.person_key, Person.birth_year, Person.gender, Person.region_code, Person.employer_type,
            PersonGroup.group, PersonGroup.region_code).outerjoin(PersonGroup)
            .where(Person.person_key.in_(person_keys))):
        known[key] = {"birth_year": birth_year, "gender": gender, "region_code": region_code,
                      "employer_type": employer_type}
        if group is not None:
            groups.setdefault(key, []).append((group, group_region))
    return known, groups


def _profile(person, groups, day):
    """The holder's profile for statistics (``common.identity.profile``) from what is known of them."""
    return identity.profile(birth_year=person["birth_year"], gender=person["gender"],
                            region_code=person["region_code"], employer_type=person.get("employer_type"),
                            groups=[group for group, _ in groups], on=day)


def _history(session, voucher_ids, status, at, detail=None):
    if voucher_ids:
        session.execute(insert(VoucherHistory), [{"voucher_id": voucher_id, "status": status, "at": at,
                                                  "detail": detail} for voucher_id in voucher_ids])


EXPIRY_BATCH = 1000


def expire_unclaimed(tx, day=None):
    """Unclaimed vouchers whose template version's last day has passed expire (自动失效), a
    batch at a time; returns how many did, so the caller sweeps until none are left."""
    day = day or today()
    # MATERIALIZED: the batch is chosen once, so LIMIT holds.
    expired = tx.session.execute(text("""
        WITH due AS MATERIALIZED (
            SELECT v.id FROM template_versions tv JOIN vouchers v
              ON v.template_id = tv.template_id AND v.template_version = tv.version AND v.status = 'issued'
            WHERE (tv.terms->>'valid_until')::date < :day
            LIMIT :batch FOR UPDATE OF v SKIP LOCKED)
        UPDATE vouchers v SET status = 'expired' FROM due
        WHERE v.id = due.id
        RETURNING v.id, v.template_id, v.template_version"""), {"day": day, "batch": EXPIRY_BATCH}).all()
    by_version = Counter((row.template_id, row.template_version) for row in expired)
    for (template_id, version), count in by_version.items():
        tx.emit(events.UNCLAIMED_VOUCHERS_EXPIRED, aggregate_id=template_id, payload={
            "template": tx.session.get(TemplateVersion, (template_id, version)).terms, "count": count,
            "expired_on": day.isoformat()})
    return len(expired)


def record_eligibility(tx, *, group, region_code, persons):
    """Record people as members of a target group (重点群体) in a region, as the bureau's
    own records say; a claim of a template offered to that group then succeeds."""
    keys = _save_persons(tx.session, persons)
    added = set(insert_rows(tx.session, PersonGroup.__table__, ("person_key", "group", "region_code"),
                            [(key, group, region_code) for key in dict.fromkeys(keys)],
                            "ON CONFLICT DO NOTHING RETURNING person_key").scalars())
    rows, seen = [], set()
    for key in keys:
        rows.append("added" if key in added and key not in seen else "unchanged")
        seen.add(key)
    return rows


def list_templates(tx, *, region_code, distribution=None, function=None, cursor=None, limit=50):
    """Templates of a region and the regions inside it, newest first, a page at a time
    (keyset pagination: a page stays stable while templates are added)."""
    query = select(Template).where(Template.region_code.like(regions.like_pattern(region_code)))
    if distribution:
        query = query.where(Template.distribution == distribution)
    if function:
        query = query.where(Template.function == function)
    return pagination.page(tx.session, query, order_by=(Template.created_at, Template.id), cursor=cursor,
                           limit=limit, key=lambda row: (row[0].created_at, row[0].id),
                           view=lambda row: template_view(row[0]))


def _voucher_view(voucher, region_code):
    """What a voucher looks like from outside: never its holder."""
    return {"voucher_id": str(voucher.id), "code": voucher.code, "display_code": codes.display(voucher.code),
            "template_id": str(voucher.template_id), "region_code": region_code, "status": voucher.status,
            "claimed": voucher.holder is not None,
            "claimed_at": voucher.claimed_at.isoformat() if voucher.claimed_at else None}


def _voucher_by_code(session, code):
    normalised = codes.normalise(code)
    if normalised is None:
        raise InvalidInput("invalid_code", "This is not a voucher code: check it for a typo.")
    voucher = session.scalar(select(Voucher).where(Voucher.code == normalised))
    if voucher is None:
        raise not_found("voucher", code)
    return voucher


def get_voucher(tx, *, code):
    """A voucher's status and everything that happened to it since it was issued."""
    voucher = _voucher_by_code(tx.session, code)
    history = [{"status": "issued", "at": voucher.issued_at.isoformat()}] + [
        {"status": entry.status, "at": entry.at.isoformat(), **({"detail": entry.detail} if entry.detail else {})}
        for entry in tx.session.scalars(select(VoucherHistory).where(VoucherHistory.voucher_id == voucher.id)
                                        .order_by(VoucherHistory.at, VoucherHistory.id))]
    if voucher.holder and not any(entry["status"] == "claimed" for entry in history):
        history.insert(1, {"status": "claimed", "at": voucher.claimed_at.isoformat()})  # born claimed (targeted)
    return {**_voucher_view(voucher, tx.session.get(Template, voucher.template_id).region_code),
            "template_version": voucher.template_version,
            "valid_until": voucher.valid_until.isoformat() if voucher.valid_until else None, "history": history}


def list_holder_vouchers(tx, *, person_key, region_code, cursor=None, limit=50):
    """A person's vouchers in a region, most recently claimed first, a page at a time."""
    query = select(Voucher, Template.region_code).join(Template).where(
        Voucher.holder == person_key, Template.region_code.like(regions.like_pattern(region_code)))
    return pagination.page(tx.session, query, order_by=(Voucher.claimed_at, Voucher.id), cursor=cursor,
                           limit=limit, key=lambda row: (row[0].claimed_at, row[0].id),
                           view=lambda row: _voucher_view(*row))


def trainee_by_voucher(tx, *, code, region_code, institution_id=None):
    """Who holds a scanned voucher (通过二维码获取学员信息), masked. An institution sees the
    holder only of a voucher it could take: one naming it, or open to every institution of
    its region, or one whose holder is on one of its rosters."""
    voucher = _voucher_by_code(tx.session, code)
    template = tx.session.get(Template, voucher.template_id)
    if voucher.holder is None:
        raise Conflict("not_claimed", "Nobody has claimed this voucher yet.")
    if institution_id:
        institution = _get(tx.session, Institution, institution_id, "institution")
        on_roster = tx.session.scalar(select(func.count()).select_from(RosterEntry).join(TrainingClass).where(
            RosterEntry.person_key == voucher.holder, TrainingClass.institution_id == institution.id))
        named = template.institution_ids and institution.id in template.institution_ids
        open_here = not template.institution_ids and regions.contains(template.region_code,
                                                                      institution.region_code)
        if not (on_roster or named or open_here):
            raise Forbidden("not_your_trainee", "This voucher cannot be used at your institution, and its holder "
                                                "is on none of your rosters.")
    elif not regions.contains(region_code, template.region_code):
        raise Forbidden("other_region", "This voucher belongs to a region outside yours.")
    person = tx.session.get(Person, voucher.holder)
    return {"voucher": _voucher_view(voucher, template.region_code) | {
                "occupation": template.occupation, "skill_level": template.skill_level},
            "trainee": {"name": person.name_masked, "id_number": person.id_masked, "gender": person.gender,
                        "age_band": age_band(person.birth_year), "region_code": person.region_code}}


# Each voucher's newest use in the batch, applied only over an older use or reversal, so that
# uses and reversals arriving in any order end the same; with its history, in one round trip.
_USES = text("""
    WITH used AS (
        UPDATE vouchers SET status = 'used', used_at = newest.used_at, use_seq = newest.use_seq
        FROM (SELECT DISTINCT ON (id) *
              FROM unnest(CAST(:ids AS uuid[]), CAST(:used_at AS timestamptz[]), CAST(:use_seq AS int[]),
                          CAST(:institution_ids AS uuid[]), CAST(:class_ids AS uuid[]))
                   AS given (id, used_at, use_seq, institution_id, class_id)
              ORDER BY id, use_seq DESC) AS newest
        WHERE vouchers.id = newest.id AND vouchers.status IN ('claimed', 'used') AND vouchers.use_seq < newest.use_seq
        RETURNING vouchers.id, newest.used_at, newest.institution_id, newest.class_id)
    INSERT INTO voucher_history (voucher_id, status, at, detail)
    SELECT id, 'used', used_at, jsonb_build_object('institution_id', institution_id, 'class_id', class_id)
    FROM used""")
# A reversal applies over its own use or an older one; arriving before its use, it leaves the
# use_seq behind, and the late use cannot pass it. The row is read locked, so that the history
# tells whether it was used when the reversal applied.
_USE_REVERSAL = text("""
    WITH reversed AS (
        UPDATE vouchers SET status = 'claimed', used_at = NULL, use_seq = :use_seq
        FROM (SELECT id, status FROM vouchers WHERE id = :voucher_id FOR UPDATE) AS before
        WHERE vouchers.id = before.id AND vouchers.status IN ('claimed', 'used') AND vouchers.use_seq <= :use_seq
        RETURNING before.status)
    INSERT INTO voucher_history (voucher_id, status, at, detail)
    SELECT CAST(:voucher_id AS uuid), 'use_reversed', :reversed_at,
           jsonb_build_object('reason', CAST(:reason AS text))
    FROM reversed WHERE status = 'used'""")


def record_uses(tx, event):
    """Redemption reports uses: the holder's view of each voucher follows. Only ever forward: a
    late use never undoes a settlement, a void, an expiry or a return already recorded."""
    uses = event.payload["vouchers"]
    if uses:
        tx.session.execute(_USES, {"ids": [str(u["voucher_id"]) for u in uses],
                                   "used_at": [u["used_at"] for u in uses], "use_seq": [u["use_seq"] for u in uses],
                                   "institution_ids": [str(u["institution_id"]) for u in uses],
                                   "class_ids": [str(u["class_id"]) for u in uses]})


def record_use_reversal(tx, event):
    """Redemption undid a use (撤销): the voucher is its holder's again, to use elsewhere."""
    p = event.payload
    tx.session.execute(_USE_REVERSAL, {"voucher_id": str(p["voucher_id"]), "use_seq": p["use_seq"],
                                       "reversed_at": p["reversed_at"], "reason": p["reason"]})


def record_void(tx, event):
    """Redemption voided claimed vouchers (作废): void for good, never after a use."""
    voucher_ids = [v["voucher_id"] for v in event.payload["vouchers"]]
    changed = tx.session.scalars(update(Voucher).where(Voucher.id.in_(voucher_ids), Voucher.status == "claimed")
                                 .values(status="void").returning(Voucher.id)).all()
    _history(tx.session, changed, "void", event.payload["vouchers"][0]["voided_at"] if changed else None,
             {"reason": event.payload["reason"]})


def record_settlement(tx, event):
    voucher_ids = [v["voucher_id"] for v in event.payload["vouchers"]]
    changed = tx.session.scalars(update(Voucher).where(Voucher.id.in_(voucher_ids), Voucher.status != "settled")
                                 .values(status="settled").returning(Voucher.id)).all()
    _history(tx.session, changed, "settled", event.occurred_at, {"claim_id": str(event.payload["claim_id"])})


def region_summary(tx, *, region_code):
    """Issuance's own counts for a region, to be compared with every other service's."""
    in_region = Template.region_code.like(regions.like_pattern(region_code))
    issued, claimed, used, settled, expired = tx.session.execute(
        select(func.count(), func.count(Voucher.holder),
               func.count().filter(Voucher.status.in_(("used", "settled"))),
               func.count().filter(Voucher.status == "settled"), func.count().filter(Voucher.status == "expired"))
        .select_from(Voucher).join(Template).where(in_region)).one()
    return {"issued": issued, "claimed": claimed, "used": used, "settled": settled, "expired": expired}


def record_return(tx, event):
    """The holder returned a claimed voucher (退券). A general one goes back to its pool under a
    new code (the old one must not work for its next holder), for someone else to claim, and
    its holder may claim another (换券); a targeted one, made for that person, ends. Never
    after a use."""
    changes = {"status": "returned"}
    if event.payload["template"]["distribution"] == Distribution.GENERAL:
        changes = {"status": "issued", "holder": None, "claimed_at": None, "valid_until": None,
                   "code": codes.new_code()}
    changed = tx.session.scalars(update(Voucher).where(Voucher.id == event.payload["voucher_id"],
                                                       Voucher.status == "claimed")
                                 .values(**changes).returning(Voucher.id)).all()
    _history(tx.session, changed, "returned", event.payload["returned_at"])


def record_expiry(tx, event):
    """Redemption expired claimed vouchers left unused past their last day (自动失效); never after a use."""
    days = {v["voucher_id"]: v["expired_on"] for v in event.payload["vouchers"]}
    changed = tx.session.scalars(update(Voucher).where(Voucher.id.in_(list(days)), Voucher.status == "claimed")
                                 .values(status="expired").returning(Voucher.id)).all()
    for day in sorted({days[voucher_id] for voucher_id in changed}):
        _history(tx.session, [v for v in changed if days[v] == day], "expired", event.occurred_at,
                 {"expired_on": day.isoformat()})
