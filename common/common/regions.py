"""Administrative division codes (GB/T 2260): ``430000`` Hunan, ``430100`` Changsha,
``430102`` a district of Changsha. A region contains every code that starts with its
significant prefix; the ministry is ``000000`` and contains everything."""
import re

NATIONAL = "000000"
_CODE = re.compile(r"[0-9]{6}")  # ASCII digits; fullmatch, so no trailing newline


def is_valid(code):
    return isinstance(code, str) and bool(_CODE.fullmatch(code))


def prefix(code):
    """The significant part of a code: ``430100`` -> ``4301``; ``000000`` -> ``''``."""
    if code == NATIONAL:
        return ""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def contains(parent, child):
    return child.startswith(prefix(parent))


def like_pattern(code):
    """A SQL LIKE pattern that matches every code inside ``code``."""
    return prefix(code) + "%"


def province_of(code):
    return code[:2] + "0000"


def city_of(code):
    return code[:4] + "00"
