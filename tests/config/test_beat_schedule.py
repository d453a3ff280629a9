"""Beat seeds the periodic tasks from CELERY_BEAT_SCHEDULE once; a restart never overwrites staff's edits."""

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils.module_loading import import_string
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.celery import app


def beat_starts() -> None:
    """What beat does at start with the scheduler the settings name: read the schedule into the database."""
    scheduler_class = import_string(settings.CELERY_BEAT_SCHEDULER.replace(":", "."))
    scheduler_class(app=app, lazy=True).setup_schedule()


@pytest.fixture
def beat_schedule(monkeypatch):
    """The app's beat schedule, copied so a test can add an entry."""
    schedule = dict(app.conf.beat_schedule)
    monkeypatch.setitem(app.conf, "beat_schedule", schedule)
    # The scheduler syncs when it is collected, and its sync closes "old" connections: inside a test's
    # transaction that is the test's own connection (on PostgreSQL). Django's test client turns the same
    # call off for requests.
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)
    return schedule


def test_the_first_start_seeds_every_entry_of_the_settings(db, beat_schedule):
    beat_starts()

    assert set(PeriodicTask.objects.values_list("name", flat=True)) >= set(settings.CELERY_BEAT_SCHEDULE)
    expire = PeriodicTask.objects.get(name="expire-points")
    assert (expire.task, expire.enabled, expire.crontab.minute) == ("loyalty.tasks.expire_points", True, "5")


def test_a_restart_keeps_staffs_edits_and_adds_new_entries(db, beat_schedule):
    beat_starts()
    # Staff move the expiry to half past and pause the hold release, in the admin.
    expire = PeriodicTask.objects.get(name="expire-points")
    expire.crontab = CrontabSchedule.objects.create(minute="30", hour="*", timezone="UTC")
    expire.save()
    PeriodicTask.objects.filter(name="release-expired-holds").update(enabled=False)
    # The next release adds an entry to the settings.
    beat_schedule["purge-idempotency-keys-nightly"] = {
        "task": "loyalty.tasks.purge_idempotency_keys",
        "schedule": crontab(hour=3, minute=0),
    }

    beat_starts()

    assert PeriodicTask.objects.get(name="expire-points").crontab.minute == "30"
    assert PeriodicTask.objects.get(name="release-expired-holds").enabled is False
    added = PeriodicTask.objects.get(name="purge-idempotency-keys-nightly")
    assert (added.crontab.hour, added.crontab.minute, added.enabled) == ("3", "0", True)
    assert PeriodicTask.objects.filter(name="expire-points").count() == 1
