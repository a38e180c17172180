"""RQ glue: one queue per objective carries trial ids only (JSON, never pickle); the database stays the truth.

A worker listens on the queues of the objectives it has installed, so it never takes a trial it cannot
run; a trial of an objective no live worker has waits on its queue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from app.errors import InfrastructureError

log = logging.getLogger(__name__)

RUN_TRIAL = "workers.jobs.run_trial"
CHAIN_ALLOWANCE_SECONDS = 120
"""A job's time limit beyond its trial's: what the trials its worker chained before it may have taken."""
_LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


@lru_cache(maxsize=4)
def redis_connection(redis_url: str) -> Redis:
    return Redis.from_url(redis_url, socket_connect_timeout=5, health_check_interval=30)


class TrialJob(NamedTuple):
    """One run of a trial to enqueue: the job id is made of the first two, the queue of the objective."""

    trial_id: int
    attempt: int
    objective: str


@dataclass(frozen=True)
class TrialQueues:
    """The queues of one Caviar installation: `<base name>.<objective>` on one Redis."""

    connection: Redis
    base_name: str

    def for_objective(self, objective: str) -> Queue:
        return Queue(f"{self.base_name}.{objective}", connection=self.connection, serializer=JSONSerializer)

    def all(self) -> list[Queue]:
        """Every queue of this installation that Redis knows of."""
        prefix = f"{self.base_name}."
        return [
            self.for_objective(queue.name.removeprefix(prefix))
            for queue in Queue.all(connection=self.connection, serializer=JSONSerializer)
            if queue.name.startswith(prefix)
        ]


def trial_queues(redis_url: str, base_name: str) -> TrialQueues:
    return TrialQueues(redis_connection(redis_url), base_name)


def job_id_for(trial_id: int, attempt: int) -> str:
    """One job id per (trial, run): a re-queued trial gets a fresh job, a duplicate enqueue reuses it."""
    return f"trial-{trial_id}-{attempt}"


def enqueue_trials(queues: TrialQueues, trials: Iterable[TrialJob], *, timeout_seconds: int) -> None:
    """Enqueue trial runs, each on its objective's queue; InfrastructureError if Redis is unreachable."""
    try:
        with queues.connection.pipeline() as pipe:
            for trial_id, attempt, objective in trials:
                queues.for_objective(objective).enqueue_call(
                    RUN_TRIAL,
                    args=(trial_id,),
                    job_id=job_id_for(trial_id, attempt),
                    # A job may run its trial and then the ones its worker claims after it (chaining).
                    timeout=timeout_seconds + CHAIN_ALLOWANCE_SECONDS,
                    result_ttl=0,
                    failure_ttl=24 * 3600,
                    pipeline=pipe,
                )
            pipe.execute()
    except RedisError as error:
        raise InfrastructureError(f"could not enqueue trials on Redis: {error}") from error


def enqueue_after_commit(queues: TrialQueues | None, trials: list[TrialJob], *, timeout_seconds: int) -> None:
    """Enqueue committed trials; a failure is logged, not raised: the reconciler re-enqueues them."""
    if not trials or queues is None:
        return
    try:
        enqueue_trials(queues, trials, timeout_seconds=timeout_seconds)
    except InfrastructureError as error:
        # Redis is down or unreachable: one line says it all (no traceback per trial during an outage).
        log.warning("enqueue of %d trial(s) failed; the reconciler will retry: %s", len(trials), error)


def drop_jobs(queues: TrialQueues | None, trials: list[TrialJob]) -> None:
    """Take waiting jobs off their queues: their trials were claimed without them. Best effort: a job
    left behind finds its trial no longer queued, and its worker skips it."""
    if not trials or queues is None:
        return
    try:
        with queues.connection.pipeline(transaction=False) as pipe:
            for trial_id, attempt, objective in trials:
                job_id = job_id_for(trial_id, attempt)
                queue = queues.for_objective(objective)
                pipe.lrem(queue.key, 1, job_id)
                pipe.delete(queue.job_class.key_for(job_id))
            pipe.execute()
    except RedisError as error:
        log.warning("could not drop %d claimed trial(s)' jobs from Redis: %s", len(trials), error)


def jobs_alive(queues: TrialQueues, trials: list[TrialJob]) -> list[bool]:
    """Whether each trial run still has a job waiting or running on Redis, on its objective's queue (a job
    left on another queue, e.g. the single queue of releases before routing by objective, counts as lost)."""
    job_ids = [job_id_for(trial.trial_id, trial.attempt) for trial in trials]
    try:
        jobs = Job.fetch_many(job_ids, connection=queues.connection, serializer=JSONSerializer)
        return [
            job is not None
            and job.get_status(refresh=False) in _LIVE_STATUSES
            and job.origin == queues.for_objective(trial.objective).name
            for job, trial in zip(jobs, trials, strict=True)
        ]
    except RedisError as error:
        raise InfrastructureError(f"could not read jobs from Redis: {error}") from error


def queue_depth(queues: TrialQueues) -> int:
    """Trial jobs waiting, over every objective's queue."""
    try:
        return sum(queue.count for queue in queues.all())
    except RedisError as error:
        raise InfrastructureError(f"could not read the queue length from Redis: {error}") from error
