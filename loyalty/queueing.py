"""The one way a request (or a service) queues a Celery task.

A task is sent only after the current transaction commits, so a worker never looks for rows that are not there
yet, and nothing is queued for a request that rolled back. Sending gets a short budget (the broker connection
timeout in config/celery.py and the retry policy below), and a broker that is down is logged at ERROR, never
raised: the purchase that wanted the task has been written and answers as usual. A task that must not be lost
when the broker is down needs a row of its own that a periodic job picks up instead.
"""

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger("loyalty.queueing")

# Two quick retries, then give up: a request waits at most a few hundred milliseconds for the broker (plus
# the connection timeout per attempt when the broker host does not answer at all).
SEND_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}


def task_enqueue(task: Task, *, args: tuple = (), kwargs: dict[str, Any] | None = None) -> None:
    """Queue `task(*args, **kwargs)` once the current transaction commits (at once outside a transaction).

    Never raises for the broker: a failed send is logged at ERROR with the task's name."""
    transaction.on_commit(lambda: _send(task, args, kwargs or {}))


def _send(task: Task, args: tuple, kwargs: dict[str, Any]) -> None:
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=SEND_RETRY_POLICY)
    except Exception as exc:  # noqa: BLE001 - the broker being down must not fail what was written
        logger.error("could not queue task %s: the broker is unreachable (%s: %s)", task.name, type(exc).__name__, exc)
