"""Location check-in (定位打卡): is the trainee at the training site?

Distance is great-circle (haversine). A phone reports its position with an accuracy
radius; the check-in is accepted when that circle touches the site's circle, and refused
outright when the accuracy is too poor to mean anything (the trainee then uses the QR
fallback).
"""
import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
MAX_ACCEPTED_ACCURACY_M = 100.0


def distance_m(lat1, lon1, lat2, lon2):
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    distance_m: float
    reason: str | None = None


def judge(*, site_lat, site_lon, radius_m, lat, lon, accuracy_m, max_accuracy_m=MAX_ACCEPTED_ACCURACY_M):
    distance = distance_m(site_lat, site_lon, lat, lon)
    if accuracy_m > max_accuracy_m:
        return Verdict(False, distance, "accuracy_too_poor")
    if distance - accuracy_m > radius_m:
        return Verdict(False, distance, "outside_site")
    return Verdict(True, distance)
