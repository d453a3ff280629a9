"""The tiers' periodic task (its name is the one beat's stored schedules know)."""

from loyalty.jobs.registry import job_task
from loyalty.tiers.jobs import recalculate_tiers

recalculate_tiers_task = job_task(recalculate_tiers, task_name="loyalty.tasks.recalculate_tiers")
