"""Password hashing (argon2id) and the password policy.

Chosen passwords are hashed with argon2-cffi's defaults (RFC 9106 low-memory profile). One-time initial
passwords of imported accounts are different: the server generates them with 60 bits of entropy and they expire,
so a keyed SHA-256 digest protects them as well as argon2 would protect a human password, while letting an import
of 141,929 accounts finish in seconds instead of hours of argon2 (about 50 ms each).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST

from services.errors import Invalid

MIN_LENGTH, MAX_LENGTH = 8, 64
# No 0/O, 1/l/I: initial passwords are read aloud and typed on phones. 32 symbols x 12 = 60 bits.
_INITIAL_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzA"
_INITIAL_LENGTH = 12

_hashers: dict[str, PasswordHasher] = {
    "default": PasswordHasher(),
    # Tests only (APP_ENV=testing): the same algorithm with minimal cost, so the suite is not 50 ms per login.
    "cheap": PasswordHasher.from_parameters(CHEAPEST),
}


def hasher(profile: str = "default") -> PasswordHasher:
    return _hashers[profile]


def hash_password(password: str, profile: str = "default") -> str:
    return hasher(profile).hash(password)


def verify_password(stored_hash: str, password: str, profile: str = "default") -> bool:
    try:
        return hasher(profile).verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASHES: dict[str, str] = {}


def burn_verify_time(profile: str = "default") -> None:
    """Spend the time of one verification, so that an unknown username answers as slowly as a known one."""
    if profile not in _DUMMY_HASHES:
        _DUMMY_HASHES[profile] = hash_password(secrets.token_hex(16), profile)
    verify_password(_DUMMY_HASHES[profile], "not-the-password", profile)


def new_initial_password() -> str:
    return "".join(secrets.choice(_INITIAL_ALPHABET) for _ in range(_INITIAL_LENGTH))


def initial_digest(password: str, key: str) -> str:
    return hmac.new(("initial-password:" + key).encode(), password.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = (Path(__file__).parent / "data" / "common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _is_run(s: str) -> bool:
    """One repeated character or a straight run such as 12345678 / abcdefgh / 87654321."""
    if len(set(s)) == 1:
        return True
    steps = {ord(b) - ord(a) for a, b in zip(s, s[1:])}
    return steps in ({1}, {-1})


def policy_problem(password: str, *, personal: tuple[str, ...] = ()) -> str | None:
    """Why `password` is not acceptable (Chinese), or None. `personal`: mobile, member number, birth date…"""
    if not isinstance(password, str) or not (MIN_LENGTH <= len(password) <= MAX_LENGTH):
        return f"密码长度应为{MIN_LENGTH}到{MAX_LENGTH}个字符"
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if classes < 2:
        return "密码至少包含字母、数字、符号中的两类"
    lowered = password.lower()
    if lowered in common_passwords() or _is_run(lowered):
        return "密码过于常见，请换一个"
    for item in personal:
        if item and len(item) >= 6 and item.lower() in lowered:
            return "密码不能包含手机号、党员编号或出生日期"
    return None


def check_policy(password: str, *, field: str = "new_password", personal: tuple[str, ...] = ()) -> None:
    problem = policy_problem(password, personal=personal)
    if problem:
        raise Invalid(problem, fields={field: [problem]})
