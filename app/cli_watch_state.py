"""What `caviar watch` knows of one trial: its stored state folded with the search's events, plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

NUDGE_MARK = "▲"
RESUME_MARK = "↺"
FINISHED_KINDS = frozenset({"trial_completed", "trial_pruned", "trial_failed"})
ANSWERS_SHOWN = 5
"""The prompt's latest answers stay on screen; older ones scroll away."""


@dataclass
class WatchedTrial:
    """One trial as `GET /trials/{id}` gave it, then kept current by `apply(event)`.

    The event stream may replay what the stored state already holds (it starts at the search's first
    event): points of an earlier attempt are ignored, a point at a known step replaces it, and a nudge is
    known by when it was asked, so nothing is counted twice.
    """

    trial_id: int
    search_id: int
    metric: str
    params: dict[str, Any]
    state: str
    attempt: int
    curve: dict[int, dict[str, float | None]] = field(default_factory=dict)
    nudges: dict[tuple[str, datetime], dict[str, Any]] = field(default_factory=dict)
    resumes: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Resumed attempts by attempt number: `{"step", "attempt", "from_attempt"}`."""
    answers: list[str] = field(default_factory=list)
    log: list[tuple[int, str]] = field(default_factory=list)
    """Pauses and stops as (step, line), in the order they happened."""

    @classmethod
    def from_detail(cls, detail: dict[str, Any], metric: str) -> WatchedTrial:
        watched = cls(
            trial_id=detail["id"],
            search_id=detail["search_id"],
            metric=metric,
            params=dict(detail["params"]),
            state=detail["state"],
            attempt=detail["attempt"],
            curve={point["step"]: point["metrics"] for point in detail["curve"]},
        )
        for nudge in detail.get("nudges", []):
            watched._add_nudge(nudge)
        return watched

    @property
    def finished(self) -> bool:
        return self.state in {"completed", "pruned", "failed", "cancelled"}

    def apply(self, event: dict[str, Any]) -> None:
        """Fold in one event of the search's stream; events of other trials change nothing."""
        if event.get("trial_id") != self.trial_id:
            return
        kind, payload = event["kind"], event["payload"]
        if kind == "epoch":
            self._add_point(payload["attempt"], payload["step"], payload["metrics"])
        elif kind == "trial_nudged":
            self._add_nudge(payload)
        elif kind == "trial_resumed":
            self.resumes[payload["attempt"]] = {
                key: payload.get(key) for key in ("step", "attempt", "from_attempt")
            }
        elif kind == "trial_started":
            self.state = "running"
        elif kind == "trial_requeued":
            self.state = "queued"
        elif kind == "trial_paused":
            self.state = "paused"
            step = payload.get("step")
            where = "before it ran" if step is None else f"after step {step}"
            self._log(step or 0, f"paused {where} (by {payload.get('by')})")
        elif kind == "trial_stopped":
            self._log(
                payload.get("step") or 0,
                f"stopped after step {payload.get('step')}, best step {payload.get('best_step')} "
                f"(by {payload.get('by')})",
            )
        elif kind in FINISHED_KINDS:
            self.state = kind.removeprefix("trial_")

    def _log(self, step: int, text: str) -> None:
        if (step, text) not in self.log:  # the stream may replay what is known
            self.log.append((step, text))

    def answer(self, text: str) -> None:
        """Show what the prompt did (a nudge accepted, or why not)."""
        self.answers = [*self.answers, text][-ANSWERS_SHOWN:]

    def points(self) -> list[tuple[int, float | None]]:
        """The chosen metric per step, in step order (None where a step lacks it)."""
        return [(step, self.curve[step].get(self.metric)) for step in sorted(self.curve)]

    def metric_names(self) -> list[str]:
        return sorted({name for metrics in self.curve.values() for name in metrics})

    def applied_nudges(self) -> list[dict[str, Any]]:
        """Nudges in the order the trial applied them."""
        return sorted(self.nudges.values(), key=lambda nudge: (nudge["step"], str(nudge["requested_at"])))

    def current_params(self) -> dict[str, Any]:
        """The trial's hyperparameters now: its params with every applied nudge's new values."""
        current = dict(self.params)
        for nudge in self.applied_nudges():
            current.update({name: change["new"] for name, change in nudge["changes"].items()})
        return current

    def marks(self) -> dict[int, str]:
        """Chart marks: where each nudge took effect and where each resumed attempt went on."""
        marks = {resume["step"] + 1: RESUME_MARK for resume in self.resumes.values() if resume["step"]}
        marks.update({nudge["step"]: NUDGE_MARK for nudge in self.nudges.values()})
        return marks

    def _add_point(self, attempt: int, step: int, metrics: dict[str, float | None]) -> None:
        if attempt < self.attempt:
            return  # an abandoned attempt's point, replayed: the newer attempt's line stands
        if attempt > self.attempt:
            # A new attempt goes on after its checkpoint (or starts over): what the old one reported from
            # here on is replaced.
            self.curve = {known: values for known, values in self.curve.items() if known < step}
            self.attempt = attempt
        self.curve[step] = metrics

    def _add_nudge(self, nudge: dict[str, Any]) -> None:
        # A resumed attempt applies a nudge again at a later step: the same request, its latest step.
        key = (nudge["by"], _moment(nudge["requested_at"]))
        self.nudges[key] = nudge


def _moment(timestamp: str | datetime) -> datetime:
    """A timestamp as a datetime, so the API's and the event log's spellings of one instant compare equal."""
    return timestamp if isinstance(timestamp, datetime) else datetime.fromisoformat(timestamp)
