"""Anomalies the district bureau is shown (异常签到): silent sessions, shared phones, impossible journeys,
one spoofed position shared outside the site, and training outside the registered schedule."""
import datetime
import json
import math
import re


from attendance.domain.anomalies import (
    KINDS, MAX_TRAVEL_KMH, OUTSIDE_TRAINEES, OUTSIDE_WINDOW, SAME_SPOT_M, SAME_SPOT_TRAINEES, SHARED_DEVICE_TRAINEES,
    SILENCE_GRACE, TRAVEL_NOISE_M, Anomaly, Attempt, Checkin, Session, impossible_travel, outside_schedule,
    same_spot_far_away, shared_devices, silent_sessions)

SITE_LAT, SITE_LON = 28.2282, 112.9388  # Changsha
EARTH_RADIUS_M = 6_371_008.8
CLASS = "class-1"
KEYS = [f"{i:x}" * 64 for i in range(1, 10)]  # 64 hex characters each, distinct in their first 8


def _at(hour, minute=0, second=0, day=1):
    return datetime.datetime(2021, 6, day, hour, minute, second, tzinfo=datetime.timezone.utc)


def _north(metres, lat=SITE_LAT):
    return lat + math.degrees(metres / EARTH_RADIUS_M)


def _east(metres, lat=SITE_LAT, lon=SITE_LON):
    return lon + math.degrees(metres / (EARTH_RADIUS_M * math.cos(math.radians(lat))))


def _session(session_id="s1", starts=_at(9), ends=_at(12), radius_m=200, class_id=CLASS):
    return Session(session_id, class_id, starts, ends, SITE_LAT, SITE_LON, radius_m)


_ids = iter(range(1, 1_000_000))


def _checkin(key, at=_at(9), *, method="location", session_id="s1", lat=SITE_LAT, lon=SITE_LON, accuracy_m=10.0,
             device=None, class_id=CLASS):
    located = method == "location"
    return Checkin(next(_ids), class_id, session_id, key, method, at, lat if located else None,
                   lon if located else None, accuracy_m if located else None, device)


def _attempt(key, at, class_id=CLASS):
    return Attempt(class_id, key, at)


# --- thresholds ---------------------------------------------------------------------------------------------------

def test_the_thresholds_are_those_the_bureau_agreed():
    assert SILENCE_GRACE == datetime.timedelta(minutes=30)
    assert (SHARED_DEVICE_TRAINEES, SAME_SPOT_TRAINEES, OUTSIDE_TRAINEES) == (2, 3, 3)
    assert (MAX_TRAVEL_KMH, TRAVEL_NOISE_M, SAME_SPOT_M) == (200, 2_000, 5)
    assert OUTSIDE_WINDOW == datetime.timedelta(hours=1)
    assert KINDS == ("no_checkins", "shared_device", "impossible_travel", "same_spot_far_away", "outside_schedule")


# --- silent sessions ----------------------------------------------------------------------------------------------

def test_a_session_that_ended_half_an_hour_ago_without_check_ins_is_flagged():
    [anomaly] = silent_sessions([_session()], {}, now=_at(12, 30))
    assert anomaly == Anomaly("no_checkins", "s1", CLASS, "s1",
                              {"starts_at": "2021-06-01T09:00:00+00:00", "ends_at": "2021-06-01T12:00:00+00:00"})


def test_a_session_that_ended_29_minutes_ago_is_not_yet_flagged():
    assert silent_sessions([_session()], {}, now=_at(12, 29)) == []


def test_a_session_not_over_yet_is_not_flagged():
    assert silent_sessions([_session()], {"s1": 0}, now=_at(10)) == []


def test_a_session_with_one_check_in_is_not_silent():
    assert silent_sessions([_session()], {"s1": 1}, now=_at(18)) == []


def test_a_session_counted_as_zero_is_as_silent_as_one_not_counted():
    sessions = [_session("s2"), _session("s1")]
    found = silent_sessions(sessions, {"s1": 0, "s3": 4}, now=_at(18))
    assert [a.subject for a in found] == ["s1", "s2"]


# --- shared devices -----------------------------------------------------------------------------------------------

def test_one_phone_checking_in_two_trainees_to_a_session_is_flagged():
    checkins = [_checkin(KEYS[0], _at(9, 1), device="phone-a"), _checkin(KEYS[1], _at(8, 59), method="qr",
                                                                         device="phone-a")]
    [anomaly] = shared_devices(checkins)
    assert (anomaly.kind, anomaly.subject, anomaly.class_id, anomaly.session_id) == (
        "shared_device", "s1:phone-a", CLASS, "s1")
    assert anomaly.evidence == {
        "device": "phone-a", "trainees": 2, "key_prefixes": sorted([KEYS[0][:8], KEYS[1][:8]]),
        "methods": ["location", "qr"], "times": ["2021-06-01T08:59:00+00:00", "2021-06-01T09:01:00+00:00"]}


