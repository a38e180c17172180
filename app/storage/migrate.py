"""Alembic driven from code, so `caviar db upgrade` works from any directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

# The top-level `migrations/` of a source checkout; a wheel does not carry it, so migrations run from a
# checkout installed with `pip install -e .` (or the Docker image, which installs that way).
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class MigrationsNotFound(RuntimeError):
    """This installation has no migrations directory (not installed from a source checkout)."""


def alembic_config(database_url: str, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    if not (migrations_dir / "env.py").is_file():
        raise MigrationsNotFound(
            f"no Alembic migrations at {migrations_dir}: run `caviar db upgrade` from a source checkout "
            "installed with `pip install -e .`, or from the Docker image"
        )
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # ConfigParser interpolation would eat '%' in passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)
