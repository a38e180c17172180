"""Complete the generated OpenAPI schema: every operation declares the one error shape it can answer with.

FastAPI documents request validation errors as its own `HTTPValidationError`; Caviar answers them as
`ErrorResponse` like every other error, so that is what the schema must say. Every operation can also
answer 500 and 503 (database unavailable), one with a body 400 (unreadable body), one that changes
state 413 (body too large) and 415 (not JSON), one that takes an API key 401 and 403; each error
response carries an example.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "400": (
        "The body could not be read at all (e.g. not UTF-8, or a broken multipart form).",
        {"code": "invalid_body", "message": "There was an error parsing the body", "field": None},
    ),
    "401": (
        "No API key, or one that is unknown or revoked (`WWW-Authenticate: Bearer`).",
        {
            "code": "unauthenticated",
            "message": "this API requires a key: send `Authorization: Bearer <key>` (...)",
            "field": None,
        },
    ),
    "403": (
        "The key's scope does not allow this, or a submit key changes a search it did not create.",
        {
            "code": "forbidden",
            "message": "the API key 'dashboards' has scope read; POST /searches needs submit",
            "field": None,
        },
    ),
    "404": ("Not found.", {"code": "not_found", "message": "search 42 does not exist", "field": None}),
    "409": (
        "Conflicts with the current state.",
        {"code": "conflict", "message": "search 42 is already completed", "field": None},
    ),
    "413": (
        "The body is larger than the limit (CAVIAR_MAX_REQUEST_BYTES; uploads: CAVIAR_MAX_DATASET_BYTES).",
        {
            "code": "payload_too_large",
            "message": "the request body must be at most 1048576 bytes",
            "field": None,
        },
    ),
    "415": (
        "A state-changing request must say `Content-Type: application/json` (uploads: multipart/form-data).",
        {
            "code": "unsupported_media_type",
            "message": "send `Content-Type: application/json` (even with an empty body)",
            "field": None,
        },
    ),
    "422": (
        "The request is invalid: a parameter, the body, or the spec's meaning. Nothing was changed.",
        {
            "code": "invalid_spec",
            "message": "`low <= high` must hold, got low=1.0, high=0.1",
            "field": "space.learning_rate.low",
        },
    ),
    "500": (
        "Unexpected error; the API log has the details.",
        {"code": "internal", "message": "internal error; see the API log", "field": None},
    ),
    "503": (
        "The database (or Redis) is unavailable; retry shortly.",
        {"code": "unavailable", "message": "the database is unavailable; retry shortly", "field": None},
    ),
}
ALWAYS = ("500", "503")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = complete(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Point every error response at ErrorResponse, add 422/500/503 where missing, attach examples."""
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _complete_operation(operation, writes=method.upper() in WRITES)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return schema


def _complete_operation(operation: dict[str, Any], *, writes: bool) -> None:
    responses: dict[str, Any] = operation["responses"]
    takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
    wanted = [
        *(("401", "403") if operation.get("security") else ()),
        *(("400",) if "requestBody" in operation else ()),
        *(("413", "415") if writes else ()),
        *(("422",) if takes_input else ()),
        *ALWAYS,
    ]
    for code in wanted:
        responses.setdefault(code, {})
    for code, response in responses.items():
        if code not in EXAMPLES:
            continue
        if not _is_error_shape(response):
            continue  # a route's own model for this code, e.g. /healthz's 503 Health body
        description, example = EXAMPLES[code]
        declared = response.get("description")
        if not declared or declared in ("Validation Error", "Unprocessable Entity", "Unprocessable Content"):
            response["description"] = description
        response["content"] = {"application/json": {"schema": ERROR_REF, "example": {"error": example}}}


def _is_error_shape(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return schema is None or schema.get("$ref", "").rsplit("/", 1)[-1] in (
        "ErrorResponse",
        "HTTPValidationError",
    )
