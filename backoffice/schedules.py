"""django-celery-beat's screens (Periodic tasks and their schedules) in the back office's look: its own
admin classes with unfold's ModelAdmin mixed in and unfold's widgets on the task form, as unfold's
documentation for django-celery-beat does. What they edit is what beat runs; config/beat.py keeps those
edits across restarts."""

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from unfold.admin import ModelAdmin, TabularInline
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget


class TaskSelectWidget(UnfoldAdminSelectWidget, beat_admin.TaskSelectWidget):
    pass


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task"].widget = UnfoldAdminTextInputWidget()
        self.fields["regtask"].widget = TaskSelectWidget()


class PeriodicTaskInline(beat_admin.PeriodicTaskInline, TabularInline):
    pass


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin, ModelAdmin):
    form = PeriodicTaskForm


class ClockedScheduleAdmin(beat_admin.ClockedScheduleAdmin, ModelAdmin):
    inlines = [PeriodicTaskInline]


class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin, ModelAdmin):
    inlines = [PeriodicTaskInline]


class SolarScheduleAdmin(beat_admin.SolarScheduleAdmin, ModelAdmin):
    inlines = [PeriodicTaskInline]


class IntervalScheduleAdmin(beat_admin.IntervalScheduleAdmin, ModelAdmin):
    inlines = [PeriodicTaskInline]


for model, model_admin in [
    (PeriodicTask, PeriodicTaskAdmin), (ClockedSchedule, ClockedScheduleAdmin),
    (CrontabSchedule, CrontabScheduleAdmin), (SolarSchedule, SolarScheduleAdmin),
    (IntervalSchedule, IntervalScheduleAdmin),
]:  # fmt: skip
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
