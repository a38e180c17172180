"""The built wheel, installed in a fresh virtualenv, next to a user's own `app/` package.

Offline: the wheel is built without build isolation and installed with --no-deps --no-index; the
fresh venv reaches the dependencies through a .pth line naming this venv's site-packages (a path added
that way does not run the .pth files in it, so this checkout's editable install stays out of sight).
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "caviar", "app", "workers")

pytestmark = pytest.mark.slow


def run(*argv: str | Path, cwd: Path) -> str:
    result = subprocess.run([str(arg) for arg in argv], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel built from a copy of the sources (so no stale build/ leaks in)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        base,
        ".",
        cwd=source,
    )
    (wheel,) = base.glob("caviar_hpo-*.whl")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=base,
    )
    purelib = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=base).strip()
    )
    (purelib / "caviar-test-dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    return env_dir


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A notebook folder whose own `app` package would shadow a top-level `app` from site-packages."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("OWNER = 'the user'\n")
    return tmp_path


def test_the_wheel_installs_caviar_and_no_top_level_app_or_workers(installed: Path) -> None:
    purelib = next((installed / "lib").glob("python3*/site-packages"))
    assert (purelib / "caviar").is_dir()
    assert not (purelib / "app").exists() and not (purelib / "workers").exists()


def test_the_public_import_works_next_to_a_users_app_package(installed: Path, user_project: Path) -> None:
    code = (
        "import app, caviar\n"
        "from caviar import AsyncCaviarClient, CaviarClient, Trial, TrialPruned, InvalidParams\n"
        "assert app.OWNER == 'the user', app.__file__\n"
        "assert 'site-packages' in caviar.__file__, caviar.__file__\n"
        "print(CaviarClient.__name__)"
    )
    assert run(installed / "bin" / "python", "-c", code, cwd=user_project).strip() == "CaviarClient"


def test_the_caviar_command_runs_our_server_next_to_a_users_app_package(
    installed: Path, user_project: Path
) -> None:
    out = run(installed / "bin" / "caviar", "--help", cwd=user_project)
    assert "hyperparameter search" in out
    code = "import runpy, sys; sys.argv = ['caviar', 'db', '--help']; runpy.run_module('caviar._server')"
    assert "upgrade" in run(installed / "bin" / "python", "-P", "-c", code, cwd=user_project)
