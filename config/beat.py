"""Beat's scheduler: django-celery-beat's DatabaseScheduler, seeding the schedule instead of resetting it.

The stock scheduler writes every entry of CELERY_BEAT_SCHEDULE over the database row of the same name each
time beat starts, so a schedule staff changed (or paused) in the admin under *Periodic tasks* silently
came back at the next deploy. This one creates only the entries that have no row yet: the settings seed
the schedule, a new entry in the settings is added at the next start, and staff's edits stay.
"""

from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler


class SeedingDatabaseScheduler(DatabaseScheduler):
    def update_from_dict(self, mapping: dict) -> None:
        existing = set(PeriodicTask.objects.filter(name__in=list(mapping)).values_list("name", flat=True))
        super().update_from_dict({name: entry for name, entry in mapping.items() if name not in existing})
