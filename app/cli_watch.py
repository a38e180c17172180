"""`caviar watch TRIAL`: the trial's live curve in the terminal, and a prompt to nudge its hyperparameters."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated, TextIO

import httpx
import typer
from rich.console import Group
from rich.live import Live
from rich.text import Text

from app.cli_chart import render_curve
from app.cli_common import DEFAULT_API_URL, ApiUrl, call, client, console, fail, load_spec
from app.cli_controls import RUN_CONTROLS, BadControl, describe_run_control, parse_controls, run_control
from app.cli_watch_state import NUDGE_MARK, RESUME_MARK, WatchedTrial
from caviar import CaviarAPIError, CaviarClient

QUIT = frozenset({"q", "quit", "exit"})
CHART_HEIGHT = 10
MAX_CHART_WIDTH = 120


def watch(
    trial_id: Annotated[int, typer.Argument(help="The trial.", show_default=False)],
    metric: Annotated[
        str | None, typer.Option(help="The metric to draw (default: the search's metric).")
    ] = None,
    prompt: Annotated[
        bool, typer.Option(help="Read nudges from stdin (`lr 0.003` + Enter; `q` quits).")
    ] = True,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Watch a trial's learning curve live until it ends; type `lr 0.003` + Enter to nudge it."""
    with client(api_url) as api:
        detail = call(api.trial, trial_id)
        search = call(api.search, detail["search_id"])
    watched = WatchedTrial.from_detail(detail, metric or search["metric"])
    if watched.finished:
        console.print(render(watched, prompting=False))
    else:
        follow_live(watched, api_url, sys.stdin if prompt else None)
    with client(api_url) as api:
        final = call(api.trial, trial_id)
    value = "none" if final["value"] is None else f"{final['value']:.6g}"
    console.print(f"trial {trial_id} {final['state']}: {search['metric']} = {value}")
    if final["error"]:
        console.print(Text(f"error: {final['error']}", style="red"))


def follow_live(watched: WatchedTrial, api_url: str, commands: TextIO | None) -> None:
    """Redraw `watched` as its search's events arrive, until the trial ends or the user quits; then print
    it once.

    The events are read in one thread and `commands` (stdin) in another, so that the drawing goes on
    while either waits; `watched` is shared under a lock.
    """
    lock = threading.Lock()
    done = threading.Event()
    failures: list[Exception] = []
    threads = [threading.Thread(target=_follow, args=(watched, api_url, lock, done, failures), daemon=True)]
    if commands is not None:
        threads.append(
            threading.Thread(target=_prompt, args=(watched, api_url, commands, lock, done), daemon=True)
        )

    def snapshot() -> Group:
        prompting = len(threads) > 1 and threads[1].is_alive()  # until the end of input
        with lock:
            return render(watched, prompting=prompting)

    # Transient: a terminal is left with the view printed once at the end, as a pipe or file gets it.
    with Live(get_renderable=snapshot, console=console, refresh_per_second=4, transient=True):
        for thread in threads:
            thread.start()
        done.wait()
    with lock:  # after `q` the events thread may still be folding one in
        console.print(render(watched, prompting=False))  # the live view is gone: the last one stays
    if failures:
        call(_reraise, failures[0])  # the API's message, one line, exit code 1


def render(watched: WatchedTrial, *, prompting: bool) -> Group:
    """The screen: title, chart of the metric with nudge and resume marks, hyperparameters, log, prompt."""
    title = Text(f"trial {watched.trial_id} (search {watched.search_id}) {watched.state}", style="bold")
    title.append(f" · attempt {watched.attempt} · {watched.metric}", style="")
    points = watched.points()
    if points and all(value is None for _, value in points):
        chart = [f"no {watched.metric} in the curve; it has: {', '.join(watched.metric_names())}"]
    else:
        width = min(console.width, MAX_CHART_WIDTH)
        chart = render_curve(points, watched.marks(), width=width, height=CHART_HEIGHT)
    lines = [title, *(Text(row) for row in chart)]
    lines.append(Text(f"across: step · {NUDGE_MARK} nudge · {RESUME_MARK} resume", style="dim"))
    params = ", ".join(f"{name}={value}" for name, value in sorted(watched.current_params().items()))
    lines.append(Text(f"hyperparameters: {params}"))
    lines.extend(Text(entry) for entry in _log(watched))
    lines.extend(Text(f"> {answer}", style="cyan") for answer in watched.answers)
    if prompting and not watched.finished:
        lines.append(
            Text(
                "type NAME VALUE + Enter to nudge (e.g. lr 0.003); pause, resume, stop; q to quit",
                style="dim",
            )
        )
    return Group(*lines)


