"""Attendance in depth (issue #6), through the gateway, over the real PostgreSQL and RabbitMQ:
check-in by location, by the rotating code, by card and online; schedules that change; the
anomalies managers confirm or dismiss; check-in coverage. The geofence, the time windows and
each anomaly rule's thresholds are tested as plain Python in services/attendance/tests."""
import datetime
import uuid

import pytest

from attendance.domain import rotating_code
from tests import lifecycle
from tests.platform import eventually, new_region

import launcher  # scripts/launcher.py, put on sys.path by conftest

SITE = (28.1960, 112.9823)  # lifecycle's training site, radius 150 m
METRE = 1 / 111_195  # of latitude, in degrees


def refused(response, status, code):
    assert (response.status_code, response.json().get("error")) == (status, code), response.text
    return response.json()


@pytest.fixture
def p(gateway, clients):
    """A class under way with three trainees, each of whose targeted voucher is used for it."""
    province = lifecycle.register(gateway, clients, new_region(), roster_size=3)
    lifecycle.create_templates(gateway, province, pool_size=1)
    lifecycle.issue_targeted(gateway, province)
    for worker in province.workers:
        lifecycle.use_targeted(gateway, province, worker)
    return province


def located(gateway, p, worker, metres_north=30, accuracy_m=15, device=None, class_id=None):
    return _after_replication(lambda: gateway.call("POST", "/v1/checkins", p.channel, {
        "class_id": class_id or p.class_id, "id_number": worker, "latitude": SITE[0] + metres_north * METRE,
        "longitude": SITE[1], "accuracy_m": accuracy_m, **({"device": device} if device else {})}))


def _after_replication(send):
    """Send until attendance has heard of what the request names (events are asynchronous)."""
    def attempt():
        response = send()
        assert response.json().get("error") not in ("class_not_found", "not_on_roster", "no_usable_voucher"), \
            response.text
        return response
    return eventually(attempt)


def test_a_trainee_at_the_site_checks_in_once_per_session(gateway, p):
    first = located(gateway, p, p.workers[0])
    assert first.status_code == 201, first.text
    assert (first.json()["method"], first.json()["repeated"]) == ("location", False)
    assert first.json()["distance_m"] == pytest.approx(30, abs=1)
    again = located(gateway, p, p.workers[0], metres_north=10)
    assert (again.status_code, again.json()["repeated"]) == (201, True)
    attendance = gateway.ok("GET", f"/v1/classes/{p.class_id}/attendance", p.institution)
    assert [s["present"] for s in attendance["sessions"]] == [1]


def test_a_trainee_away_from_the_site_is_told_how_far_and_to_use_the_code(gateway, p):
    far = refused(located(gateway, p, p.workers[0], metres_north=400), 422, "outside_site")
    assert far["details"]["distance_m"] == pytest.approx(400, abs=2) and "QR" in far["message"]
    blurred = refused(located(gateway, p, p.workers[0], metres_north=30, accuracy_m=500), 422, "accuracy_too_poor")
    assert "QR" in blurred["message"]


def test_only_a_trainee_on_the_roster_whose_voucher_is_used_for_the_class_checks_in(gateway, clients, p):
    from tests.platform import id_number
    refused(gateway.call("POST", "/v1/checkins", p.channel, {
        "class_id": p.class_id, "id_number": id_number(), "latitude": SITE[0], "longitude": SITE[1],
        "accuracy_m": 10}), 404, "not_on_roster")
    q = lifecycle.register(gateway, clients, new_region(), roster_size=1)  # on the roster, no voucher used
    response = eventually(lambda: _replicated(gateway.call("POST", "/v1/checkins", q.channel, {
        "class_id": q.class_id, "id_number": q.workers[0], "latitude": SITE[0], "longitude": SITE[1],
        "accuracy_m": 10})))
    refused(response, 422, "no_usable_voucher")


def _replicated(response):
    assert response.json().get("error") not in ("class_not_found", "not_on_roster"), response.text
    return response


