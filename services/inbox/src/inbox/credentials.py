"""Agents' credentials: argon2 password hashes and API tokens stored as their sha256."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "sbt_"  # noqa: S105 (a prefix, not a secret)
# Verifying against this when the agent does not exist keeps login time the same either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the hash (False for agents without a password)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> str:
    """A new bearer token: shown once, stored only as its hash."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    """What the database keeps of a token: its sha256 (tokens are random, no salt needed)."""
    return hashlib.sha256(token.encode()).digest()


def new_csrf_token() -> str:
    """A per-session token the web inbox echoes in X-CSRF-Token on every change."""
    return secrets.token_urlsafe(24)
