"""How each periodic job last went, read-only: a failing job shows here (and on the dashboard) with its error."""

from django.contrib import admin

from loyalty.admin_base import ReadOnlyAdmin
from loyalty.jobs.models import JobStatus


@admin.register(JobStatus)
class JobStatusAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_started_at", "last_finished_at", "last_summary", "failures", "last_failed_at",
                    "last_error"]  # fmt: skip
    list_filter = ["failures"]