def nudge_answer(api: CaviarClient, trial_id: int, line: str) -> str:
    """Send the nudge (or the pause, resume or stop) typed in `line`; what happened, in one line (the
    API's error message if refused)."""
    try:
        if line in RUN_CONTROLS:
            return f"{line}: {describe_run_control(line, run_control(api, line)(trial_id))}"
        changes = parse_controls(line.split())
        result = api.nudge(trial_id, **changes)
    except BadControl as error:
        return f"{line}: {error}"
    except CaviarAPIError as error:
        return f"{line}: refused: {error}"
    except httpx.HTTPError as error:
        return f"{line}: the API did not answer ({type(error).__name__}: {error})"
    return f"{line}: accepted, applies from the next epoch ({len(result['pending'])} pending)"


def _log(watched: WatchedTrial) -> list[str]:
    entries = [
        (
            nudge["step"],
            f"step {nudge['step']} {NUDGE_MARK} "
            + ", ".join(f"{name} {c['old']} → {c['new']}" for name, c in nudge["changes"].items())
            + f" (by {nudge['by']})",
        )
        for nudge in watched.applied_nudges()
    ]
    entries.extend((step, text) for step, text in watched.log)
    entries.extend(
        (
            resume["step"] or 0,
            f"step {(resume['step'] or 0) + 1} {RESUME_MARK} attempt {resume['attempt']} resumed "
            f"after step {resume['step']} (checkpoint of attempt {resume['from_attempt']})",
        )
        for resume in watched.resumes.values()
    )
    return [text for _, text in sorted(entries, key=lambda entry: entry[0])]


def _follow(
    watched: WatchedTrial,
    api_url: str,
    lock: threading.Lock,
    done: threading.Event,
    failures: list[Exception],
) -> None:
    try:
        with CaviarClient(api_url) as api:
            for event in api.events(watched.search_id):
                with lock:
                    watched.apply(event)
                    if watched.finished:
                        return
        # The stream ended with the search (cancelled, or failed): the trial ended with it.
    except (CaviarAPIError, httpx.HTTPError) as error:
        failures.append(error)  # handed to the main thread, which reports it
    finally:
        done.set()


def _prompt(
    watched: WatchedTrial, api_url: str, commands: TextIO, lock: threading.Lock, done: threading.Event
) -> None:
    """Nudge the trial with each line typed; `q` ends the watch. At the end of input, only watch."""
    with CaviarClient(api_url) as api:
        for line in commands:
            text = line.strip()
            if text in QUIT:
                done.set()
                return
            if text:
                answer = nudge_answer(api, watched.trial_id, text)
                with lock:
                    watched.answer(answer)


def _reraise(error: Exception) -> None:
    raise error


def panda(
    spec_file: Annotated[Path, typer.Argument(dir_okay=False, help="A search spec (JSON).")],
    prompt: Annotated[
        bool, typer.Option(help="Read nudges from stdin (`lr 0.003` + Enter; `q` quits).")
    ] = True,
    api_url: ApiUrl = DEFAULT_API_URL,
) -> None:
    """Babysit a model: submit the spec as a panda search (one model unless its strategy says more) and
    watch its first trial live, nudging it from the prompt."""
    spec = load_spec(spec_file)
    strategy = spec.setdefault("strategy", {"kind": "panda"})
    if not isinstance(strategy, dict) or strategy.get("kind") != "panda":
        fail(f'{spec_file}: `caviar panda` runs panda searches; its strategy is {strategy!r} (use "panda")')
    models = strategy.get("models", 1)
    spec.setdefault("budget", {"max_trials": models, "max_parallel": models})
    with client(api_url) as api:
        search = call(api.submit, spec)
        first = call(lambda: next(api.trials(search["id"], limit=1)))
    console.print(f"search [bold]{search['id']}[/bold]: babysitting trial [bold]{first['id']}[/bold]")
    watch(first["id"], prompt=prompt, api_url=api_url)


COMMANDS = (watch, panda)
