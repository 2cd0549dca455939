"""Indicators as the sources define them (Hunan Appendix 3; Shandong §一).

claim rate 领券率 = claimed / issued; usage rate 用券率 = used / issued. A rate over
nothing issued is undefined (None), not zero: a region that issued nothing has not
failed its target yet.
"""


def rate(part, whole):
    return round(part / whole, 4) if whole else None


def summary(counts):
    return {**counts, "claim_rate": rate(counts["claimed"], counts["issued"]),
            "usage_rate": rate(counts["used"], counts["issued"])}
