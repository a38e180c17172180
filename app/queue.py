"""RQ glue: the queue carries trial ids only (JSON, never pickle); the database stays the truth."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from app.errors import InfrastructureError

log = logging.getLogger(__name__)

RUN_TRIAL = "workers.jobs.run_trial"
_LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


@lru_cache(maxsize=4)
def redis_connection(redis_url: str) -> Redis:
    return Redis.from_url(redis_url, socket_connect_timeout=5, health_check_interval=30)


def trial_queue(redis_url: str, queue_name: str) -> Queue:
    return Queue(queue_name, connection=redis_connection(redis_url), serializer=JSONSerializer)


def job_id_for(trial_id: int, attempt: int) -> str:
    """One job id per (trial, run): a re-queued trial gets a fresh job, a duplicate enqueue reuses it."""
    return f"trial-{trial_id}-{attempt}"


def enqueue_trials(queue: Queue, trials: Iterable[tuple[int, int]], *, timeout_seconds: int) -> None:
    """Enqueue `(trial_id, attempt)` pairs; raises InfrastructureError if Redis is unreachable."""
    try:
        with queue.connection.pipeline() as pipe:
            for trial_id, attempt in trials:
                queue.enqueue_call(
                    RUN_TRIAL,
                    args=(trial_id,),
                    job_id=job_id_for(trial_id, attempt),
                    timeout=timeout_seconds,
                    result_ttl=0,
                    failure_ttl=24 * 3600,
                    pipeline=pipe,
                )
            pipe.execute()
    except RedisError as error:
        raise InfrastructureError(f"could not enqueue trials on Redis: {error}") from error


def enqueue_after_commit(queue: Queue | None, trials: list[tuple[int, int]], *, timeout_seconds: int) -> None:
    """Enqueue committed trials; a failure is logged, not raised: the reconciler re-enqueues them."""
    if not trials or queue is None:
        return
    try:
        enqueue_trials(queue, trials, timeout_seconds=timeout_seconds)
    except InfrastructureError:
        log.warning("enqueue of %d trial(s) failed; the reconciler will retry", len(trials), exc_info=True)


def jobs_alive(queue: Queue, trials: list[tuple[int, int]]) -> list[bool]:
    """Whether each `(trial_id, attempt)` still has a job waiting or running on Redis."""
    job_ids = [job_id_for(trial_id, attempt) for trial_id, attempt in trials]
    try:
        jobs = Job.fetch_many(job_ids, connection=queue.connection, serializer=JSONSerializer)
        return [job is not None and job.get_status(refresh=False) in _LIVE_STATUSES for job in jobs]
    except RedisError as error:
        raise InfrastructureError(f"could not read jobs from Redis: {error}") from error


def queue_depth(queue: Queue) -> int:
    try:
        return queue.count
    except RedisError as error:
        raise InfrastructureError(f"could not read the queue length from Redis: {error}") from error
