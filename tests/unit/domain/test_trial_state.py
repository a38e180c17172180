"""The trial state machine: where `paused` fits."""

from __future__ import annotations

from app.domain.trial_state import ACTIVE_STATES, TERMINAL_STATES, TrialState, can_transition, sources_of


def test_a_queued_or_running_trial_can_be_paused_and_a_paused_one_only_resumed_or_cancelled() -> None:
    assert sources_of(TrialState.PAUSED) == {TrialState.QUEUED, TrialState.RUNNING}
    allowed = {target for target in TrialState if can_transition(TrialState.PAUSED, target)}
    assert allowed == {TrialState.QUEUED, TrialState.CANCELLED}


def test_a_paused_trial_is_active_never_finished() -> None:
    assert TrialState.PAUSED in ACTIVE_STATES and TrialState.PAUSED not in TERMINAL_STATES
    assert not can_transition(TrialState.PAUSED, TrialState.COMPLETED)
    assert not can_transition(TrialState.PAUSED, TrialState.RUNNING)  # a resume queues it first
