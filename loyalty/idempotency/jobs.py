"""`purge_idempotency_keys`: stored `Idempotency-Key` responses are kept for `IDEMPOTENCY_KEY_TTL_HOURS`."""

import datetime as dt

from django.conf import settings

from loyalty.idempotency.models import IdempotentRequest
from loyalty.jobs.runner import JobRun


def idempotency_keys_purge(*, now: dt.datetime) -> int:
    """Delete stored responses older than the retention period; returns how many."""
    cutoff = now - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def purge_idempotency_keys(*, now: dt.datetime) -> JobRun:
    run = JobRun("purge_idempotency_keys")
    run.add(stored_responses_deleted=idempotency_keys_purge(now=now))
    return run
