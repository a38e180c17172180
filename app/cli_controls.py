"""`caviar nudge`: change a running trial's hyperparameters from its next epoch."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from app.cli_common import DEFAULT_API_URL, ApiUrl, call, client, console, fail


def nudge(
    trial_id: Annotated[int, typer.Argument(help="The running trial.", show_default=False)],
    controls: Annotated[
        list[str],
        typer.Argument(
            help="NAME=VALUE pairs, e.g. learning_rate=0.003 (VALUE as JSON).", show_default=False
        ),
    ],
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Nudge a running trial: change live hyperparameters (learning_rate, l2, keep_prob, ...)."""
    changes = dict(_control(text) for text in controls)
    with client(api_url) as api:
        result = call(api.nudge, trial_id, **changes)
    console.print(
        f"trial {trial_id}: {changes} applies from its next epoch ({len(result['pending'])} pending)"
    )


def _control(text: str) -> tuple[str, Any]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        fail(f"{text!r}: write NAME=VALUE, e.g. learning_rate=0.003")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        fail(f"{text!r}: the value must be a number or a JSON list, e.g. keep_prob=[0.8,0.9]")


COMMANDS = (nudge,)