def test_one_trainee_checking_in_twice_on_a_phone_is_not_flagged():
    assert shared_devices([_checkin(KEYS[0], device="phone-a"), _checkin(KEYS[0], _at(9, 5), device="phone-a")]) == []


def test_each_trainee_on_their_own_phone_is_not_flagged():
    assert shared_devices([_checkin(KEYS[0], device="phone-a"), _checkin(KEYS[1], device="phone-b")]) == []


def test_a_card_scanner_checking_in_many_trainees_is_not_flagged():
    assert shared_devices([_checkin(k, method="card", device="scanner-1") for k in KEYS]) == []


def test_a_phone_lent_in_different_sessions_is_not_flagged():
    checkins = [_checkin(KEYS[0], device="phone-a"), _checkin(KEYS[1], _at(14), session_id="s2", device="phone-a")]
    assert shared_devices(checkins) == []


def test_check_ins_without_a_device_are_not_grouped_together():
    assert shared_devices([_checkin(k) for k in KEYS]) == []


def test_shared_devices_are_reported_in_subject_order():
    checkins = [_checkin(k, device=d, session_id=s) for s in ("s2", "s1") for d in ("b", "a") for k in KEYS[:2]]
    assert [a.subject for a in shared_devices(checkins)] == ["s1:a", "s1:b", "s2:a", "s2:b"]


# --- impossible travel --------------------------------------------------------------------------------------------

def test_a_trainee_located_300_km_away_an_hour_later_is_flagged():
    previous = _checkin(KEYS[0], _at(9), session_id="s0", class_id="class-0", accuracy_m=0)
    current = _checkin(KEYS[0], _at(10), lat=_north(300_000), accuracy_m=0)
    anomaly = impossible_travel(previous, current)
    assert (anomaly.kind, anomaly.subject, anomaly.class_id, anomaly.session_id) == (
        "impossible_travel", f"{previous.checkin_id}:{current.checkin_id}", CLASS, "s1")
    evidence = anomaly.evidence
    assert evidence["trainee"] == KEYS[0][:8]
    assert evidence["previous_at"] == "2021-06-01T09:00:00+00:00"
    assert evidence["current_at"] == "2021-06-01T10:00:00+00:00"
    assert evidence["previous_position"] == [28.2282, 112.9388]
    assert evidence["current_position"] == [round(_north(300_000), 4), 112.9388]
    assert evidence["distance_km"] == 300.0 and evidence["speed_kmh"] == 300 and evidence["elapsed_s"] == 3600


def test_a_journey_at_199_km_per_hour_is_not_flagged():
    previous = _checkin(KEYS[0], _at(9), accuracy_m=0)
    assert impossible_travel(previous, _checkin(KEYS[0], _at(10), lat=_north(199_000), accuracy_m=0)) is None
    assert impossible_travel(previous, _checkin(KEYS[0], _at(10), lat=_north(201_000), accuracy_m=0)) is not None


def test_the_check_ins_may_be_given_in_either_order():
    earlier = _checkin(KEYS[0], _at(9), accuracy_m=0)
    later = _checkin(KEYS[0], _at(10), lat=_north(300_000), accuracy_m=0)
    assert impossible_travel(later, earlier).evidence["speed_kmh"] == 300


def test_poor_accuracy_that_makes_the_speed_plausible_is_not_flagged():
    """2.6 km in 45 s is 208 km/h; with 100 m uncertain at either end it may have been 2.4 km, 192 km/h."""
    previous = _checkin(KEYS[0], _at(9), accuracy_m=100)
    assert impossible_travel(previous, _checkin(KEYS[0], _at(9, 0, 45), lat=_north(2_600), accuracy_m=100)) is None
    sharp = impossible_travel(_checkin(KEYS[0], _at(9), accuracy_m=5),
                              _checkin(KEYS[0], _at(9, 0, 45), lat=_north(2_600), accuracy_m=5))
    assert sharp.evidence["speed_kmh"] == round(2.59 / (45 / 3600)) and sharp.evidence["distance_km"] == 2.6


def test_neighbouring_sites_checked_in_at_once_are_within_gps_noise():
    previous = _checkin(KEYS[0], _at(9), accuracy_m=0)
    assert impossible_travel(previous, _checkin(KEYS[0], _at(9), lat=_north(1_900), accuracy_m=0)) is None


def test_accuracy_can_bring_a_distance_within_the_noise():
    previous = _checkin(KEYS[0], _at(9), accuracy_m=100)
    assert impossible_travel(previous, _checkin(KEYS[0], _at(9), lat=_north(2_150), accuracy_m=100)) is None


