"""How each periodic job last went, read-only: a failing job shows here (and on the dashboard) with its error."""

from django.contrib import admin
from unfold.admin import ModelAdmin

from loyalty.jobs.models import JobStatus


@admin.register(JobStatus)
class JobStatusAdmin(ModelAdmin):
    list_display = ["name", "last_started_at", "last_finished_at", "last_summary", "failures", "last_failed_at",
                    "last_error"]  # fmt: skip
    list_filter = ["failures"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
