"""Delivering the same event twice to any handler changes nothing the second time
(issue #2). Each event goes straight into one handler's queue, twice, with the same
event_id; the observable effect after the first delivery must equal the effect after
the second, and must differ from the state before (the first delivery did something)."""
import datetime
import uuid

import pytest
from kombu import Connection
from sqlalchemy import create_engine, text

from common import codes
from common.events import Event, queue_names, subscriptions_of
from common.topology import service_classes
from tests import lifecycle
from tests.platform import new_region

NOW = datetime.datetime.now(datetime.timezone.utc).isoformat()
YEAR = datetime.date.today().year


def terms(region, template_id=None):
    return {"template_id": template_id or str(uuid.uuid4()), "region_code": region, "function": "face_value",
            "distribution": "general", "face_value_fen": 50000, "subsidy_standard_fen": None,
            "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL, "institution_ids": None,
            "funding_source": "就业补助资金", "valid_from": f"{YEAR}-01-01", "valid_until": f"{YEAR}-12-31"}


def claimed(region, template=None):
    return {"template": template or terms(region), "vouchers": [{
        "voucher_id": str(uuid.uuid4()), "code": codes.new_code(), "person_key": uuid.uuid4().hex * 2,
        "claimed_at": NOW}]}


def used(voucher_id, code, template, use_seq=1, institution_id=None, used_at=NOW):
    """One use, as ``vouchers_used`` carries it."""
    return {"voucher_id": voucher_id, "code": code, "person_key": uuid.uuid4().hex * 2,
            "institution_id": institution_id or str(uuid.uuid4()), "class_id": str(uuid.uuid4()), "device_id": None,
            "used_at": used_at, "use_seq": use_seq, "template": template}


def vouchers_used(*uses):
    return {"vouchers": list(uses)}


def use_reversed(use, reversed_at=NOW):
    """The reversal of ``use`` (a ``used`` voucher)."""
    return {**{key: use[key] for key in ("voucher_id", "code", "person_key", "institution_id", "class_id", "used_at",
                                         "use_seq", "template")},
            "reversed_at": reversed_at, "reason": "mistaken_scan"}


def settled(voucher_id, code, template):
    return {"claim_id": str(uuid.uuid4()), "institution_id": str(uuid.uuid4()), "vouchers": [{
        "voucher_id": voucher_id, "code": code, "template_id": template["template_id"],
        "region_code": template["region_code"], "amount_fen": 50000}]}


def voided(voucher_id, code, template):
    return {"reason": "ineligible", "vouchers": [{"voucher_id": voucher_id, "code": code, "voided_at": NOW,
                                                  "template": template}]}


def returned(voucher_id, code, template):
    return {"voucher_id": voucher_id, "code": code, "returned_at": NOW, "template": template}


def expired(voucher_id, code, template):
    return {"vouchers": [{"voucher_id": voucher_id, "code": code, "expired_on": datetime.date.today().isoformat(),
                          "template": template}]}


def class_registered(region):
    class_id = str(uuid.uuid4())
    return {"class_id": class_id, "institution_id": str(uuid.uuid4()), "region_code": region,
            "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL, "mode": "offline",
            "completion_threshold": 0.8,
            "site": {"site_id": str(uuid.uuid4()), "name": "s", "latitude": 28.2, "longitude": 112.9, "radius_m": 100},
            "sessions": [{"session_id": str(uuid.uuid4()), "starts_at": NOW, "ends_at": NOW}],
            "roster": [uuid.uuid4().hex * 2, uuid.uuid4().hex * 2]}


