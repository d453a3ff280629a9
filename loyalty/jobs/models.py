from django.db import models


class JobStatus(models.Model):
    """How each periodic job last went: one row per job, rewritten by every run (`job_run`), so staff and the
    dashboard see a job that fails without reading workers' logs, and the table never grows."""

    name = models.CharField(max_length=64, unique=True)
    last_started_at = models.DateTimeField()
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_summary = models.CharField(max_length=500, blank=True, default="")
    last_failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    failures = models.PositiveIntegerField(default=0, help_text="Runs that failed since the job last succeeded.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "job statuses"

    def __str__(self) -> str:
        return self.name

    @property
    def failing(self) -> bool:
        return self.failures > 0
