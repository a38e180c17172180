"""`caviar nudge`: change a running trial's hyperparameters from its next epoch; the NAME=VALUE parser;
`caviar pause|resume|stop`: pause a trial, queue it again, or end it now with its best epoch so far."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from app.cli_common import DEFAULT_API_URL, ApiUrl, call, client, console, fail
from caviar import CaviarClient

ALIASES = {"lr": "learning_rate", "alpha": "learning_rate", "α": "learning_rate"}
"""Short names people type for a control; the API knows only the long ones."""
USAGE = "write NAME=VALUE or NAME VALUE, e.g. learning_rate=0.003 or lr 0.003"


class BadControl(ValueError):
    """A control the user typed cannot be read; the message says what to write instead."""


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
    try:
        changes = parse_controls(controls)
    except BadControl as error:
        fail(str(error))
    with client(api_url) as api:
        result = call(api.nudge, trial_id, **changes)
    console.print(
        f"trial {trial_id}: {changes} applies from its next epoch ({len(result['pending'])} pending)"
    )


def parse_controls(words: Sequence[str]) -> dict[str, Any]:
    """`["lr", "0.003"]` or `["learning_rate=0.003", "keep_prob=[0.9,0.8]"]` as the body of a nudge.

    Each control is one `NAME=VALUE` word or two words `NAME VALUE`; VALUE is JSON. Which names a trial
    accepts is the API's to say, so any name passes here (`lr` and `alpha` mean `learning_rate`).
    """
    if not words:
        raise BadControl(f"no control given; {USAGE}")
    changes: dict[str, Any] = {}
    remaining = list(words)
    while remaining:
        word = remaining.pop(0)
        name, equals, value = word.partition("=")
        if not equals:
            if not remaining:
                raise BadControl(f"{word!r} has no value; {USAGE}")
            value = remaining.pop(0)
        if not name:
            raise BadControl(f"{word!r} has no name; {USAGE}")
        changes[ALIASES.get(name, name)] = _value(name, value)
    return changes


def _value(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise BadControl(
            f"{name}: {text!r} is not a value; write a number or a JSON list, e.g. keep_prob=[0.8,0.9]"
        ) from None


RUN_CONTROLS = ("pause", "resume", "stop")
"""What `caviar watch`'s prompt accepts besides nudges."""
TrialId = Annotated[int, typer.Argument(help="The trial.", show_default=False)]


def pause(trial_id: TrialId, api_url: ApiUrl = DEFAULT_API_URL) -> None:
    """Pause a trial: a running one checkpoints after its current epoch and frees its worker."""
    _run_control(api_url, "pause", trial_id)


def resume(trial_id: TrialId, api_url: ApiUrl = DEFAULT_API_URL) -> None:
    """Resume a paused trial: the next worker continues from its checkpoint."""
    _run_control(api_url, "resume", trial_id)


def stop(trial_id: TrialId, api_url: ApiUrl = DEFAULT_API_URL) -> None:
    """Stop a running or paused trial now: it completes with its best epoch so far."""
    _run_control(api_url, "stop", trial_id)


def _run_control(api_url: str, action: str, trial_id: int) -> None:
    with client(api_url) as api:
        trial = call(run_control(api, action), trial_id)
    console.print(describe_run_control(action, trial))


def run_control(api: CaviarClient, action: str) -> Callable[[int], dict[str, Any]]:
    """The client method for `action` (one of RUN_CONTROLS)."""
    methods: dict[str, Callable[[int], dict[str, Any]]] = {
        "pause": api.pause,
        "resume": api.resume,
        "stop": api.stop,
    }
    return methods[action]


def describe_run_control(action: str, trial: dict[str, Any]) -> str:
    """One line: what a pause, resume or stop did to `trial` (the API's answer)."""
    pending = (trial.get("run_request") or {}).get("action")
    if pending is not None:
        return f"trial {trial['id']} is {trial['state']}; it will {pending} after its current epoch"
    value = "" if trial["value"] is None else f" (value {trial['value']:.6g})"
    return f"trial {trial['id']} is {trial['state']}{value}"


COMMANDS = (nudge, pause, resume, stop)
