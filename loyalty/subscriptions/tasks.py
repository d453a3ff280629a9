"""The subscriptions' periodic task (its name is the one beat's stored schedules know)."""

from loyalty.jobs.registry import job_task
from loyalty.subscriptions.jobs import renew_subscriptions

renew_subscriptions_task = job_task(renew_subscriptions, task_name="loyalty.tasks.renew_subscriptions")
