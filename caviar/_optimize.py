"""`CaviarClient.optimize(search_id, objective)`: evaluate an `external` search's trials in this process.

The loop only calls the client's public `ask`, `report` and `tell`: ask for a trial, call
`objective(trial)`, tell what it returned. An exception fails the trial with the last line of its
traceback; `caviar.TrialPruned` (raised after `trial.should_stop()`) prunes it; Ctrl-C hands the trial
back (it goes to the next ask) and re-raises.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from caviar._errors import CaviarAPIError
from caviar._objective import TrialPruned

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # what the API's Retry-After says when nothing is free


class AskTellClient(Protocol):
    """The three requests the loop makes (`CaviarClient` has them)."""

    def ask(self, search_id: int, *, asker: str | None = None) -> dict[str, Any]: ...

    def report(
        self, trial_id: int, attempt: int, step: int, metrics: Mapping[str, float]
    ) -> dict[str, Any]: ...

    def tell(
        self,
        trial_id: int,
        attempt: int,
        metrics: Mapping[str, float] | None = None,
        *,
        state: str = "completed",
        error: str | None = None,
    ) -> dict[str, Any]: ...


class AskedTrial:
    """What `objective(trial)` gets: `params`, `seed`, `report(step, **metrics)`, `should_stop()`."""

    def __init__(self, client: AskTellClient, asked: Mapping[str, Any], stopping: threading.Event) -> None:
        self._client = client
        self._stopping = stopping
        self.trial_id: int = asked["id"]
        self.number: int = asked["number"]
        self.attempt: int = asked["attempt"]
        self.params: dict[str, Any] = dict(asked["params"])
        self.seed: int = asked["seed"]
        self.prune_requested = False
        self.lease_lost = False

    def report(self, step: int, **metrics: float) -> None:
        """One learning-curve point; it also renews the lease (report at least once per lease)."""
        try:
            if self._client.report(self.trial_id, self.attempt, step, metrics)["should_stop"]:
                self.prune_requested = True
        except CaviarAPIError as error:
            if error.status_code != 409:
                raise
            log.warning("trial %s attempt %s: %s", self.trial_id, self.attempt, error.message)
            self.lease_lost = True

    def should_stop(self) -> bool:
        """True when the pruner wants the trial stopped, its lease was lost, or the loop is stopping."""
        return self.prune_requested or self.lease_lost or self._stopping.is_set()


Objective = Callable[[AskedTrial], Mapping[str, float]]


class _Quota:
    """How many more trials this call may take; None: as many as the search hands out."""

    def __init__(self, n_trials: int | None) -> None:
        self._left = n_trials
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left is None:
                return True
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def give_back(self) -> None:
        with self._lock:
            if self._left is not None:
                self._left += 1


def optimize(
    client: AskTellClient,
    search_id: int,
    objective: Objective,
    *,
    n_trials: int | None = None,
    n_jobs: int = 1,
    asker: str | None = None,
) -> list[dict[str, Any]]:
    """Evaluate trials until the search finishes or `n_trials` were told, `n_jobs` at a time (threads);
    returns the trials told, as recorded."""
    if n_jobs < 1:
        raise ValueError(f"`n_jobs >= 1` must hold, got n_jobs={n_jobs}")
    quota = _Quota(n_trials)
    stopping = threading.Event()
    if n_jobs == 1:
        return _loop(client, search_id, objective, quota, stopping, asker)
    with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="caviar-optimize") as pool:
        futures = [
            pool.submit(_loop, client, search_id, objective, quota, stopping, asker) for _ in range(n_jobs)
        ]
        try:
            return [trial for future in futures for trial in future.result()]
        except KeyboardInterrupt:
            stopping.set()  # the objectives see should_stop(); their trials are handed back
            for future in futures:
                future.exception()
            raise


def _loop(
    client: AskTellClient,
    search_id: int,
    objective: Objective,
    quota: _Quota,
    stopping: threading.Event,
    asker: str | None,
) -> list[dict[str, Any]]:
    told: list[dict[str, Any]] = []
    while not stopping.is_set() and quota.take():
        try:
            asked = client.ask(search_id, asker=asker)
        except CaviarAPIError as error:
            if error.status_code != 409:
                raise
            quota.give_back()
            break  # the search is finished
        if not asked:  # nothing free right now
            quota.give_back()
            time.sleep(POLL_SECONDS)
            continue
        trial = AskedTrial(client, asked, stopping)
        try:
            result = _evaluate(client, trial, objective, stopping)
        except KeyboardInterrupt:
            _tell(client, trial, state="released")
            raise
        if result is not None and result["state"] != "queued":
            told.append(result)
    return told


def _evaluate(
    client: AskTellClient, trial: AskedTrial, objective: Objective, stopping: threading.Event
) -> dict[str, Any] | None:
    try:
        metrics = dict(objective(trial))
    except TrialPruned:
        return _tell(client, trial, state="pruned")
    except Exception as error:
        message = traceback.format_exception_only(error)[-1].strip()
        log.warning("trial %s failed: %s", trial.trial_id, message, exc_info=True)
        return _tell(client, trial, state="failed", error=message[:10_000])
    if stopping.is_set():
        return _tell(client, trial, state="released")
    try:
        return _tell(client, trial, metrics)
    except CaviarAPIError as error:
        if error.status_code != 422:
            raise
        return _tell(client, trial, state="failed", error=f"the objective's metrics: {error.message}")


def _tell(
    client: AskTellClient,
    trial: AskedTrial,
    metrics: Mapping[str, float] | None = None,
    *,
    state: str = "completed",
    error: str | None = None,
) -> dict[str, Any] | None:
    """Tell the result; None when this run lost its lease (someone else holds the trial now)."""
    if trial.lease_lost:
        return None
    try:
        return client.tell(trial.trial_id, trial.attempt, metrics, state=state, error=error)
    except CaviarAPIError as api_error:
        if api_error.status_code != 409:
            raise
        log.warning("trial %s attempt %s: %s", trial.trial_id, trial.attempt, api_error.message)
        return None
