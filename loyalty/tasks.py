"""Celery tasks: each calls one job, logs its summary at INFO and returns it (README.md, Periodic jobs).

Tasks are acknowledged late and re-queued if the worker dies; every job is idempotent and works in
chunks that commit one by one, so a redelivered task finishes the run without doing anything twice.
"""

from celery import shared_task
from django.utils import timezone

from loyalty.jobs.registry import job_run


def _run(name: str) -> str:
    return job_run(name, now=timezone.now())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def expire_points() -> str:
    return _run("expire_points")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def activate_pending_points() -> str:
    return _run("activate_pending_points")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def release_expired_holds() -> str:
    return _run("release_expired_holds")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recalculate_tiers() -> str:
    return _run("recalculate_tiers")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def purge_idempotency_keys() -> str:
    return _run("purge_idempotency_keys")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def renew_subscriptions() -> str:
    return _run("renew_subscriptions")
