"""The periodic jobs by their `run_job` names (README.md, Operator commands), and their Celery tasks.

Each concern declares its jobs in its own `tasks.py` with `job_task`; the app configs import those modules
when Django starts, so `run_job`, a worker and beat all know every job.
"""

import datetime as dt
import logging
from collections.abc import Callable

from celery import shared_task
from django.utils import timezone

from loyalty.jobs.runner import JobRun

logger = logging.getLogger("loyalty.jobs")

JOBS: dict[str, Callable[..., JobRun]] = {}


def job_run(name: str, *, now: dt.datetime) -> str:
    """Run the job `name` as of `now` (its default chunk size) and return its one-line summary, which is also
    logged at INFO (logger `loyalty.jobs`): how a worker runs a job, so its log says what each run did."""
    summary = JOBS[name](now=now).summary()
    logger.info("%s", summary)
    return summary


def job_task(job: Callable[..., JobRun], *, task_name: str):
    """Register `job` under its function name and return the Celery task that runs it as of the current time.

    The task is acknowledged after it finishes and re-queued if its worker dies; every job is idempotent and
    commits chunk by chunk, so a redelivered task finishes the run without doing anything twice. `task_name`
    is the name beat's stored schedules know the task by: it stays when the code moves."""
    name = job.__name__
    JOBS[name] = job

    @shared_task(name=task_name, acks_late=True, reject_on_worker_lost=True)
    def run() -> str:
        return job_run(name, now=timezone.now())

    run.__doc__ = f"Run the `{name}` job and return its summary."
    return run
