"""HTML and asset routes: the dashboard at `/`, its static files, vendored libraries, offline API docs."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from app.dashboard.assets import STATIC_DIR, vendored_files, vendored_url
from app.errors import NotFound

router = APIRouter(include_in_schema=False)
YEAR = "public, max-age=31536000, immutable"


class RevalidatedStaticFiles(StaticFiles):
    """Our own JS and CSS: the browser revalidates each load (ETag, 304), so an upgrade shows at once."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


@cache
def _index_html() -> str:
    # The page names the versioned plotly URL, so the index is the one place that knows the version.
    return (STATIC_DIR / "index.html").read_text().replace("{{PLOTLY_URL}}", vendored_url("plotly-"))


@router.get("/")
def dashboard() -> HTMLResponse:
    return HTMLResponse(_index_html(), headers={"Cache-Control": "no-cache"})


@cache
def _vendored_content(name: str) -> tuple[bytes, str] | None:
    file = vendored_files().get(name)
    return (file.content(), file.media_type) if file is not None else None


@router.get("/dashboard/vendor/{name}")
def vendored(name: str) -> Response:
    found = _vendored_content(name)
    if found is None:
        raise NotFound(f"no vendored asset {name!r}")
    content, media_type = found
    return Response(content, media_type=media_type, headers={"Cache-Control": YEAR})


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Caviar API",
        swagger_js_url=vendored_url("swagger-ui-bundle-"),
        swagger_css_url=vendored_url("swagger-ui-"),
        swagger_favicon_url=vendored_url("favicon-"),
        oauth2_redirect_url="/docs/oauth2-redirect",
        # The default validator badge would call validator.swagger.io: nothing may leave the machine.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="Caviar API",
        redoc_js_url=vendored_url("redoc.standalone-"),
        redoc_favicon_url=vendored_url("favicon-"),
        with_google_fonts=False,
    )


def install_dashboard(app: FastAPI) -> None:
    """Add the dashboard, its assets and the offline `/docs` and `/redoc` (create the app with
    `docs_url=None, redoc_url=None` so FastAPI's CDN-backed pages are not there first)."""
    from app.api.auth import AUTHORIZED
    from app.dashboard import data_routes

    app.include_router(router)  # public: the page and its assets hold no data
    app.include_router(data_routes.router, dependencies=[AUTHORIZED])
    app.mount("/dashboard/static", RevalidatedStaticFiles(directory=STATIC_DIR), name="dashboard-static")
