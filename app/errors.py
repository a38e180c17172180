"""Caviar's error hierarchy; the API maps it to HTTP in one handler."""

from __future__ import annotations


class CaviarError(Exception):
    """Base of every error Caviar raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidSpec(CaviarError):
    """A search spec (or another user input) is wrong; `field` is a dotted path such as `space.lr.low`."""

    code = "invalid_spec"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class NotFound(CaviarError):
    code = "not_found"


class Conflict(CaviarError):
    """The request is valid but clashes with the current state (e.g. cancelling a finished search)."""

    code = "conflict"


class TrialNotClaimable(CaviarError):
    """Another worker claimed the trial first, or it is no longer queued."""

    code = "trial_not_claimable"


class ClientDisconnected(CaviarError):
    """The client went away while its answer was being worked out; the work was abandoned (answered 499,
    nginx's "client closed request", for the logs: nobody reads it)."""

    code = "client_disconnected"


class InfrastructureError(CaviarError):
    """Redis or the database is unreachable; raised `from` the library's own error."""

    code = "unavailable"


class InvalidRequest(InvalidSpec):
    """A query parameter the schema accepts but the data rules out, such as a sort by a metric the
    objective never reports; answered 422 like the schema's own `invalid_request` errors."""

    code = "invalid_request"


class ResponseTooLarge(InvalidRequest):
    """The answer would pass CAVIAR_MAX_RESPONSE_BYTES and cannot be paged; `field` names the query
    parameter to change, the message what to ask for instead (answered 422)."""

    code = "response_too_large"


class IdempotencyKeyReused(InvalidSpec):
    """An `Idempotency-Key` already created a search from a different spec (answered 422, as Stripe does)."""

    code = "idempotency_key_reused"

    def __init__(self, message: str) -> None:
        super().__init__("Idempotency-Key", message)


class Unauthenticated(CaviarError):
    """The request carries no API key, or one that is unknown, malformed or revoked (answered 401)."""

    code = "unauthenticated"

    def __init__(self, message: str, *, key_sent: bool) -> None:
        super().__init__(message)
        self.key_sent = key_sent


class Forbidden(CaviarError):
    """The API key is valid but its scope does not allow this, or the search is another key's (403)."""

    code = "forbidden"
