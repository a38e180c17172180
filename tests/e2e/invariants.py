"""What must hold after a search that ran through faults: every trial recorded once and none failed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from app.storage.db import session_scope
from app.storage.models import Event, Trial, TrialMetric

FINISHING = ("trial_completed", "trial_pruned", "trial_failed")


def assert_every_trial_recorded_once(
    database_url: str, search_id: int, *, trials: int, epochs: int, blows: list[str]
) -> None:
    """Trials 0..`trials`-1 exist, each completed with a value, one finishing event and its whole curve
    (`epochs` steps, each step's metrics once); `blows` (the faults dealt) goes into failure messages."""
    with session_scope(database_url) as session:
        rows = session.scalars(select(Trial).where(Trial.search_id == search_id)).all()
        finishing = Counter(
            session.scalars(
                select(Event.trial_id).where(Event.search_id == search_id, Event.kind.in_(FINISHING))
            )
        )
        points: dict[int, list[tuple[str, int]]] = {}
        for trial_id, name, step in session.execute(
            select(TrialMetric.trial_id, TrialMetric.name, TrialMetric.step).where(
                TrialMetric.trial_id.in_([t.id for t in rows])
            )
        ):
            points.setdefault(trial_id, []).append((name, step))
    assert sorted(t.number for t in rows) == list(range(trials)), blows
    for trial in rows:
        context: dict[str, Any] = {"blows": blows, "trial": trial.id, "attempt": trial.attempt}
        assert trial.state == "completed" and trial.value is not None, {**context, "error": trial.error}
        assert finishing[trial.id] == 1, {**context, "finishing events": finishing[trial.id]}
        steps = Counter(step for _, step in points.get(trial.id, []))
        names = {name for name, _ in points.get(trial.id, [])}
        assert sorted(steps) == list(range(1, epochs + 1)), {**context, "steps": sorted(steps)}
        assert set(steps.values()) == {len(names)}, {**context, "points per step": steps}
