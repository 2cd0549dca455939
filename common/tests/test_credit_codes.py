"""Unified social credit codes (GB 32100-2015), checked against codes published by the
registered organisations themselves."""
import itertools

import pytest

from common import credit_codes
from common.errors import InvalidInput

PUBLISHED = [
    "91350100M000100Y43",  # the standard's commonly cited example
    "91330100716105852F",  # 阿里巴巴（中国）网络技术有限公司
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司
    "914403001922038216",  # 华为技术有限公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91310000132260250X",  # 上海汽车集团股份有限公司
    "12100000425006133D",  # 华东师范大学 (a public institution, 事业单位)
]


def refusal(code):
    with pytest.raises(InvalidInput) as refused:
        credit_codes.validate(code)
    assert refused.value.code == "invalid_credit_code"
    return refused.value.message


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code):
    assert credit_codes.validate(code) == code
    assert credit_codes.check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED)
def test_every_single_character_typo_is_refused(code):
    for position, char in itertools.product(range(18), credit_codes.ALPHABET):
        if char != code[position]:
            assert "check character" in refusal(code[:position] + char + code[position + 1:]), (position, char)


def test_the_alphabet_leaves_out_i_o_s_v_z():
    assert len(credit_codes.ALPHABET) == 31
    assert not set("IOSVZ") & set(credit_codes.ALPHABET)


@pytest.mark.parametrize("code, says", [
    (None, "string"), (91350100, "string"), ("", "this one has 0"), ("91350100M000100Y4", "this one has 17"),
    ("91350100M000100Y433", "this one has 19"), ("91350100m000100Y43", "'m'"), ("9135010OM000100Y43", "'O'"),
    ("91350100Ｍ000100Y43", "'Ｍ'"), ("91350100M000100Y4 ", "' '"),
])
def test_a_malformed_code_is_refused_saying_what_is_wrong(code, says):
    assert says in refusal(code)