def test_two_places_far_apart_at_the_same_moment_are_flagged_without_a_speed():
    previous = _checkin(KEYS[0], _at(9), accuracy_m=10)
    anomaly = impossible_travel(previous, _checkin(KEYS[0], _at(9), lat=_north(50_000), accuracy_m=10))
    assert anomaly.evidence["speed_kmh"] is None and anomaly.evidence["elapsed_s"] == 0
    assert anomaly.evidence["distance_km"] == 50.0


def test_two_trainees_far_apart_are_not_a_journey():
    previous = _checkin(KEYS[0], _at(9), accuracy_m=0)
    assert impossible_travel(previous, _checkin(KEYS[1], _at(9), lat=_north(300_000), accuracy_m=0)) is None


def test_a_check_in_without_a_position_is_not_a_journey():
    previous = _checkin(KEYS[0], _at(9), method="qr", device="phone-a")
    assert impossible_travel(previous, _checkin(KEYS[0], _at(9), lat=_north(300_000), accuracy_m=0)) is None


# --- the same spot, far away --------------------------------------------------------------------------------------

SPOT_LAT = _north(280)  # outside the 200 m radius, let in by an accuracy of 90 m


def _at_spot(key, minute, metres_east=0.0, *, lat=SPOT_LAT, accuracy_m=90.0, session_id="s1"):
    return _checkin(key, _at(9, minute), lat=lat, lon=_east(metres_east, lat), accuracy_m=accuracy_m,
                    session_id=session_id)


def test_three_trainees_at_one_spot_outside_the_radius_are_flagged():
    checkins = [_at_spot(KEYS[0], 1), _at_spot(KEYS[1], 2, 1.5, accuracy_m=95), _at_spot(KEYS[2], 3, 4.0)]
    [anomaly] = same_spot_far_away(checkins, _session())
    assert (anomaly.kind, anomaly.subject, anomaly.class_id, anomaly.session_id) == (
        "same_spot_far_away", f"s1:{SPOT_LAT:.5f},{SITE_LON:.5f}", CLASS, "s1")
    assert anomaly.evidence == {
        "point": [round(SPOT_LAT, 5), SITE_LON], "distance_from_site_m": 280, "radius_m": 200, "trainees": 3,
        "key_prefixes": sorted(k[:8] for k in KEYS[:3]), "accuracies_m": [90.0, 95.0, 90.0]}


def test_two_trainees_at_one_spot_are_not_flagged():
    assert same_spot_far_away([_at_spot(KEYS[0], 1), _at_spot(KEYS[1], 2, 1.0)], _session()) == []


def test_one_trainee_checking_in_three_times_at_one_spot_is_not_flagged():
    assert same_spot_far_away([_at_spot(KEYS[0], m) for m in (1, 2, 3)], _session()) == []


def test_three_trainees_at_one_spot_inside_the_radius_are_not_flagged():
    inside = _north(150)
    assert same_spot_far_away([_at_spot(k, i, i, lat=inside) for i, k in enumerate(KEYS[:3])], _session()) == []


def test_trainees_scattered_across_a_room_outside_the_radius_are_not_flagged():
    assert same_spot_far_away([_at_spot(k, i, 6.0 * i) for i, k in enumerate(KEYS[:3])], _session()) == []


def test_a_spot_is_measured_from_its_first_member_not_from_its_nearest():
    """4 m from the first and 4 m on again is 8 m from the first: the third trainee starts a spot of its own."""
    checkins = [_at_spot(KEYS[0], 1), _at_spot(KEYS[1], 2, 4.0), _at_spot(KEYS[2], 3, 8.0)]
    assert same_spot_far_away(checkins, _session()) == []


def test_spots_are_grouped_in_time_order_whatever_order_they_are_given_in():
    checkins = [_at_spot(KEYS[2], 3, 8.0), _at_spot(KEYS[1], 2, 4.0), _at_spot(KEYS[0], 1), _at_spot(KEYS[3], 4, 4.5)]
    [anomaly] = same_spot_far_away(checkins, _session())
    assert anomaly.subject == f"s1:{SPOT_LAT:.5f},{SITE_LON:.5f}" and anomaly.evidence["trainees"] == 3


def test_only_the_sessions_own_location_check_ins_count():
    checkins = [_at_spot(KEYS[0], 1), _at_spot(KEYS[1], 2, session_id="s2"),
                _checkin(KEYS[2], _at(9, 3), method="qr", device="phone-c")]
    assert same_spot_far_away(checkins, _session()) == []


