"""API keys: create (the token is returned once), list, revoke, and authenticate a request's key."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.api_keys import Caller, Scope, SecretCheck, generate_key, parse_key
from app.errors import Conflict, InvalidSpec, NotFound, Unauthenticated
from app.storage.models import ApiKey, utcnow
from app.storage.repositories import ApiKeyRepository

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`last_used_at` is written at most this often per key, so polling does not write on every request."""
HOW_TO_SEND = (
    "send `Authorization: Bearer <key>` (the CLI and the Python client read CAVIAR_API_KEY); "
    "an administrator creates keys with `caviar keys create`"
)

_secret_check = SecretCheck()


def create_key(session: Session, name: str, scope: Scope) -> tuple[ApiKey, str]:
    """Store a new key; returns its row and the token, which is never stored and cannot be shown again."""
    if not NAME_PATTERN.match(name):
        raise InvalidSpec(
            "name", "a key name is 1-100 letters, digits and `_ . @ -`, starting with a letter or digit"
        )
    if ApiKeyRepository(session).by_name(name) is not None:
        raise Conflict(f"a key named {name!r} exists (names stay taken after a revocation); pick another")
    new = generate_key()
    key = ApiKey(name=name, prefix=new.prefix, secret_hash=new.secret_hash, scope=scope.value)
    try:
        with session.begin_nested():
            ApiKeyRepository(session).add(key)
    except IntegrityError as error:  # a concurrent create took the name
        raise Conflict(f"a key named {name!r} exists; pick another") from error
    log.info("API key %r created with scope %s", name, scope.value)
    return key, new.token


def list_keys(session: Session) -> Sequence[ApiKey]:
    return ApiKeyRepository(session).all()


def revoke_key(session: Session, name_or_id: str) -> ApiKey:
    """Revoke a key by name (or id); it is refused from the next request on. Revoking twice is harmless."""
    keys = ApiKeyRepository(session)
    key = keys.by_name(name_or_id)
    if key is None and name_or_id.isdigit():
        key = keys.get(int(name_or_id))
    if key is None:
        raise NotFound(f"no API key named {name_or_id!r} (see `caviar keys list`)")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        log.info("API key %r revoked", key.name)
    return key


def authenticate(session: Session, token: str | None) -> ApiKey:
    """The live key `token` stands for; raises Unauthenticated for a missing, unknown or revoked one.

    Reads only: `record_use` writes the time of use separately."""
    if not token:
        raise Unauthenticated(f"this API requires a key: {HOW_TO_SEND}", key_sent=False)
    parsed = parse_key(token)
    key = ApiKeyRepository(session).by_prefix(parsed[0]) if parsed else None
    if key is None or parsed is None or not _secret_check(parsed[1], key.secret_hash):
        raise Unauthenticated(
            "the API key is not valid (keys look like cvr_<prefix>_<secret>)", key_sent=True
        )
    if key.revoked_at is not None:
        raise Unauthenticated(f"the API key {key.name!r} was revoked", key_sent=True)
    return key


def record_use(session: Session, key: ApiKey) -> None:
    if key.last_used_at is None or key.last_used_at < utcnow() - LAST_USED_RESOLUTION:
        now = utcnow()
        ApiKeyRepository(session).touch(key.id, now, unless_since=now - LAST_USED_RESOLUTION)


def caller_of(key: ApiKey) -> Caller:
    return Caller(key_name=key.name, scope=Scope(key.scope))
