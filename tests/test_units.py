"""Pure functions: ID-card numbers, the password policy, positions, the formula guard."""

from __future__ import annotations

from datetime import date

import pytest

from services import idcard, passwords
from services.exports import safe_cell
from services.geo import check_position
from tests.factories import make_id_card


def test_id_card_check_digit_known_vector():
    # The worked example of GB 11643-1999: 11010519491231002 → X
    assert idcard.check_digit("11010519491231002") == "X"
    assert idcard.validate("11010519491231002X") is None
    assert idcard.validate("11010519491231002x") is None  # lower-case x is normalised


@pytest.mark.parametrize(
    "number, reason",
    [
        ("1101051949123100", "身份证号应为18位（最后一位可为X）"),
        ("11010519491331002X", "身份证号中的出生日期无效"),
        ("110105194912310021", "身份证号校验位不正确"),
        ("A1010519491231002X", "身份证号应为18位（最后一位可为X）"),
    ],
)
def test_id_card_refusals(number, reason):
    assert idcard.validate(number) == reason


def test_id_card_mask_encrypt_digest():
    number = make_id_card(date(1990, 1, 1))
    assert idcard.mask(number) == number[:4] + "*" * 10 + number[-4:]
    key = "k" * 43 + "="
    cipher = idcard.encrypt(number, key)
    assert number.encode() not in cipher and idcard.decrypt(cipher, key) == number
    assert idcard.decrypt(cipher, "j" * 43 + "=") is None  # a rotated key degrades, not crashes
    assert idcard.digest(number, key) == idcard.digest(number.lower(), key) != idcard.digest(number, "other")


@pytest.mark.parametrize(
    "pw, ok",
    [
        ("Hongqi@2026", True),
        ("zhong-hua-lou-3", True),
        ("12345678", False),
        ("abcdefgh", False),
        ("87654321a", True),
        ("aaaaaaaa1", True),
        ("qwerty123", False),
        ("Password2026", False),
        ("Aa1" * 22, False),
    ],
)
def test_password_policy(pw, ok):
    assert (passwords.policy_problem(pw) is None) is ok, passwords.policy_problem(pw)


def test_initial_passwords_are_long_and_unambiguous():
    seen = {passwords.new_initial_password() for _ in range(200)}
    assert len(seen) == 200
    assert all(len(p) == 12 and not set(p) & set("01lIoO") for p in seen)


@pytest.mark.parametrize(
    "lat, lng, bad",
    [
        (26.5, 106.7, set()),
        (999, 106.7, {"lat"}),
        (float("nan"), 1, {"lat"}),
        (1, float("inf"), {"lng"}),
        ("26", 106, {"lat"}),
        (True, 106, {"lat"}),
        (-90, 180, set()),
    ],
)
def test_check_position(lat, lng, bad):
    assert set(check_position(lat, lng)) == bad


@pytest.mark.parametrize(
    "value, out",
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM", "'@SUM"),
        ("王", "王"),
        (12, 12),
        (None, None),
    ],
)
def test_safe_cell(value, out):
    assert safe_cell(value) == out
