from celery import shared_task
from django.utils import timezone

from loyalty.jobs.registry import job_run


@shared_task(acks_late=True, reject_on_worker_lost=True)
def expire_vouchers() -> str:
    return job_run("expire_vouchers", now=timezone.now())
