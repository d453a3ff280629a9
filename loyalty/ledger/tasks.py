"""The ledger's periodic task (its name is the one beat's stored schedules know)."""

from loyalty.jobs.registry import job_task
from loyalty.ledger.jobs import expire_points

expire_points_task = job_task(expire_points, task_name="loyalty.tasks.expire_points")
