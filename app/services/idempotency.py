"""Idempotent search creation: a retry with the same key and spec gets the same search; another spec, 422.

Following the IETF Idempotency-Key draft (and Stripe), a key reused with a different body is a client
bug, reported as `422 idempotency_key_reused` rather than silently answered with an unrelated search.
"Same spec" means the same normal form (`specs.normal_form`): key order, whitespace, `1` for `1.0` and
defaults spelled out or left implicit do not matter.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.orm import Session

from app.errors import IdempotencyKeyReused
from app.services.ask_tell import Enqueue
from app.services.searches import create_search
from app.services.spec_model import SearchSpec
from app.services.specs import normal_form
from app.settings import Settings
from app.storage.models import Search
from app.storage.repositories import SearchRepository

# Versioned, so that a retry landing on a newer release, whose normal form may spell a spec differently,
# is not refused: a stored fingerprint of another version is taken as matching, as a missing one is.
FINGERPRINT_VERSION = "v3:"  # v3: budget.max_failed_trials, optional dataset
FINGERPRINT_LENGTH = 64  # the column's width; 244 bits of the digest remain


def spec_fingerprint(spec: SearchSpec) -> str:
    canonical = json.dumps(normal_form(spec), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return FINGERPRINT_VERSION + digest[: FINGERPRINT_LENGTH - len(FINGERPRINT_VERSION)]


def create_search_once(
    session: Session,
    spec: SearchSpec,
    settings: Settings,
    *,
    idempotency_key: str | None,
    created_by_key: str | None = None,
) -> tuple[Search, Enqueue]:
    """Create the search, or return the one this key already created from the same spec."""
    if idempotency_key is None:
        return create_search(session, spec, settings, created_by_key=created_by_key)
    fingerprint = spec_fingerprint(spec)
    existing = SearchRepository(session).by_idempotency_key(idempotency_key)
    if existing is not None:
        _check_same(existing, fingerprint)
        return existing, []
    search, to_enqueue = create_search(
        session, spec, settings, idempotency_key=idempotency_key, created_by_key=created_by_key
    )
    if search.request_fingerprint is None:
        search.request_fingerprint = fingerprint  # ours, or a concurrent twin's from before this column
    else:
        _check_same(search, fingerprint)  # a concurrent request with the key won the insert
    return search, to_enqueue


def _check_same(search: Search, fingerprint: str) -> None:
    # Searches created before fingerprints were stored carry none, or one of an earlier version (a bare
    # hash of the spec as sent): both are taken as matching.
    stored = search.request_fingerprint
    comparable = stored is not None and stored.startswith(FINGERPRINT_VERSION)
    if comparable and stored != fingerprint:
        raise IdempotencyKeyReused(
            f"this Idempotency-Key created search {search.id} from a different spec; "
            "use a new key for a new search"
        )
