"""Owners' passwords at rest: argon2id (argon2-cffi) at the OWASP Password Storage Cheat Sheet's first recommended
configuration (19 MiB of memory, 2 iterations, 1 lane: ~20 ms of CPU, less than the scrypt it replaces). A hash made
with other parameters, or by the scrypt of earlier versions (``scrypt$<salt>$<digest>``, N=2^14), still verifies and
is replaced on the next successful sign-in (``Sessions.authenticate``)."""

from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> tuple[bool, bool]:
    """(whether ``password`` is the one ``stored`` was made from, whether ``stored`` should be made again now)."""
    if stored.startswith("scrypt$"):
        try:
            _, salt, digest = stored.split("$")
            made = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1, dklen=32)
        except ValueError:
            return False, False
        matches = hmac.compare_digest(made.hex(), digest)
        return matches, matches
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, _HASHER.check_needs_rehash(stored)
