"""Beat seeds the periodic tasks from CELERY_BEAT_SCHEDULE once; a restart never overwrites staff's edits,
whether made in the database or through the admin's Periodic tasks screens (which wear unfold's look)."""

import datetime as dt

import pytest
from celery.schedules import crontab
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.forms import CheckboxInput, SplitDateTimeField
from django.test import Client
from django.utils.module_loading import import_string
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from unfold.admin import ModelAdmin

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


def form_as_shown(client: Client, url: str) -> dict:
    """The admin change form at `url` as a browser would post it back untouched."""
    form = client.get(url, secure=True).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(field, SplitDateTimeField):
            moment = value if value is None or isinstance(value, dt.datetime) else None
            data[f"{name}_0"] = moment.date().isoformat() if moment else ""
            data[f"{name}_1"] = moment.time().isoformat() if moment else ""
        else:
            data[name] = "" if value is None else value
    return data


def test_a_schedule_edited_and_one_paused_in_the_admin_survive_a_restart(db, beat_schedule):
    beat_starts()
    staff = Client(HTTP_HOST="127.0.0.1")
    staff.force_login(User.objects.create(username="ops", is_staff=True, is_superuser=True))
    expire = PeriodicTask.objects.get(name="expire-points")
    half_past = CrontabSchedule.objects.create(minute="30", hour="*", timezone="UTC")
    url = f"/admin/django_celery_beat/periodictask/{expire.pk}/change/"

    edited = staff.post(url, {**form_as_shown(staff, url), "crontab": half_past.pk, "_save": "Save"}, secure=True)
    paused = staff.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [PeriodicTask.objects.get(name="release-expired-holds").pk]},
        secure=True,
    )
    assert edited.status_code == paused.status_code == 302, edited.context and edited.context["errors"]

    beat_starts()  # a deploy restarts beat

    assert PeriodicTask.objects.get(name="expire-points").crontab == half_past
    assert list(PeriodicTask.objects.filter(enabled=False).values_list("name", flat=True)) == ["release-expired-holds"]


def test_the_periodic_task_screens_wear_the_back_offices_look(db):
    staff = Client(HTTP_HOST="127.0.0.1")
    staff.force_login(User.objects.create(username="ops", is_staff=True, is_superuser=True))

    for model in ["periodictask", "crontabschedule", "intervalschedule", "clockedschedule", "solarschedule"]:
        assert isinstance(admin.site._registry[apps.get_model("django_celery_beat", model)], ModelAdmin), model
        for url in [f"/admin/django_celery_beat/{model}/", f"/admin/django_celery_beat/{model}/add/"]:
            assert staff.get(url, secure=True).status_code == 200, url
