"""Mainland resident ID-card numbers (GB 11643-1999): checking, masking, encryption at rest.

The number is stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256) and, separately, as a keyed digest so that
duplicates are found without decrypting. Only the masked form leaves the server, except to authorised admins.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise(number: str) -> str:
    return number.strip().upper()


def validate(number: str) -> str | None:
    """Return a Chinese reason if `number` is not a valid 18-digit ID-card number, else None."""
    n = normalise(number)
    if len(n) != 18 or not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        return "身份证号应为18位（最后一位可为X）"
    if birth_date_of(n) is None:
        return "身份证号中的出生日期无效"
    if check_digit(n[:17]) != n[17]:
        return "身份证号校验位不正确"
    return None


def birth_date_of(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def mask(number: str) -> str:
    """`522401199001011234` → `5224**********1234`."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(number: str, key: str) -> bytes:
    return _fernet(key).encrypt(normalise(number).encode())


def decrypt(cipher: bytes, key: str) -> str | None:
    try:
        return _fernet(key).decrypt(bytes(cipher)).decode()
    except InvalidToken:
        return None  # rotated key: shown as unavailable rather than a 500


def digest(number: str, key: str) -> str:
    return hmac.new(("idcard:" + key).encode(), normalise(number).encode(), hashlib.sha256).hexdigest()
