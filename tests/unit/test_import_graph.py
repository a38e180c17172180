"""The package graph points down: caviar (public) ← app (domain … api) ← workers, and no cycle.

Checked twice: statically (every `import` in every module, including those inside functions) and on
the real graph (what importing the API or `caviar` loads, in a fresh interpreter).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

COMPOSITION_ROOTS = frozenset({"app/cli.py"})
"""The `caviar` command starts a worker in its own process (`caviar worker`): the one module of `app` that
may import `workers`, and only inside that command."""


def imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def imports_under(folder: str, forbidden: tuple[str, ...], exempt: frozenset[str] = frozenset()) -> list[str]:
    """`file: module` for each import, in the package at `folder`, of a module in `forbidden`."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in exempt:
            continue
        for module in imported_modules(path):
            if any(module == name or module.startswith(name + ".") for name in forbidden):
                found.append(f"{relative}: {module}")
    return found


def test_app_imports_nothing_from_workers_but_the_cli_worker_command() -> None:
    assert imports_under("app", ("workers",), exempt=COMPOSITION_ROOTS) == []


def test_the_cli_reaches_workers_only_through_the_worker_entry_point() -> None:
    cli_imports = [m for m in imported_modules(ROOT / "app/cli.py") if m.split(".")[0] == "workers"]
    assert cli_imports == ["workers.worker"]


def test_workers_never_import_the_api_or_the_cli() -> None:
    assert imports_under("workers", ("app.api", "app.cli", "app.supervisor")) == []


def test_the_public_package_imports_neither_app_nor_workers() -> None:
    assert imports_under("caviar", ("app", "workers"), exempt=frozenset({"caviar/_server/__init__.py"})) == []


def test_the_domain_imports_no_storage_services_or_api() -> None:
    assert (
        imports_under("app/domain", ("app.storage", "app.services", "app.api", "fastapi", "sqlalchemy")) == []
    )


def loaded_modules(code: str) -> list[str]:
    """Top-level and `workers.*` module names loaded by `code` in a fresh interpreter."""
    script = (
        f"import json, sys\n{code}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('app', 'workers', 'caviar'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "code",
    [
        "from app.api.main import create_app\nfrom app.settings import Settings\n"
        "create_app(Settings(database_url='sqlite://'))",
        "import app.cli",
    ],
    ids=["api", "cli"],
)
def test_the_api_and_cli_processes_never_load_the_trainer(code: str) -> None:
    assert [module for module in loaded_modules(code) if module.split(".")[0] == "workers"] == []


def test_importing_caviar_loads_no_server_module() -> None:
    loaded = loaded_modules("import caviar\ncaviar.CaviarClient, caviar.Trial")
    assert {module.split(".")[0] for module in loaded} == {"caviar"}
