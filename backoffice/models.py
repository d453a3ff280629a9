from django.contrib.admin.models import LogEntry


class AuditLogEntry(LogEntry):
    """Django's admin log under the name staff know it by: each row is one staff write made in the admin."""

    class Meta:
        proxy = True
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
