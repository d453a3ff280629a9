"""Celery tasks: each fetches what it needs and calls one service (DESIGN.md, Jobs)."""

from celery import shared_task
from django.utils import timezone

from loyalty.api.idempotency import idempotency_keys_purge


@shared_task(acks_late=True)
def purge_idempotency_keys() -> str:
    deleted = idempotency_keys_purge(now=timezone.now())
    return f"purge_idempotency_keys: {deleted} stored responses older than the retention period deleted"
