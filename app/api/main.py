"""The FastAPI application."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from app import __version__
from app.api.body_guard import BodyGuard
from app.api.browser_safety import install_browser_safety
from app.api.conditional import install_not_modified_handler
from app.api.errors import install_error_handlers
from app.api.openapi import install_openapi
from app.api.routes import analysis, datasets, events, exports, health, metrics, searches, trials, workers
from app.settings import Settings, get_settings

DESCRIPTION = """
Hyperparameter search as a service. POST a search spec (objective, dataset, search space on the right
scale, strategy, budget); workers train the trials in parallel ("caviar", not "panda"); poll the
search, its trials and its best configurations.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="Caviar", version=__version__, description=DESCRIPTION)
    app.state.settings = settings or get_settings()
    install_error_handlers(app)
    install_not_modified_handler(app)
    for module in (searches, exports, events, analysis, trials, datasets, workers, health, metrics):
        app.include_router(module.router)
    install_openapi(app)
    app.add_middleware(BodyGuard, settings=app.state.settings)
    install_browser_safety(app, app.state.settings)
    logging.getLogger(__name__).info("API ready on database %s", app.state.settings.database_url)
    return app