def test_a_changed_schedule_moves_the_check_in_window(gateway, p):
    now = datetime.datetime.now(datetime.timezone.utc)
    tomorrow = [{"starts_at": (now + datetime.timedelta(days=1)).isoformat(),
                 "ends_at": (now + datetime.timedelta(days=1, hours=3)).isoformat()}]
    changed = gateway.ok("PUT", f"/v1/classes/{p.class_id}/sessions", p.institution, {"sessions": tomorrow})
    scheduled(gateway, p, changed)
    eventually(lambda: refused(gateway.call("POST", "/v1/checkins", p.channel, {
        "class_id": p.class_id, "id_number": p.workers[0], "latitude": SITE[0], "longitude": SITE[1],
        "accuracy_m": 10}), 422, "too_early"))
    started = [{"session_id": changed["sessions"][0]["session_id"],
                "starts_at": (now - datetime.timedelta(minutes=40)).isoformat(),
                "ends_at": (now + datetime.timedelta(hours=2)).isoformat()}]
    scheduled(gateway, p, gateway.ok("PUT", f"/v1/classes/{p.class_id}/sessions", p.institution,
                                     {"sessions": started}))
    late = eventually(lambda: refused(gateway.call("POST", "/v1/checkins", p.channel, {
        "class_id": p.class_id, "id_number": p.workers[0], "latitude": SITE[0], "longitude": SITE[1],
        "accuracy_m": 10}), 422, "too_late"))
    assert "30 minutes" in late["message"]


def scheduled(gateway, p, changed):
    """Wait until attendance follows the schedule issuance answered with (events are asynchronous):
    a check-in tried before would be one to the old session."""
    def follows():
        sessions = gateway.ok("GET", f"/v1/classes/{p.class_id}/attendance", p.institution)["sessions"]
        assert [(s["session_id"], s["starts_at"][:19]) for s in sessions] == [
            (s["session_id"], s["starts_at"][:19]) for s in changed["sessions"]], sessions
    eventually(follows)


def test_the_rotating_code_checks_a_trainee_in_and_an_old_or_foreign_code_does_not(gateway, p, running_platform):
    shown = gateway.ok("GET", f"/v1/classes/{p.class_id}/checkin-code", p.institution)
    assert shown["code"].startswith("VTC1.") and shown["rotates_every_s"] == 20
    used = _after_replication(lambda: gateway.call("POST", "/v1/checkins/code", p.channel, {
        "class_id": p.class_id, "id_number": p.workers[0], "code": shown["code"]}))
    assert (used.status_code, used.json()["method"]) == (201, "qr"), used.text

    key = rotating_code.code_key(launcher.environment(running_platform, "attendance")["PII_ENCRYPTION_KEY"])
    minute_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=61)
    stale, _ = rotating_code.make(key, shown["session_id"], minute_ago)
    refused(gateway.call("POST", "/v1/checkins/code", p.channel, {
        "class_id": p.class_id, "id_number": p.workers[1], "code": stale}), 422, "checkin_code_expired")
    forged = shown["code"][:-3] + ("AAA" if not shown["code"].endswith("AAA") else "BBB")
    refused(gateway.call("POST", "/v1/checkins/code", p.channel, {
        "class_id": p.class_id, "id_number": p.workers[1], "code": forged}), 422, "checkin_code_invalid")
    elsewhere, _ = rotating_code.make(key, "00000000-0000-0000-0000-000000000001", datetime.datetime.now(
        datetime.timezone.utc))
    refused(gateway.call("POST", "/v1/checkins/code", p.channel, {
        "class_id": p.class_id, "id_number": p.workers[1], "code": elsewhere}), 422, "checkin_code_other_session")
    png = gateway.call("GET", f"/v1/classes/{p.class_id}/checkin-code", p.institution, params={"format": "png"})
    assert png.headers["Content-Type"] == "image/png"


def test_an_institution_scanner_reads_a_trainees_card_and_only_for_its_own_classes(gateway, clients, p):
    scanner = clients("device", p.region, p.institution_id)
    response = _after_replication(lambda: gateway.call("POST", "/v1/checkins/card", scanner, {
        "class_id": p.class_id, "id_number": p.workers[0]}))
    assert (response.status_code, response.json()["method"]) == (201, "card")
    rival = lifecycle.register(gateway, clients, p.region, roster_size=1)
    refused(gateway.call("POST", "/v1/checkins/card", rival.institution, {
        "class_id": p.class_id, "id_number": p.workers[1]}), 403, "other_institution")


