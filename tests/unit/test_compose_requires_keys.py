"""The compose file publishes the API on every address, so it must require API keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_compose_api_requires_keys_whatever_it_binds_to() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    api = compose["services"]["api"]
    assert api["environment"]["CAVIAR_AUTH"] == "required"
    settings = Settings().model_copy(update={"auth": api["environment"]["CAVIAR_AUTH"]})
    bind_host = api["command"][api["command"].index("--host") + 1]
    assert bind_host == "0.0.0.0" and settings.keys_required(bind_host)
