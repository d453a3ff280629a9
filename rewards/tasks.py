from celery import shared_task
from django.utils import timezone

from rewards.jobs import expire_vouchers as expire_vouchers_job


@shared_task(acks_late=True, reject_on_worker_lost=True)
def expire_vouchers() -> str:
    return expire_vouchers_job(now=timezone.now()).summary()
