"""The Celery app (`config.celery:app`).

Tasks acknowledge after they finish (`acks_late`) and are re-queued when a worker dies
(`reject_on_worker_lost`); every job is idempotent, so a redelivered chunk doubles nothing.

Logging is Django's (settings.LOGGING), in the worker and beat as in the web: LOG_LEVEL and LOG_FORMAT apply,
and `--loglevel` is ignored.
"""

import os

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings
from django.utils.log import configure_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("loyalty")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=30 * 60,
    task_soft_time_limit=25 * 60,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    timezone="UTC",
    enable_utc=True,
)
app.autodiscover_tasks()


@setup_logging.connect
def logging_from_django_settings(**kwargs) -> None:
    """Celery configures logging itself unless a receiver of this signal does: apply settings.LOGGING instead,
    so worker and beat log like the web, at LOG_LEVEL (their `--loglevel` would default to WARNING)."""
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