def test_an_online_class_is_checked_in_to_by_the_verified_request_and_not_by_location(gateway, clients):
    q = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, q, pool_size=1)
    now = datetime.datetime.now(datetime.timezone.utc)
    online = gateway.ok("POST", "/v1/classes", q.institution, {
        "site_id": q.site["site_id"], "name": "电工四级 线上班", "occupation": lifecycle.OCCUPATION,
        "skill_level": lifecycle.LEVEL, "mode": "online", "completion_threshold": 1.0, "roster": q.workers,
        "sessions": [{"starts_at": now.isoformat(), "ends_at": (now + datetime.timedelta(hours=1)).isoformat()}]
    })["class_id"]
    code = lifecycle.claim(gateway, q, q.workers[0])["code"]
    key = {"Idempotency-Key": str(uuid.uuid4())}  # until redemption has heard of the class and the claim
    eventually(lambda: _created(gateway.call("POST", "/v1/online-redemptions", q.channel, {
        "code": code, "class_id": online, "id_number": q.workers[0]}, headers=key)))

    checked = _after_replication(lambda: gateway.call("POST", "/v1/checkins/online", q.channel, {
        "class_id": online, "id_number": q.workers[0]}))
    assert (checked.status_code, checked.json()["method"]) == (201, "online"), checked.text
    refused(gateway.call("POST", "/v1/checkins", q.channel, {
        "class_id": online, "id_number": q.workers[0], "latitude": SITE[0], "longitude": SITE[1],
        "accuracy_m": 10}), 422, "online_class")


def _created(response):
    assert response.status_code == 201, response.text


def test_the_trainee_sees_their_attendance_and_completes_at_the_threshold(gateway, p):
    assert located(gateway, p, p.workers[0]).json()["completed"] is True  # one session, threshold 100 %
    mine = gateway.ok("POST", "/v1/attendance/query", p.channel, {"class_id": p.class_id, "id_number": p.workers[0]})
    assert (mine["scheduled"], mine["attended"], mine["rate"], mine["completed"]) == (1, 1, 1.0, True)


def test_a_trainee_rates_a_completed_class_once_and_statistics_counts_the_evaluation(gateway, rpc, p):
    def rate(worker, rating=5, aspects=("teachers", "content")):
        return gateway.call("POST", "/v1/evaluations", p.channel, {"class_id": p.class_id, "id_number": worker,
                                                                   "rating": rating, "aspects": list(aspects)})
    refused(rate(p.workers[0]), 422, "not_completed")  # not yet: no check-in
    located(gateway, p, p.workers[0])
    first = rate(p.workers[0])
    assert first.status_code == 201, first.text
    assert (first.json()["rating"], first.json()["aspects"], first.json()["repeated"]) == (
        5, ["content", "teachers"], False)
    again = rate(p.workers[0], rating=1).json()
    assert (again["rating"], again["repeated"]) == (5, True)  # the first rating stands
    refused(rate(p.workers[1], aspects=("gossip",)), 400, "validation_failed")
    year, quarter = datetime.date.today().year, (datetime.date.today().month - 1) // 3 + 1

    def counted():
        total = rpc.statistics.quarterly_indicators(region_code=p.region, year=year, quarter=quarter)["total"]
        assert total["evaluation_completion"]["numerator"] == 1
        return total["evaluation_completion"]
    assert (eventually(counted)["denominator"], counted()["value"]) == (1, 1.0)


def anomalies_of(gateway, p, kind):
    listed = gateway.ok("GET", "/v1/attendance-anomalies", p.manager, params={"kind": kind})["items"]
    return [a for a in listed if a["class_id"] == p.class_id]


