"""Property-based contract test: random valid and invalid requests never get a 5xx or an off-schema answer.

Schemathesis generates requests from the app's own OpenAPI schema (valid ones, and ones that break it)
and calls the ASGI app in process, on a real SQLite database and Redis; each response is checked
against the schema (status code, content type, headers, body). API keys are required and every request
carries an admin key (Schemathesis also checks that a wrong key is refused). One test per operation; the
SSE stream is left out (endless while a search runs; tests/integration/api/test_events.py covers it).
CAVIAR_CONTRACT_EXAMPLES sets the examples per operation and mode; CAVIAR_CONTRACT_DATABASE=postgresql
runs it on PostgreSQL instead of SQLite.

(Schemathesis' own pytest loader, `from_fixture`, does not run on pytest 9, hence the explicit
Hypothesis test per operation.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import text

from app.api.main import create_app
from app.domain.api_keys import Scope
from app.services.api_keys import create_key
from app.settings import Settings
from app.storage.db import get_engine, session_scope
from app.storage.models import Base
from tests.integration.helpers import quick_spec

EXAMPLES = int(os.environ.get("CAVIAR_CONTRACT_EXAMPLES", "20"))
SKIPPED_PATHS = ("/searches/{search_id}/events",)


def _cases() -> list[Any]:
    """(method, path, mode) for every operation; negative only where there is an input to break."""
    document = create_app(Settings(database_url="sqlite:///:memory:")).openapi()
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path in SKIPPED_PATHS:
                continue
            modes = [GenerationMode.POSITIVE]
            if operation.get("parameters") or operation.get("requestBody"):
                modes.append(GenerationMode.NEGATIVE)
            cases += [
                pytest.param(method.upper(), path, mode, id=f"{method.upper()} {path} {mode}")
                for mode in modes
            ]
    return cases


def _semantic(operation: Any) -> bool:
    """Inputs whose meaning no schema states: an opaque cursor, a search spec, an uploaded file, a trial's
    live controls (which depend on its objective and config). A schema-valid value may still be refused
    there (422, e.g. a cursor this API never issued)."""
    names = {parameter.name for parameter in operation.iter_parameters()}
    return "cursor" in names or operation.method.upper() in ("POST", "PATCH")


@pytest.fixture
def contract_database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite by default; CAVIAR_CONTRACT_DATABASE=postgresql runs the same test on PostgreSQL."""
    if os.environ.get("CAVIAR_CONTRACT_DATABASE") == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        with get_engine(url).begin() as connection:
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return url
    path = tmp_path / "contract.db"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"


@pytest.fixture
def admin_headers(contract_database_url: str) -> dict[str, str]:
    with session_scope(contract_database_url) as session:
        _, token = create_key(session, "contract", Scope.ADMIN)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api_schema(
    contract_database_url: str, tmp_path: Path, redis_url: str, admin_headers: dict[str, str]
) -> Iterator[Any]:
    app_settings = Settings(
        auth="required",
        database_url=contract_database_url,
        redis_url=redis_url,
        max_trials_per_search=50,
        max_parallel_per_search=8,
        dataset_cache_dir=tmp_path / "cache",
        queue_name=f"caviar-contract-{os.getpid()}",
    )
    app = create_app(app_settings)
    with TestClient(app, headers=admin_headers) as seed:  # something for the generated ids to find
        running = seed.post("/searches", json=quick_spec()).json()["id"]
        cancelled = seed.post("/searches", json=quick_spec(name="cancelled")).json()["id"]
        seed.post(f"/searches/{cancelled}/cancel", json={})
        external = {**quick_spec(name="external", objective="external", metric="loss"), "dataset": None}
        seed.post("/searches", json=external)  # trials to ask for, report on and tell
        assert running
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Every case carries the admin key (below): the generated cases must not leave it out or mangle it
    # and call that "invalid data" (the `ignored_auth` check still sends cases without a valid key).
    schema.config.generation.update(with_security_parameters=False)
    yield schema
    if app_settings.is_sqlite:
        get_engine(app_settings.database_url).dispose()


@pytest.mark.parametrize(("method", "path", "mode"), _cases())
def test_operation_answers_generated_requests_within_its_contract(
    api_schema: Any, admin_headers: dict[str, str], method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=admin_headers, excluded_checks=excluded)

    excluded = [positive_data_acceptance] if _semantic(operation) else []
    check()