def test_two_shared_spots_are_two_anomalies_in_subject_order():
    other = _north(-290)
    checkins = [_at_spot(k, i, lat=other) for i, k in enumerate(KEYS[:3])] + [
        _at_spot(k, 10 + i) for i, k in enumerate(KEYS[3:6])]
    found = same_spot_far_away(checkins, _session())
    assert [a.subject for a in found] == sorted(a.subject for a in found) and len(found) == 2


# --- outside the schedule -----------------------------------------------------------------------------------------

def test_three_trainees_refused_within_one_hour_outside_the_schedule_are_flagged():
    attempts = [_attempt(KEYS[0], _at(19, 5)), _attempt(KEYS[1], _at(19, 20)), _attempt(KEYS[2], _at(19, 59)),
                _attempt(KEYS[0], _at(19, 30))]
    [anomaly] = outside_schedule(attempts, [_session(), _session("s2", _at(14), _at(17))])
    assert (anomaly.kind, anomaly.subject, anomaly.class_id, anomaly.session_id) == (
        "outside_schedule", f"{CLASS}:2021-06-01T19:00:00+00:00", CLASS, None)
    assert anomaly.evidence == {
        "hour": "2021-06-01T19:00:00+00:00", "trainees": 3, "key_prefixes": sorted(k[:8] for k in KEYS[:3]),
        "attempts": 4, "first_attempt_at": "2021-06-01T19:05:00+00:00", "last_attempt_at": "2021-06-01T19:59:00+00:00",
        "nearest_session_starts_at": "2021-06-01T14:00:00+00:00"}


def test_two_trainees_refused_outside_the_schedule_are_not_flagged():
    assert outside_schedule([_attempt(KEYS[0], _at(19, 5)), _attempt(KEYS[1], _at(19, 20))], [_session()]) == []


def test_one_trainee_retrying_outside_the_schedule_is_not_flagged():
    assert outside_schedule([_attempt(KEYS[0], _at(19, m)) for m in (1, 2, 3, 4)], [_session()]) == []


def test_three_trainees_either_side_of_the_hour_are_not_flagged():
    attempts = [_attempt(KEYS[0], _at(18, 50)), _attempt(KEYS[1], _at(19, 0)), _attempt(KEYS[2], _at(19, 10))]
    assert outside_schedule(attempts, [_session()]) == []


def test_attempts_at_different_classes_are_not_pooled():
    attempts = [_attempt(k, _at(19, 10), class_id=c) for k, c in zip(KEYS, ("a", "b", "c"))]
    assert outside_schedule(attempts, []) == []


def test_an_hour_still_under_way_is_not_judged_yet():
    attempts = [_attempt(k, _at(19, 10 + i)) for i, k in enumerate(KEYS[:3])]
    assert outside_schedule(attempts, [_session()], now=_at(19, 59)) == []
    assert len(outside_schedule(attempts, [_session()], now=_at(20))) == 1


def test_a_class_without_sessions_has_no_nearest_session():
    attempts = [_attempt(k, _at(19, 10)) for k in KEYS[:3]]
    [anomaly] = outside_schedule(attempts, [_session(class_id="another-class")])
    assert anomaly.evidence["nearest_session_starts_at"] is None


def test_the_hour_is_taken_in_utc():
    beijing = datetime.timezone(datetime.timedelta(hours=8))
    attempts = [_attempt(k, datetime.datetime(2021, 6, 2, 3, 10 + i, tzinfo=beijing)) for i, k in enumerate(KEYS[:3])]
    [anomaly] = outside_schedule(attempts, [])
    assert anomaly.subject == f"{CLASS}:2021-06-01T19:00:00+00:00"


# --- evidence -----------------------------------------------------------------------------------------------------

def _strings(value):
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_no_evidence_names_a_trainee_by_their_full_key():
    shared = [_checkin(k, device="phone-a") for k in KEYS[:2]]
    spot = [_at_spot(k, i, 0.5 * i) for i, k in enumerate(KEYS[2:5])]
    travel = impossible_travel(_checkin(KEYS[5], _at(9), accuracy_m=0),
                               _checkin(KEYS[5], _at(10), lat=_north(300_000), accuracy_m=0))
    found = (silent_sessions([_session("s9")], {}, now=_at(18)) + shared_devices(shared)
             + same_spot_far_away(spot, _session()) + [travel]
             + outside_schedule([_attempt(k, _at(19, 10)) for k in KEYS[6:9]], [_session()]))
    assert sorted({a.kind for a in found}) == sorted(KINDS)
    for anomaly in found:
        json.dumps(anomaly.evidence, allow_nan=False)
        for text in _strings(anomaly.evidence) + [anomaly.subject]:
            assert not re.search(r"[0-9a-f]{64}", text), (anomaly.kind, text)
