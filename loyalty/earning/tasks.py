"""Earning's periodic task (its name is the one beat's stored schedules know)."""

from loyalty.earning.jobs import activate_pending_points
from loyalty.jobs.registry import job_task

activate_pending_points_task = job_task(activate_pending_points, task_name="loyalty.tasks.activate_pending_points")
