"""Attendance's rules: is the trainee at the site (great-circle distance and the phone's
accuracy circle), does a check-in fall in a session, and has the trainee completed."""
import datetime
import math
from types import SimpleNamespace

import pytest

from attendance.domain.geofence import MAX_ACCEPTED_ACCURACY_M, distance_m, judge
from attendance.domain.schedule import (EARLY_WINDOW, LATE_WINDOW, attendance_rate, has_completed, off_schedule,
                                       session_open_at)

SITE = {"site_lat": 28.2282, "site_lon": 112.9388, "radius_m": 200}  # Changsha


def _metres_north(metres, lat=SITE["site_lat"]):
    return lat + math.degrees(metres / 6_371_008.8)


# --- distance --------------------------------------------------------------------

def test_one_degree_of_latitude_is_about_111_2_km():
    assert distance_m(30.0, 120.0, 31.0, 120.0) == pytest.approx(111_195, abs=50)
    assert distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195, abs=50)


def test_beijing_to_shanghai_is_about_1067_km():
    assert distance_m(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.01)


def test_one_degree_of_longitude_at_the_equator_is_as_long_as_one_of_latitude():
    assert distance_m(0.0, 100.0, 0.0, 101.0) == pytest.approx(111_195, abs=50)


def test_one_degree_of_longitude_at_69_north_is_about_39_8_km():
    assert distance_m(69.0, 18.0, 69.0, 19.0) == pytest.approx(111_195 * math.cos(math.radians(69)), rel=0.001)


def test_distance_is_symmetric_and_zero_to_itself():
    assert distance_m(28.2, 112.9, 39.9, 116.4) == pytest.approx(distance_m(39.9, 116.4, 28.2, 112.9))
    assert distance_m(28.2, 112.9, 28.2, 112.9) == 0.0


def test_distance_crosses_the_antimeridian_the_short_way():
    assert distance_m(0.0, 179.5, 0.0, -179.5) == pytest.approx(111_195, abs=50)


def test_antipodes_are_half_the_circumference_apart():
    assert distance_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * 6_371_008.8, rel=1e-9)


# --- the fence --------------------------------------------------------------------

def test_a_trainee_inside_the_site_is_accepted():
    verdict = judge(**SITE, lat=_metres_north(120), lon=SITE["site_lon"], accuracy_m=10)
    assert verdict.accepted and verdict.reason is None
    assert verdict.distance_m == pytest.approx(120, abs=0.5)


def test_a_trainee_well_outside_the_site_is_refused():
    verdict = judge(**SITE, lat=_metres_north(500), lon=SITE["site_lon"], accuracy_m=10)
    assert not verdict.accepted and verdict.reason == "outside_site"
    assert verdict.distance_m == pytest.approx(500, abs=0.5)


def test_a_trainee_exactly_on_the_edge_with_perfect_accuracy_is_accepted():
    lat, lon = _metres_north(200), SITE["site_lon"]
    edge = distance_m(SITE["site_lat"], SITE["site_lon"], lat, lon)
    assert judge(**{**SITE, "radius_m": edge}, lat=lat, lon=lon, accuracy_m=0).accepted
    assert not judge(**{**SITE, "radius_m": edge - 0.01}, lat=lat, lon=lon, accuracy_m=0).accepted


def test_an_accuracy_circle_overlapping_the_site_is_accepted():
    verdict = judge(**SITE, lat=_metres_north(250), lon=SITE["site_lon"], accuracy_m=60)
    assert verdict.accepted


def test_an_accuracy_circle_that_stops_short_of_the_site_is_refused():
    verdict = judge(**SITE, lat=_metres_north(250), lon=SITE["site_lon"], accuracy_m=40)
    assert not verdict.accepted and verdict.reason == "outside_site"


def test_a_position_too_imprecise_to_mean_anything_is_refused_even_at_the_centre():
    verdict = judge(**SITE, lat=SITE["site_lat"], lon=SITE["site_lon"], accuracy_m=MAX_ACCEPTED_ACCURACY_M + 1)
    assert not verdict.accepted and verdict.reason == "accuracy_too_poor"


def test_the_worst_accepted_accuracy_still_counts():
    assert judge(**SITE, lat=SITE["site_lat"], lon=SITE["site_lon"], accuracy_m=MAX_ACCEPTED_ACCURACY_M).accepted


