"""The periodic jobs by their `run_job` names (README.md, Operator commands), and their Celery tasks.

Each concern declares its jobs in its own `tasks.py` with `job_task`; the app configs import those modules
when Django starts, so `run_job`, a worker and beat all know every job.
"""

import datetime as dt
import logging
from collections.abc import Callable

from celery import shared_task
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.jobs.models import JobStatus
from loyalty.jobs.runner import JobRun

logger = logging.getLogger("loyalty.jobs")

JOBS: dict[str, Callable[..., JobRun]] = {}


def job_run(name: str, *, now: dt.datetime) -> str:
    """Run the job `name` as of `now` (its default chunk size) and return its one-line summary, which is also
    logged at INFO (logger `loyalty.jobs`): how a worker runs a job, so its log says what each run did.
    The job's `JobStatus` row records the outcome, a failure included (the error is raised on)."""
    started = timezone.now()
    try:
        summary = JOBS[name](now=now).summary()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        _status_record(name, started=started, failed_at=timezone.now(), error=error)
        raise
    _status_record(name, started=started, finished_at=timezone.now(), summary=summary[:500])
    logger.info("%s", summary)
    return summary


def _status_record(name: str, *, started: dt.datetime, **outcome) -> None:
    """Rewrite the job's status row with this run's outcome: a success resets the failure count, a failure adds
    one. Best effort: when the database is what failed, the worker's log has the error and the next run writes."""
    if "error" in outcome:
        fields = {"last_failed_at": outcome["failed_at"], "last_error": outcome["error"], "failures": F("failures") + 1}
    else:
        fields = {"last_finished_at": outcome["finished_at"], "last_summary": outcome["summary"], "failures": 0}
    try:
        with transaction.atomic():
            if JobStatus.objects.filter(name=name).update(last_started_at=started, **fields):
                return
            with transaction.atomic():
                JobStatus.objects.create(
                    name=name, last_started_at=started, **{**fields, "failures": int("error" in outcome)}
                )
    except IntegrityError:  # another worker created the row first: count this run on it
        _status_record(name, started=started, **outcome)
    except DatabaseError:
        logger.exception("could not record the outcome of %s", name)


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
