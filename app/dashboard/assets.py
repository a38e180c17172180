"""Where the JavaScript and CSS the pages need come from: our own files, and libraries shipped in wheels.

Nothing is loaded from the internet. plotly.js is vendored in `static/vendor/` (its licence beside it):
the official gl2d partial bundle, the only one with WebGL scatter and parallel coordinates at 1.5 MB
instead of the full bundle's 4.8 MB, which is most of a cold page load's time. Swagger UI and ReDoc come
from the pinned `fastapi-offline` wheel (their licences ship in it). Every URL carries the version, so a
browser may cache them for a year: an upgrade changes the URL.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
PLOTLY_BUNDLE = "plotly-gl2d-4.1.1.min.js"
VENDOR_PREFIX = "/dashboard/vendor"


# ReDoc's sidebar shows a "powered by" logo fetched from its CDN; point it at a file of ours instead.
REDOC_LOGO = ('src:"https://cdn.redoc.ly/redoc/logo-mini.svg"', 'src:"/dashboard/static/favicon.svg"')


@dataclass(frozen=True)
class VendoredFile:
    url_name: str
    path: Path
    media_type: str
    rewrites: tuple[tuple[str, str], ...] = ()
    """(text, replacement) pairs applied when served: links the library would follow off the machine."""

    def content(self) -> bytes:
        text = self.path.read_bytes()
        for old, new in self.rewrites:
            text = text.replace(old.encode(), new.encode())
        return text

    @property
    def url(self) -> str:
        return f"{VENDOR_PREFIX}/{self.url_name}"


def _package_dir(package: str) -> Path:
    # find_spec, not import: the package's data is all we need, not its code.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {package!r} package is missing: reinstall Caviar (`pip install -e .`)")
    return Path(next(iter(spec.submodule_search_locations)))


def vendored_files() -> dict[str, VendoredFile]:
    """url name -> file, for every third-party asset the dashboard and the API docs use."""
    offline = version("fastapi-offline")
    offline_static = _package_dir("fastapi_offline") / "static"
    js, css = "text/javascript", "text/css"
    files = [
        VendoredFile(PLOTLY_BUNDLE, VENDOR_DIR / PLOTLY_BUNDLE, js),
        VendoredFile(f"swagger-ui-bundle-{offline}.js", offline_static / "swagger-ui-bundle.js", js),
        VendoredFile(f"swagger-ui-{offline}.css", offline_static / "swagger-ui.css", css),
        VendoredFile(
            f"redoc.standalone-{offline}.js", offline_static / "redoc.standalone.js", js, (REDOC_LOGO,)
        ),
        VendoredFile(f"favicon-{offline}.png", offline_static / "favicon.png", "image/png"),
    ]
    return {file.url_name: file for file in files}


def vendored_url(prefix: str) -> str:
    """The URL of the vendored file whose url name starts with `prefix`, e.g. `plotly-`."""
    return next(file.url for name, file in vendored_files().items() if name.startswith(prefix))
