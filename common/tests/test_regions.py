"""Administrative division codes (GB/T 2260) and which region contains which."""
import pytest

from common import regions

HUNAN, CHANGSHA, FURONG, ZHUZHOU, HETANG = "430000", "430100", "430102", "430200", "430202"
GUANGDONG, GUANGZHOU, TIANHE = "440000", "440100", "440106"


@pytest.mark.parametrize("code, expected", [
    ("000000", ""), (HUNAN, "43"), (CHANGSHA, "4301"), (FURONG, "430102"), (GUANGZHOU, "4401")])
def test_the_prefix_is_the_significant_part_of_a_code(code, expected):
    assert regions.prefix(code) == expected


@pytest.mark.parametrize("code", [HUNAN, CHANGSHA, FURONG, ZHUZHOU, HETANG, GUANGDONG, TIANHE, "650102", "000000"])
def test_the_nation_contains_every_region(code):
    assert regions.contains(regions.NATIONAL, code)


@pytest.mark.parametrize("code", [HUNAN, CHANGSHA, FURONG, ZHUZHOU, HETANG, "433101"])
def test_a_province_contains_itself_its_cities_and_its_counties(code):
    assert regions.contains(HUNAN, code)


@pytest.mark.parametrize("code", [GUANGDONG, GUANGZHOU, TIANHE, "000000", "420100"])
def test_a_province_does_not_contain_another_province_or_the_nation(code):
    assert not regions.contains(HUNAN, code)


def test_a_city_contains_itself_and_its_counties():
    assert regions.contains(CHANGSHA, CHANGSHA)
    assert regions.contains(CHANGSHA, FURONG)


def test_a_city_does_not_contain_its_province_a_sibling_city_or_the_siblings_counties():
    assert not regions.contains(CHANGSHA, HUNAN)
    assert not regions.contains(CHANGSHA, ZHUZHOU)
    assert not regions.contains(CHANGSHA, HETANG)


def test_a_county_contains_only_itself():
    assert regions.contains(FURONG, FURONG)
    assert not regions.contains(FURONG, "430103")
    assert not regions.contains(FURONG, CHANGSHA)


@pytest.mark.parametrize("code, pattern", [
    ("000000", "%"), (HUNAN, "43%"), (CHANGSHA, "4301%"), (FURONG, "430102%")])
def test_the_like_pattern_matches_what_the_region_contains(code, pattern):
    assert regions.like_pattern(code) == pattern


@pytest.mark.parametrize("code, province, city", [
    (FURONG, HUNAN, CHANGSHA), (CHANGSHA, HUNAN, CHANGSHA), (HUNAN, HUNAN, HUNAN), (TIANHE, GUANGDONG, GUANGZHOU)])
def test_province_and_city_of_a_code(code, province, city):
    assert regions.province_of(code) == province
    assert regions.city_of(code) == city


@pytest.mark.parametrize("code, valid", [
    ("430102", True), ("000000", True), ("43010", False), ("4301020", False), ("43010a", False),
    (430102, False), (None, False),
    pytest.param("４30102", False, id="full-width-digit"),
    pytest.param("430102\n", False, id="trailing-newline")])
def test_only_six_ascii_digits_are_a_region_code(code, valid):
    assert regions.is_valid(code) is valid