def test_a_stricter_accuracy_limit_can_be_given():
    verdict = judge(**SITE, lat=SITE["site_lat"], lon=SITE["site_lon"], accuracy_m=30, max_accuracy_m=20)
    assert verdict.reason == "accuracy_too_poor"


def test_at_high_latitude_a_short_degree_of_longitude_is_measured_correctly():
    """At 69°N 0.004° of longitude is about 159 m (ignoring the latitude would make it 445 m)."""
    site = {"site_lat": 69.6492, "site_lon": 18.9553, "radius_m": 200}  # Tromsø
    near = judge(**site, lat=69.6492, lon=18.9553 + 0.004, accuracy_m=5)
    assert near.accepted and near.distance_m == pytest.approx(0.004 * 111_195 * math.cos(math.radians(69.6492)),
                                                              rel=0.001)
    far = judge(**site, lat=69.6492, lon=18.9553 + 0.01, accuracy_m=5)
    assert not far.accepted and far.distance_m == pytest.approx(386, abs=3)


# --- sessions ----------------------------------------------------------------------

def _at(hour, minute=0, day=1):
    return datetime.datetime(2021, 6, day, hour, minute, tzinfo=datetime.timezone.utc)


MORNING = SimpleNamespace(name="morning", starts_at=_at(9), ends_at=_at(12))
AFTERNOON = SimpleNamespace(name="afternoon", starts_at=_at(14), ends_at=_at(17))


def test_the_early_and_late_windows_are_30_minutes():
    assert EARLY_WINDOW == LATE_WINDOW == datetime.timedelta(minutes=30)


@pytest.mark.parametrize("at", [_at(8, 30), _at(8, 45), _at(9), _at(9, 30)])
def test_a_check_in_from_30_minutes_before_to_30_minutes_after_the_start_belongs_to_the_session(at):
    assert session_open_at([MORNING, AFTERNOON], at) == (MORNING, None)


@pytest.mark.parametrize("at", [_at(9, 31), _at(11, 59), _at(12)])
def test_a_check_in_later_in_a_session_under_way_is_too_late(at):
    assert session_open_at([MORNING, AFTERNOON], at) == (None, "too_late")


def test_a_check_in_more_than_30_minutes_early_is_too_early():
    assert session_open_at([MORNING, AFTERNOON], _at(8, 29)) == (None, "too_early")


def test_a_check_in_between_sessions_is_too_early_for_the_next_one():
    assert session_open_at([MORNING, AFTERNOON], _at(13)) == (None, "too_early")
    assert session_open_at([MORNING, AFTERNOON], _at(13, 30)) == (AFTERNOON, None)


def test_a_check_in_after_the_last_session_is_too_late():
    assert session_open_at([MORNING, AFTERNOON], _at(17, 1)) == (None, "too_late")
    assert session_open_at([MORNING], _at(9, day=2)) == (None, "too_late")


def test_a_check_in_tried_two_hours_away_from_every_session_is_off_schedule():
    assert off_schedule([MORNING, AFTERNOON], _at(6, 59))
    assert not off_schedule([MORNING, AFTERNOON], _at(7))  # two hours before the morning
    assert not off_schedule([MORNING, AFTERNOON], _at(13))  # between them
    assert not off_schedule([MORNING, AFTERNOON], _at(19))  # two hours after the afternoon
    assert off_schedule([MORNING, AFTERNOON], _at(19, 1))
    assert off_schedule([], _at(9))


def test_a_class_without_sessions_has_nothing_to_check_in_to():
    assert session_open_at([], _at(9)) == (None, "no_sessions")


# --- completion ---------------------------------------------------------------------

@pytest.mark.parametrize("attended, scheduled, rate", [(0, 10, 0.0), (3, 4, 0.75), (10, 10, 1.0), (0, 0, 0.0)])
def test_the_attendance_rate_is_attended_over_scheduled(attended, scheduled, rate):
    assert attendance_rate(attended, scheduled) == rate


@pytest.mark.parametrize("attended, scheduled, threshold, completed", [
    (8, 10, 0.8, True), (7, 10, 0.8, False), (10, 10, 0.8, True), (7, 10, 0.7, True), (29, 100, 0.29, True),
    (2, 3, 0.67, False), (1, 1, 1.0, True), (9, 10, 1.0, False)])
def test_a_trainee_has_completed_when_the_rate_reaches_the_threshold(attended, scheduled, threshold, completed):
    assert has_completed(attended, scheduled, threshold) is completed


def test_nobody_completes_a_class_with_no_sessions():
    assert has_completed(0, 0, 0.0) is False
