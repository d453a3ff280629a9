"""The periodic jobs by their `run_job` names (README.md, Operator commands)."""

import datetime as dt
import logging
from collections.abc import Callable

from loyalty.earning.jobs import activate_pending_points
from loyalty.holds.jobs import release_expired_holds
from loyalty.idempotency.jobs import purge_idempotency_keys
from loyalty.jobs.runner import JobRun
from loyalty.ledger.jobs import expire_points
from loyalty.subscriptions.jobs import renew_subscriptions
from loyalty.tiers.jobs import recalculate_tiers

logger = logging.getLogger("loyalty.jobs")


JOBS: dict[str, Callable[..., JobRun]] = {
    "expire_points": expire_points,
    "activate_pending_points": activate_pending_points,
    "release_expired_holds": release_expired_holds,
    "recalculate_tiers": recalculate_tiers,
    "renew_subscriptions": renew_subscriptions,
    "purge_idempotency_keys": purge_idempotency_keys,
}


def job_register(name: str, job: Callable[..., JobRun]) -> None:
    """Later parts of the product (subscriptions, vouchers) add their jobs here."""
    JOBS[name] = job


def job_run(name: str, *, now: dt.datetime) -> str:
    """Run the job `name` as of `now` (its default chunk size) and return its one-line summary, which is also
    logged at INFO (logger `loyalty.jobs`): how a worker runs a job, so its log says what each run did."""
    summary = JOBS[name](now=now).summary()
    logger.info("%s", summary)
    return summary
