"""The back office's own admin screens."""

from backoffice import schedules  # noqa: F401 (registers django-celery-beat's screens in unfold's look)
