"""API keys: their format, how their secrets are stored, and what each scope may do.

A key reads `cvr_<prefix>_<secret>`. The prefix (12 hex characters) is stored in clear to find the key's
row; the secret (43 URL-safe characters, 256 bits) is stored only as a scrypt hash, so a copy of the
database does not hand out working keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from app.domain.recently_used import RecentlyUsed

KEY_MARKER = "cvr"
PREFIX_BYTES = 6
SECRET_BYTES = 32
# scrypt's interactive-login cost (16 MiB, tens of milliseconds): paid when a key is created and the
# first time a process sees it; verified keys are remembered (see `SecretCheck`).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
HASH_SCHEME = "scrypt"


class Scope(StrEnum):
    """What a key may do; each scope includes the ones before it."""

    READ = "read"
    SUBMIT = "submit"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Scope).index(self)

    def includes(self, needed: Scope) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Caller:
    """Who sends a request: a key's name and scope, or anyone when keys are off."""

    key_name: str | None
    scope: Scope

    def may_change(self, created_by_key: str | None) -> bool:
        """Whether this caller may cancel or re-test a search created by `created_by_key`: admin keys
        (and anyone when keys are off) may change every search, submit keys only their own."""
        if self.scope is Scope.ADMIN:
            return True
        return self.scope is Scope.SUBMIT and self.key_name is not None and created_by_key == self.key_name


ANYONE = Caller(key_name=None, scope=Scope.ADMIN)
"""The caller when keys are not required (the embedded loopback default)."""


@dataclass(frozen=True)
class NewKey:
    """A key as created: `token` is shown once, only `prefix` and `secret_hash` are stored."""

    token: str
    prefix: str
    secret_hash: str


def generate_key() -> NewKey:
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return NewKey(token=f"{KEY_MARKER}_{prefix}_{secret}", prefix=prefix, secret_hash=hash_secret(secret))


def parse_key(token: str) -> tuple[str, str] | None:
    """`(prefix, secret)` of a well-formed key, or None."""
    marker, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    well_formed = (
        marker == KEY_MARKER
        and len(prefix) == 2 * PREFIX_BYTES
        and all(c in "0123456789abcdef" for c in prefix)
        and 16 <= len(secret) <= 100
        and secret.isascii()
    )
    return (prefix, secret) if well_formed else None


def _scrypt(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM, dklen=32
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """`scrypt$<salt>$<hash>` (URL-safe base64), with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    return f"{HASH_SCHEME}${_b64(salt)}${_b64(_scrypt(secret, salt))}"


def secret_matches(secret: str, secret_hash: str) -> bool:
    """Whether `secret` is the one `secret_hash` was made from (compared in constant time)."""
    scheme, _, rest = secret_hash.partition("$")
    salt, _, expected = rest.partition("$")
    if scheme != HASH_SCHEME or not salt or not expected:
        return False
    return hmac.compare_digest(_scrypt(secret, _unb64(salt)), _unb64(expected))


class SecretCheck:
    """`secret_matches`, remembering the keys it verified, so that a poll every second costs one scrypt
    per key and process instead of one per request. Only a digest of each verified secret is kept;
    wrong secrets are never remembered."""

    def __init__(self, size: int = 1024) -> None:
        self._verified: RecentlyUsed[bool] = RecentlyUsed(size)

    def __call__(self, secret: str, secret_hash: str) -> bool:
        remembered = (secret_hash, hashlib.sha256(secret.encode()).digest())
        if self._verified.get(remembered):
            return True
        if not secret_matches(secret, secret_hash):
            return False
        self._verified.put(remembered, True)
        return True
