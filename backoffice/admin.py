"""The back office's own admin screens; Django's admin autodiscovery imports this module."""

from backoffice import (
    member_admin,  # noqa: F401  (registers Member: search, the 360 page, adjustments)
    schedules,  # noqa: F401 (registers django-celery-beat's screens in unfold's look)
)
