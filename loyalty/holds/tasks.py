"""The holds' periodic task (its name is the one beat's stored schedules know)."""

from loyalty.holds.jobs import release_expired_holds
from loyalty.jobs.registry import job_task

release_expired_holds_task = job_task(release_expired_holds, task_name="loyalty.tasks.release_expired_holds")
