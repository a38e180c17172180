"""Workers run one kind of job: RQ would import and call any dotted name a job names.

Anyone able to write to Redis could otherwise enqueue `os.system` and have every worker run it. The
check reads only the job's JSON data (never `job.func`, which imports the named module) and refuses
anything but `workers.jobs.run_trial(<trial id>)`.
"""

from __future__ import annotations

from rq.job import Job

from app.queue import RUN_TRIAL
from app.storage.keyset import MAX_INT


def refusal(job: Job) -> str | None:
    """Why `job` must not run, or None for a trial job with a trial id as its one argument."""
    try:
        func_name, args, kwargs = job.func_name, job.args, job.kwargs
    except Exception as error:  # undecodable data is refused, whatever the decoder raised
        return f"unreadable job data ({type(error).__name__})"
    if func_name != RUN_TRIAL:
        return f"function {func_name!r} is not {RUN_TRIAL}"
    if kwargs or len(args) != 1 or type(args[0]) is not int or not 1 <= args[0] <= MAX_INT:
        return f"{RUN_TRIAL} takes one trial id, got args={args!r:.200} kwargs={kwargs!r:.200}"
    return None
