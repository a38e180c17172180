"""Questions asked of a finished search: which hyperparameters mattered, and do the best ones hold up?"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.domain.api_keys import ANYONE, Caller
from app.domain.importance import hyperparameter_importance
from app.domain.recently_used import RecentlyUsed
from app.domain.space import SearchSpace
from app.domain.strategies import TrialRecord
from app.domain.trial_state import TrialState
from app.errors import ClientDisconnected, Conflict, InvalidSpec
from app.services.ask_tell import Enqueue
from app.services.searches import check_may_change, create_search, get_search
from app.services.spec_model import SearchSpec
from app.settings import Settings
from app.storage.models import Search, Trial
from app.storage.repositories import SearchRepository, TrialRepository


@dataclass(frozen=True)
class ConfigurationSummary:
    """Repeated runs of one configuration: the mean ± std a single lucky run hides."""

    params: dict[str, Any]
    runs: int
    completed: int
    mean: float | None
    std: float | None
    values: list[float]
    trial_ids: list[int]


log = logging.getLogger(__name__)
IMPORTANCE_CACHE_SIZE = 64
_importance_cache: RecentlyUsed[dict[str, Any]] = RecentlyUsed(IMPORTANCE_CACHE_SIZE)


def importance(
    session: Session,
    search_id: int,
    *,
    max_trials: int,
    seconds: float,
    cancelled: threading.Event | None = None,
) -> dict[str, Any]:
    """Importance fitted on the latest `max_trials` completed trials for at most about `seconds` (bounds the
    work of one request); `complete: False` when the time ran out first. Once `cancelled` is set (the
    client left) the fit is abandoned: ClientDisconnected, and nothing is kept.

    A fit takes seconds on a large search, and the dashboard asks again on every refresh: the result is
    kept per process for the completed trials it saw (their count and highest number: a completed
    trial's value never changes), so it is computed again only once another trial has completed. A
    result cut short by the time budget is kept as it is, marked incomplete: fitting again with the same
    budget would cost as much and give no more.
    """
    search = get_search(session, search_id)
    trials = TrialRepository(session)
    # The database and the search's creation time too: another database (or the same one emptied) can
    # hold another search under the same id.
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    mark = trials.completed_mark(search_id)
    key = (database, search_id, search.created_at, max_trials, seconds, *mark)
    cached = _importance_cache.get(key)
    if cached is not None:
        return cached
    completed = [TrialRecord(*row) for row in trials.latest_completed(search_id, max_trials)]
    space = SearchSpace.from_spec(search.spec["space"])
    deadline = time.monotonic() + seconds

    def stop() -> bool:
        if cancelled is not None and cancelled.is_set():
            raise ClientDisconnected(f"importance of search {search_id}: the client disconnected")
        return time.monotonic() >= deadline

    result = hyperparameter_importance(
        space, [record for record in completed if record.has_result], seed=search.seed, stop=stop
    )
    if not result["complete"]:
        log.info(
            "importance of search %s: time budget of %g s spent after %s trees and %s shuffles",
            search_id,
            seconds,
            result["n_trees"],
            result["n_repeats"],
        )
    _importance_cache.put(key, result)
    return result


def retest(
    session: Session,
    search_id: int,
    settings: Settings,
    *,
    top_k: int,
    repeats: int,
    dataset: str | dict[str, Any] | None,
    caller: Caller = ANYONE,
) -> tuple[Search, Enqueue]:
    """A new search, linked to this one, that re-runs its `top_k` best configurations `repeats` times;
    the new search is the caller's."""
    parent = get_search(session, search_id)
    check_may_change(parent, caller)
    best = TrialRepository(session).best(search_id, maximize=parent.direction == "maximize", limit=top_k)
    if not best:
        raise Conflict(f"search {search_id} has no completed trial to re-test yet")
    configs = [dict(trial.params) for trial in best for _ in range(repeats)]
    spec = dict(parent.spec)
    spec.update(
        name=f"retest of {parent.name or f'search {search_id}'}",
        dataset=dataset if dataset is not None else parent.spec["dataset"],
        strategy={"kind": "random", "initial_configs": configs},
        budget={"max_trials": len(configs), "max_parallel": parent.spec["budget"]["max_parallel"]},
        seed=None,  # fresh seeds: that is the point of a re-test
        pruner=None,
    )
    if len(configs) > settings.max_trials_per_search:
        raise InvalidSpec("repeats", f"top_k × repeats must be at most {settings.max_trials_per_search}")
    child, to_enqueue = create_search(
        session, SearchSpec.model_validate(spec), settings, created_by_key=caller.key_name
    )
    child.parent_search_id = search_id
    return child, to_enqueue


def configurations(session: Session, search_id: int) -> list[ConfigurationSummary]:
    """Trials grouped by identical params, best mean first (for re-tests: mean ± std per configuration)."""
    search = get_search(session, search_id)
    groups: dict[str, list[Trial]] = {}
    for trial in TrialRepository(session).of_search(search_id):
        groups.setdefault(_key(trial.params), []).append(trial)
    summaries = [_summarize(trials) for trials in groups.values()]
    sign = -1.0 if search.direction == "maximize" else 1.0
    return sorted(summaries, key=lambda s: (s.mean is None, sign * (s.mean or 0.0)))


def retests_of(session: Session, search_id: int) -> Sequence[Search]:
    return SearchRepository(session).children(search_id)


def _key(params: Mapping[str, Any]) -> str:
    return repr(sorted(params.items()))


def _summarize(trials: Sequence[Trial]) -> ConfigurationSummary:
    values = [t.value for t in trials if t.state == TrialState.COMPLETED and t.value is not None]
    return ConfigurationSummary(
        params=dict(trials[0].params),
        runs=len(trials),
        completed=len(values),
        mean=statistics.fmean(values) if values else None,
        std=statistics.stdev(values) if len(values) > 1 else (0.0 if values else None),
        values=values,
        trial_ids=[t.id for t in trials],
    )