def institution_projects(region=None):
    """The part of institution_registered (given a region) or institution_projects_changed that
    redemption keeps: the projects the institution may train for."""
    project_id = str(uuid.uuid4())
    payload = {"institution_id": str(uuid.uuid4()), "project_ids": [project_id], "projects": [
        {"project_id": project_id, "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL}]}
    if region:
        payload.update(region_code=region, name="某职业培训学校", sites=[], payout_account_masked="****7890")
    return payload


class World:
    """What the cases need: a fresh region, the platform's RPC, SQL on a service's database,
    and a way to put an event into one handler's queue."""

    def __init__(self, gateway, clients, rpc, database_url, amqp_uri, quiet):
        self.gateway, self.clients, self.rpc, self.quiet = gateway, clients, rpc, quiet
        self.database_url, self.amqp_uri = database_url, amqp_uri
        self.region = new_region()

    def sql(self, service, query, **params):
        engine = create_engine(self.database_url(service))
        with engine.connect() as connection:
            value = connection.execute(text(query), params).scalar()
        engine.dispose()
        return value

    def deliver(self, service, method, source, event_type, payload, event=None, wait=True):
        """Put the event into the handler's queue and, unless told not to, wait until it is handled."""
        event = event or Event(type=event_type, source=source, aggregate_id=str(uuid.uuid4()), payload=payload)
        queue = queue_names(source, event_type, service, method)[0]
        with Connection(self.amqp_uri) as connection:
            connection.Producer().publish(event.to_message(), exchange="", routing_key=queue, serializer="json",
                                          delivery_mode=2)
        if wait:
            self.quiet()
        return event

    def real_claimed_voucher(self):
        """A voucher claimed through the gateway, for handlers that act on issuance's own vouchers."""
        p = lifecycle.register(self.gateway, self.clients, self.region, roster_size=1)
        lifecycle.create_templates(self.gateway, p, pool_size=2)
        voucher = lifecycle.claim(self.gateway, p, p.workers[0])
        self.quiet()
        template = terms(self.region, voucher["template_id"])
        return voucher["voucher_id"], voucher["code"], template


def stats(world, key):
    return lambda: world.rpc.statistics.region_summary(region_code=world.region)[key]


# (service, handler) -> arrange(world) returning (payload, observe)
def _issuance_used(w):
    voucher_id, code, template = w.real_claimed_voucher()
    return vouchers_used(used(voucher_id, code, template)), lambda: w.rpc.issuance.get_voucher(code=code)["status"]


def _issuance_use_reversed(w):
    voucher_id, code, template = w.real_claimed_voucher()
    use = used(voucher_id, code, template)
    w.deliver("issuance", "handle_vouchers_used", "redemption", "vouchers_used", vouchers_used(use))
    return use_reversed(use), lambda: w.sql(
        "issuance", "SELECT v.status || ' ' || v.use_seq || ' ' || count(h.id) FROM vouchers v "
                    "LEFT JOIN voucher_history h ON h.voucher_id = v.id AND h.status = 'use_reversed' "
                    "WHERE v.id = :v GROUP BY v.id", v=voucher_id)


def _issuance_settled(w):
    voucher_id, code, template = w.real_claimed_voucher()
    return settled(voucher_id, code, template), lambda: w.rpc.issuance.get_voucher(code=code)["status"]


def _issuance_voided(w):
    voucher_id, code, template = w.real_claimed_voucher()
    return voided(voucher_id, code, template), lambda: w.rpc.issuance.get_voucher(code=code)["status"]


def _issuance_returned(w):
    voucher_id, code, template = w.real_claimed_voucher()
    # back in the pool under a new code, so look it up by id
    return returned(voucher_id, code, template), lambda: w.sql(
        "issuance", "SELECT status || ' ' || code FROM vouchers WHERE id = :v", v=voucher_id)


def _issuance_expired(w):
    voucher_id, code, template = w.real_claimed_voucher()
    return expired(voucher_id, code, template), lambda: w.rpc.issuance.get_voucher(code=code)["status"]


def _redemption_claimed(w):
    return claimed(w.region), lambda: w.rpc.redemption.region_summary(region_code=w.region)


def _redemption_class(w):
    payload = class_registered(w.region)
    return payload, lambda: w.sql("redemption", "SELECT count(*) FROM classes WHERE class_id = :c",
                                  c=payload["class_id"])


def _allowed_projects(w, payload):
    return lambda: w.sql("redemption", "SELECT projects::text || ' ' || sequence FROM institution_projects "
                                       "WHERE institution_id = :i", i=payload["institution_id"])


def _redemption_institution(w):
    payload = institution_projects(w.region)
    return payload, _allowed_projects(w, payload)


def _redemption_institution_projects(w):
    payload = institution_projects()
    return payload, _allowed_projects(w, payload)


def _redemption_settled(w):
    setup = claimed(w.region)
    w.deliver("redemption", "handle_vouchers_claimed", "issuance", "vouchers_claimed", setup)
    voucher = setup["vouchers"][0]
    return (settled(voucher["voucher_id"], voucher["code"], setup["template"]),
            lambda: w.rpc.redemption.region_summary(region_code=w.region))


def _attendance_class(w):
    payload = class_registered(w.region)
    return payload, lambda: (
        w.sql("attendance", "SELECT count(*) FROM sessions WHERE class_id = :c", c=payload["class_id"]),
        w.sql("attendance", "SELECT count(*) FROM enrolments WHERE class_id = :c", c=payload["class_id"]))


def _attendance_roster(w):
    setup = class_registered(w.region)
    w.deliver("attendance", "handle_class_registered", "issuance", "class_registered", setup)
    payload = {"class_id": setup["class_id"], "roster": [uuid.uuid4().hex * 2]}
    return payload, lambda: w.sql("attendance", "SELECT count(*) FROM enrolments WHERE class_id = :c",
                                  c=setup["class_id"])


def _attendance_schedule_changed(w):
    setup = class_registered(w.region)
    # Registered as an older snapshot (sequence 0) than the change this case delivers (sequence 1).
    w.deliver("attendance", "handle_class_registered", "issuance", "class_registered", setup, event=Event(
        type="class_registered", source="issuance", aggregate_id=setup["class_id"], payload=setup, sequence=0))
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).isoformat()
    payload = {**{k: v for k, v in setup.items() if k != "roster"},
               "sessions": [{"session_id": str(uuid.uuid4()), "starts_at": later, "ends_at": later}]}
    return payload, lambda: w.sql("attendance", "SELECT string_agg(CAST(session_id AS text), ',') FROM sessions "
                                                "WHERE class_id = :c", c=setup["class_id"])


def _attendance_used(w):
    use = used(str(uuid.uuid4()), codes.new_code(), terms(w.region))
    return vouchers_used(use), lambda: w.sql(
        "attendance", "SELECT count(*) FROM voucher_uses WHERE class_id = :c AND active", c=use["class_id"])


def _attendance_use_reversed(w):
    use = used(str(uuid.uuid4()), codes.new_code(), terms(w.region))
    w.deliver("attendance", "handle_vouchers_used", "redemption", "vouchers_used", vouchers_used(use))
    return use_reversed(use), lambda: w.sql(
        "attendance", "SELECT count(*) FROM voucher_uses WHERE class_id = :c AND active", c=use["class_id"])


def _settlement_used(w):
    return (vouchers_used(used(str(uuid.uuid4()), codes.new_code(), terms(w.region))),
            lambda: w.rpc.settlement.region_summary(region_code=w.region))


def _settlement_use_reversed(w):
    use = used(str(uuid.uuid4()), codes.new_code(), terms(w.region))
    w.deliver("settlement", "handle_vouchers_used", "redemption", "vouchers_used", vouchers_used(use))
    return use_reversed(use), lambda: (
        w.rpc.settlement.region_summary(region_code=w.region),
        w.sql("settlement", "SELECT status || ' ' || use_seq FROM used_vouchers WHERE voucher_id = :v",
              v=use["voucher_id"]))


def _settlement_completed(w):
    completion = {"class_id": str(uuid.uuid4()), "institution_id": str(uuid.uuid4()), "region_code": w.region,
                  "person_key": uuid.uuid4().hex * 2, "attendance_rate": 1.0, "completed_at": NOW}
    return {"completions": [completion]}, lambda: w.sql(
        "settlement", "SELECT count(*) FROM completions WHERE class_id = :c", c=completion["class_id"])


def _stats_issued(w):
    return {"batch_id": str(uuid.uuid4()), "template": terms(w.region), "count": 7}, stats(w, "issued")


def _stats_claimed(w):
    return claimed(w.region), stats(w, "claimed")


def _stats_used(w):
    template = terms(w.region)
    return vouchers_used(*(used(str(uuid.uuid4()), codes.new_code(), template) for _ in range(2))), stats(w, "used")


def _stats_use_reversed(w):
    use = used(str(uuid.uuid4()), codes.new_code(), terms(w.region))
    w.deliver("statistics", "handle_vouchers_used", "redemption", "vouchers_used", vouchers_used(use))
    return use_reversed(use), stats(w, "used")


def _stats_settled(w):
    return settled(str(uuid.uuid4()), codes.new_code(), terms(w.region)), stats(w, "settled_fen")


def _stats_voided(w):
    return voided(str(uuid.uuid4()), codes.new_code(), terms(w.region)), stats(w, "voided")


def _stats_returned(w):
    def observe():  # a return takes the voucher out of the claimed ones
        summary = w.rpc.statistics.region_summary(region_code=w.region)
        return summary["claimed"], summary["returned"]
    return returned(str(uuid.uuid4()), codes.new_code(), terms(w.region)), observe


def _stats_expired(w):
    return expired(str(uuid.uuid4()), codes.new_code(), terms(w.region)), stats(w, "expired")


def _stats_catalogue(kind, payload_of):
    def arrange(w):
        entry_id = str(uuid.uuid4())
        return payload_of(entry_id, w.region), lambda: w.sql(
            "statistics", "SELECT count(*) FROM catalogue WHERE kind = :k AND entry_id = :e", k=kind, e=entry_id)
    return arrange


_stats_institution = _stats_catalogue("institution", lambda entry_id, region: {
    "institution_id": entry_id, "region_code": region, "name": "培训学校", "sites": [], "project_ids": [],
    "projects": [], "payout_account_masked": None})
_stats_project = _stats_catalogue("project", lambda entry_id, region: {
    "project_id": entry_id, "region_code": region, "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL,
    "name": "电工", "subsidy_standard_fen": 100000})
_stats_template = _stats_catalogue("template", lambda entry_id, region: {
    "template": terms(region, entry_id), "quantity": 10})


def _activity(w, kind):
    return lambda: w.sql("statistics", "SELECT coalesce(sum(n), 0) FROM activity_counts "
                                       "WHERE region_code = :r AND kind = :k", r=w.region, k=kind)


def _stats_checkins(w):
    return {"checkins": [{"checkin_id": 1, "class_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()),
                          "institution_id": str(uuid.uuid4()), "region_code": w.region,
                          "person_key": uuid.uuid4().hex * 2, "method": "qr", "checked_in_at": NOW}]}, \
        _activity(w, "checkins")


def _stats_completed(w):
    completion, _ = _settlement_completed(w)
    return completion, _activity(w, "completions")


def _stats_evaluations(w):
    return {"evaluations": [{"class_id": str(uuid.uuid4()), "institution_id": str(uuid.uuid4()),
                             "region_code": w.region, "person_key": uuid.uuid4().hex * 2, "rating": 4,
                             "evaluated_at": NOW}]}, _activity(w, "evaluations")


def _stats_anomalies(w):
    return {"anomalies": [{"anomaly_id": str(uuid.uuid4()), "kind": "shared_device", "class_id": str(uuid.uuid4()),
                           "institution_id": str(uuid.uuid4()), "region_code": w.region, "detected_at": NOW}]}, \
        _activity(w, "anomaly:shared_device")


CASES = {
    ("issuance", "handle_vouchers_voided"): _issuance_voided,
    ("issuance", "handle_vouchers_used"): _issuance_used,
    ("issuance", "handle_voucher_use_reversed"): _issuance_use_reversed,
    ("issuance", "handle_vouchers_settled"): _issuance_settled,
    ("issuance", "handle_voucher_returned"): _issuance_returned,
    ("issuance", "handle_vouchers_expired"): _issuance_expired,
    ("redemption", "handle_vouchers_claimed"): _redemption_claimed,
    ("redemption", "handle_class_registered"): _redemption_class,
    ("redemption", "handle_vouchers_settled"): _redemption_settled,
    ("redemption", "handle_institution_registered"): _redemption_institution,
    ("redemption", "handle_institution_projects_changed"): _redemption_institution_projects,
    ("attendance", "handle_class_registered"): _attendance_class,
    ("attendance", "handle_roster_extended"): _attendance_roster,
    ("attendance", "handle_class_schedule_changed"): _attendance_schedule_changed,
    ("attendance", "handle_vouchers_used"): _attendance_used,
    ("attendance", "handle_voucher_use_reversed"): _attendance_use_reversed,
    ("settlement", "handle_vouchers_used"): _settlement_used,
    ("settlement", "handle_voucher_use_reversed"): _settlement_use_reversed,
    ("settlement", "handle_trainings_completed"): _settlement_completed,
    ("statistics", "handle_vouchers_issued"): _stats_issued,
    ("statistics", "handle_vouchers_claimed"): _stats_claimed,
    ("statistics", "handle_vouchers_used"): _stats_used,
    ("statistics", "handle_voucher_use_reversed"): _stats_use_reversed,
    ("statistics", "handle_vouchers_settled"): _stats_settled,
    ("statistics", "handle_vouchers_voided"): _stats_voided,
    ("statistics", "handle_voucher_returned"): _stats_returned,
    ("statistics", "handle_vouchers_expired"): _stats_expired,
    ("statistics", "handle_institution_registered"): _stats_institution,
    ("statistics", "handle_project_registered"): _stats_project,
    ("statistics", "handle_template_created"): _stats_template,
    ("statistics", "handle_template_updated"): _stats_template,
    ("statistics", "handle_checkins_recorded"): _stats_checkins,
    ("statistics", "handle_trainings_completed"): _stats_completed,
    ("statistics", "handle_evaluations_submitted"): _stats_evaluations,
    ("statistics", "handle_anomalies_detected"): _stats_anomalies,
}

SUBSCRIPTIONS = [(cls.name, method, source, event_type)
                 for cls in service_classes() for source, event_type, method in subscriptions_of(cls)]


def test_every_handler_has_a_duplicate_delivery_case():
    assert {(service, method) for service, method, _, _ in SUBSCRIPTIONS} == set(CASES)


@pytest.mark.parametrize("service,method,source,event_type", SUBSCRIPTIONS,
                         ids=[f"{s}.{m}" for s, m, _, _ in SUBSCRIPTIONS])
def test_a_redelivered_event_changes_nothing(service, method, source, event_type, gateway, clients, rpc,
                                             database_url, amqp_uri, quiet):
    world = World(gateway, clients, rpc, database_url, amqp_uri, quiet)
    payload, observe = CASES[(service, method)](world)
    before = observe()
    event = world.deliver(service, method, source, event_type, payload)
    after_first = observe()
    world.deliver(service, method, source, event_type, payload, event=event)
    after_second = observe()
    assert after_first != before, "the first delivery should have had an effect"
    assert after_second == after_first
    assert world.sql(service, "SELECT count(*) FROM inbox WHERE event_id = :e", e=event.event_id) == 1