def test_one_phone_checking_in_several_trainees_is_an_anomaly_a_manager_decides_once(gateway, clients, p):
    for worker in p.workers[:2]:
        assert located(gateway, p, worker, device="phone-5f2a9c11").status_code == 201
    [anomaly] = eventually(lambda: _some(anomalies_of(gateway, p, "shared_device")))
    assert (anomaly["status"], anomaly["evidence"]["trainees"]) == ("open", 2)
    assert not any(worker in str(anomaly) for worker in p.workers)

    neighbour = clients("manager", p.region[:4] + ("01" if p.region[4:] != "01" else "02"))
    refused(gateway.call("POST", f"/v1/attendance-anomalies/{anomaly['anomaly_id']}/decision", neighbour,
                         {"decision": "dismissed", "reason": "not ours"}), 403, "other_region")
    decided = gateway.ok("POST", f"/v1/attendance-anomalies/{anomaly['anomaly_id']}/decision", p.manager,
                         {"decision": "confirmed", "reason": "班主任代签，已约谈机构"})
    assert (decided["status"], decided["reason"]) == ("confirmed", "班主任代签，已约谈机构")
    refused(gateway.call("POST", f"/v1/attendance-anomalies/{anomaly['anomaly_id']}/decision", p.manager,
                         {"decision": "dismissed", "reason": "again"}), 409, "already_decided")
    assert anomalies_of(gateway, p, "shared_device")[0]["status"] == "confirmed"


def test_each_trainee_on_a_phone_of_their_own_is_no_anomaly(gateway, p):
    for index, worker in enumerate(p.workers):
        assert located(gateway, p, worker, device=f"phone-{index:08d}").status_code == 201
    assert anomalies_of(gateway, p, "shared_device") == []


def test_three_trainees_at_one_spot_far_from_the_site_are_an_anomaly(gateway, p):
    for worker in p.workers:  # 200 m away, accepted only because each claims 60 m of inaccuracy
        assert located(gateway, p, worker, metres_north=200, accuracy_m=60).status_code == 201
    [anomaly] = eventually(lambda: _some(anomalies_of(gateway, p, "same_spot_far_away")))
    assert anomaly["evidence"]["trainees"] == 3


def test_check_ins_tried_by_several_trainees_far_from_any_session_are_an_anomaly(gateway, p):
    now = datetime.datetime.now(datetime.timezone.utc)
    scheduled(gateway, p, gateway.ok("PUT", f"/v1/classes/{p.class_id}/sessions", p.institution, {"sessions": [
        {"starts_at": (now + datetime.timedelta(days=2)).isoformat(),
         "ends_at": (now + datetime.timedelta(days=2, hours=3)).isoformat()}]}))
    for worker in p.workers:
        eventually(lambda: refused(gateway.call("POST", "/v1/checkins", p.channel, {
            "class_id": p.class_id, "id_number": worker, "latitude": SITE[0], "longitude": SITE[1],
            "accuracy_m": 10}), 422, "too_early"))
    [anomaly] = eventually(lambda: _some(anomalies_of(gateway, p, "outside_schedule")))
    assert anomaly["evidence"]["trainees"] == 3


def test_a_session_that_ended_without_check_ins_is_flagged_by_the_sweep(gateway, clients):
    q = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    now = datetime.datetime.now(datetime.timezone.utc)
    gateway.ok("PUT", f"/v1/classes/{q.class_id}/sessions", q.institution, {"sessions": [
        {"starts_at": (now - datetime.timedelta(hours=3)).isoformat(),
         "ends_at": (now - datetime.timedelta(hours=1)).isoformat()}]})
    [anomaly] = eventually(lambda: _some(anomalies_of(gateway, q, "no_checkins")), timeout=30)
    assert anomaly["session_id"] and anomaly["evidence"]["ends_at"]


def test_checkin_coverage_counts_institutions_whose_trainees_check_in(gateway, clients, p):
    lifecycle.register(gateway, clients, p.region, roster_size=1)  # a second institution, nobody checks in
    located(gateway, p, p.workers[0])
    coverage = eventually(lambda: _coverage(gateway, p, institutions=2))
    assert (coverage["using_checkin"], coverage["coverage"]) == (1, 0.5)


def _coverage(gateway, p, institutions):
    coverage = gateway.ok("GET", f"/v1/checkin-coverage/{p.region}", p.manager)
    assert coverage["institutions"] == institutions, coverage
    return coverage


def _some(items):
    assert items
    return items
