"""The vouchers' periodic task (its name is the one beat's stored schedules know)."""

from loyalty.jobs.registry import job_task
from rewards.jobs import expire_vouchers

expire_vouchers_task = job_task(expire_vouchers, task_name="rewards.tasks.expire_vouchers")
