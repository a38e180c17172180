"""The FastAPI application."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from app import __version__
from app.api.admission import AdmissionLimit
from app.api.auth import AUTHORIZED
from app.api.body_guard import BodyGuard
from app.api.browser_safety import install_browser_safety
from app.api.conditional import install_not_modified_handler
from app.api.errors import install_error_handlers
from app.api.openapi import install_openapi
from app.api.routes import (
    analysis,
    ask_tell,
    datasets,
    events,
    exports,
    health,
    metrics,
    searches,
    trials,
    workers,
)
from app.dashboard.pages import install_dashboard
from app.settings import Settings, get_settings

DESCRIPTION = """
Hyperparameter search as a service. POST a search spec (objective, dataset, search space on the right
scale, strategy, budget); workers train the trials in parallel ("caviar", not "panda"); poll the
search, its trials and its best configurations.
"""


def create_app(settings: Settings | None = None, *, bind_host: str | None = None) -> FastAPI:
    """The API for `settings`; `bind_host` (the address it listens on) decides `CAVIAR_AUTH=auto`."""
    # docs_url/redoc_url None: FastAPI's own pages load their scripts from a CDN; the dashboard serves both
    # from files shipped in wheels, so they work offline.
    app = FastAPI(title="Caviar", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None)
    app.state.settings = settings or get_settings()
    app.state.keys_required = app.state.settings.keys_required(bind_host)
    install_error_handlers(app)
    install_not_modified_handler(app)
    for module in (searches, ask_tell, exports, events, analysis, trials, datasets, workers, metrics):
        app.include_router(module.router, dependencies=[AUTHORIZED])
    app.include_router(health.router)  # public: liveness probes carry no key
    install_dashboard(app)
    install_openapi(app)
    app.add_middleware(BodyGuard, settings=app.state.settings)
    app.add_middleware(
        AdmissionLimit,
        limit=app.state.settings.max_concurrent_requests,
        timeout=app.state.settings.admission_timeout_seconds,
    )
    install_browser_safety(app, app.state.settings)
    logging.getLogger(__name__).info(
        "API ready on database %s; API keys %s",
        app.state.settings.database_url,
        "required" if app.state.keys_required else "not required",
    )
    return app
