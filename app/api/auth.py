"""API keys on every API route: who may call what.

- **When.** `Settings.keys_required`: `CAVIAR_AUTH=required` or `off`; `auto` (the default) requires keys
  unless the API binds to a loopback address and answers loopback host names only, so `caviar up` on a
  laptop needs none, and a bind to `0.0.0.0` or a public name in `CAVIAR_ALLOWED_HOSTS` (a reverse
  proxy) needs them.
- **What.** GET and HEAD (the event stream included) need a `read` key; the writes in `SUBMIT_ROUTES`
  (searches and ask/tell) a `submit` key; every other write (dataset uploads, anything added later) an
  `admin` key. Submit keys cancel, re-test, nudge, branch, pause and stop only the searches they created
  (the services check that).
- **Not here.** The dashboard's page and assets, `/docs`, `/openapi.json` and `/healthz` are public:
  they hold no data. The dashboard's data calls send the key like any client.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.deps import SettingsDep
from app.domain.api_keys import ANYONE, Caller, Scope
from app.errors import Forbidden
from app.services import api_keys as service
from app.storage.db import read_session_scope, session_scope

SUBMIT_ROUTES = frozenset(
    {
        "create_search",
        "cancel_search",
        "retest",
        "nudge_trial",
        "create_branch",
        "pause_trial",
        "resume_trial",
        "stop_trial",
        "ask",
        "report",
        "tell",
    }
)
"""Names of the write routes a `submit` key may call (FastAPI names a route after its function)."""
READS = frozenset({"GET", "HEAD"})


def needed_scope(request: Request) -> Scope:
    if request.method in READS:
        return Scope.READ
    route_name = getattr(request.scope.get("route"), "name", None)
    return Scope.SUBMIT if route_name in SUBMIT_ROUTES else Scope.ADMIN


# Reads `Authorization: Bearer …` and declares the scheme in the OpenAPI schema (the Authorize button
# of /docs); auto_error off: a missing key is ours to answer, in the one error shape.
bearer = HTTPBearer(auto_error=False, description="An API key from `caviar keys create`.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def authorize(request: Request, settings: SettingsDep, credentials: BearerDep) -> Caller:
    """The caller, with a scope that allows this request; 401 without a valid key, 403 beyond its scope."""
    # async, so that an API without keys answers without a hand-off to a thread; the key's check reads and
    # may write the database: one hand-off for all of it.
    if not request.app.state.keys_required:
        return ANYONE
    token = credentials.credentials if credentials else None
    return await run_in_threadpool(_check_key, settings.database_url, token, request)


def _check_key(database_url: str, token: str | None, request: Request) -> Caller:
    with read_session_scope(database_url) as session:
        key = service.authenticate(session, token)
        caller = service.caller_of(key)
    needed = needed_scope(request)
    if not caller.scope.includes(needed):
        raise Forbidden(
            f"the API key {caller.key_name!r} has scope {caller.scope.value}; "
            f"{request.method} {request.url.path} needs {needed.value}"
        )
    with session_scope(database_url) as session:
        service.record_use(session, key)
    return caller


CallerDep = Annotated[Caller, Depends(authorize)]
AUTHORIZED: DependsParam = Depends(authorize)
"""Add to every router of the API (`include_router(..., dependencies=[AUTHORIZED])`)."""
