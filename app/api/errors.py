"""One handler maps Caviar's errors to HTTP; every error body is {"error": {code, message, field}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    CaviarError,
    ClientDisconnected,
    Conflict,
    Forbidden,
    InfrastructureError,
    InvalidSpec,
    NotFound,
    TrialNotClaimable,
    Unauthenticated,
)
from app.storage.db import POOL_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST = 499
_STATUS: dict[type[CaviarError], int] = {
    InvalidSpec: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Unauthenticated: status.HTTP_401_UNAUTHORIZED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    TrialNotClaimable: status.HTTP_409_CONFLICT,
    InfrastructureError: status.HTTP_503_SERVICE_UNAVAILABLE,
    ClientDisconnected: CLIENT_CLOSED_REQUEST,
}


def error_response(
    status_code: int, code: str, message: str, field: str | None = None, **extra: object
) -> JSONResponse:
    body = {"code": code, "message": message, "field": field, **extra}
    return JSONResponse(status_code=status_code, content={"error": body})


def _field_of(location: tuple[object, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    dotted = ""
    for part in parts:
        dotted += f"[{part}]" if part.isdigit() else (f".{part}" if dotted else part)
    return dotted


async def _caviar_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CaviarError)
    status_code = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
    response = error_response(status_code, error.code, error.message, error.field)
    if isinstance(error, Unauthenticated):
        # RFC 6750: the scheme to use, and `invalid_token` when the key sent was refused.
        challenge = 'Bearer realm="caviar"' + (', error="invalid_token"' if error.key_sent else "")
        response.headers["WWW-Authenticate"] = challenge
    return response


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    field = _field_of(tuple(first.get("loc", ())))
    message = f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg", "invalid"))
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "invalid_request",
        message,
        field or None,
        details=jsonable_encoder(error.errors(), exclude={"input", "ctx", "url"}),
    )


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    codes = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}
    code = codes.get(error.status_code, "http_error")
    response = error_response(error.status_code, code, str(error.detail))
    response.headers.update(error.headers or {})  # e.g. `Allow` on a 405
    return response


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, error)
    response = error_response(
        status.HTTP_503_SERVICE_UNAVAILABLE, "unavailable", "the database is unavailable; retry shortly"
    )
    response.headers["Retry-After"] = "1"
    return response


BUSY_RETRY_AFTER_SECONDS = 2


def busy_response(why: str) -> JSONResponse:
    """503 `busy` with `Retry-After`: too many requests at once, `why` saying which limit was hit."""
    response = error_response(
        status.HTTP_503_SERVICE_UNAVAILABLE, "busy", f"the service is saturated ({why}); retry shortly"
    )
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response


async def _saturated(request: Request, error: Exception) -> JSONResponse:
    # Every pooled connection stayed busy for POOL_TIMEOUT_SECONDS: too many requests at once. Say so
    # and when to come back, rather than a 500.
    log.warning("%s %s: no database connection free: %s", request.method, request.url.path, error)
    return busy_response(f"no database connection was free within {POOL_TIMEOUT_SECONDS:g} s")


async def _unstorable_value(request: Request, error: Exception) -> JSONResponse:
    # The database refused a value the request carried (PostgreSQL: a NUL character in a string).
    # The transaction was rolled back; nothing changed.
    log.warning("%s %s: value refused by the database: %s", request.method, request.url.path, error)
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "invalid_request",
        "a value in the request cannot be stored (strings must not contain NUL characters)",
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "internal", "internal error; see the API log"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CaviarError, _caviar_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _saturated)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(Exception, _unexpected)
