"""Voucher QR payloads: made and checked by the same code on the platform and on a scanner."""
import pytest

from voucher_client import qr

PERSON, OTHER = "a" * 64, "b" * 64
CODE = "8FGA210TA21EJ"
NOW = 1_790_000_000


@pytest.fixture(scope="module")
def key():
    return qr.new_key()


def payload(key, now=NOW, key_id="k1", code=CODE, person=PERSON):
    return qr.sign(key[0], key_id, code, person, now=now)[0]


def refusal(text, keys, now=NOW):
    with pytest.raises(qr.QrRefused) as refused:
        qr.verify(text, keys, now=now)
    return refused.value.code


def test_a_fresh_payload_says_which_voucher_and_whose_and_until_when(key):
    text, expires_at = qr.sign(key[0], "k1", CODE, PERSON, now=NOW)
    scan = qr.verify(text, {"k1": key[1]}, now=NOW + 60)
    assert (scan.code, scan.holder_tag, scan.key_id, scan.expires_at) == (CODE, qr.holder_tag(PERSON), "k1", expires_at)
    assert expires_at == NOW + 120
    assert scan.holder_tag != qr.holder_tag(OTHER)


def test_a_payload_fits_a_small_qr_code_and_carries_nothing_of_the_person(key):
    text = payload(key)
    assert len(text) <= 160
    assert PERSON not in text and CODE not in text  # the code is inside the signed body, not in clear


def test_a_payload_past_its_two_minutes_is_refused_as_expired(key):
    assert refusal(payload(key), {"k1": key[1]}, now=NOW + 121) == "qr_expired"


def test_a_payload_from_a_clock_far_ahead_is_refused(key):
    assert refusal(payload(key, now=NOW + 600), {"k1": key[1]}) == "qr_not_yet_valid"


def test_one_changed_character_anywhere_in_the_body_or_signature_is_refused_as_forged(key):
    text = payload(key)
    prefix, key_id, body, signature = text.split(".")
    for altered in (f"{prefix}.{key_id}.{_flip(body)}.{signature}", f"{prefix}.{key_id}.{body}.{_flip(signature)}"):
        assert refusal(altered, {"k1": key[1]}) == "qr_forged"


def test_a_payload_signed_by_another_key_under_a_known_key_id_is_forged(key):
    forger = qr.new_key()
    assert refusal(payload(forger), {"k1": key[1]}) == "qr_forged"


def test_a_key_id_swapped_for_another_known_one_is_forged(key):
    second = qr.new_key()
    _, _, body, signature = payload(key).split(".")
    assert refusal(f"VT1.k2.{body}.{signature}", {"k1": key[1], "k2": second[1]}) == "qr_forged"


def test_an_unknown_key_and_a_retired_key_are_told_apart(key):
    assert refusal(payload(key, key_id="k9"), {"k1": key[1]}) == "qr_key_unknown"
    assert refusal(payload(key), {"k1": None}) == "qr_key_retired"


@pytest.mark.parametrize("text", ["", "hello", "VT1.k1.abc", "VT2.k1.abc.def", "VT1.k1.!!!.@@@", None, 42])
def test_anything_else_is_refused_as_malformed_or_forged(key, text):
    assert refusal(text, {"k1": key[1]}) in ("qr_malformed", "qr_forged")


def test_a_payload_names_its_key_before_it_is_checked_and_anything_else_names_none(key):
    assert qr.key_id_of(payload(key, key_id="q0a1b2c3d")) == "q0a1b2c3d"
    assert [qr.key_id_of(text) for text in ("", "hello", "VT2.k1.abc.def", "VT1.k1.abc", None, 42)] == [None] * 6


def _flip(text):
    """The same text with its middle character changed to another base64url character."""
    middle = len(text) // 2
    return text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1:]
