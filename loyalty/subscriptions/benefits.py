"""The plan whose benefits a member enjoys, read from their account row (no query: plans are cached)."""

import datetime as dt

from loyalty.ledger.models import Account
from loyalty.program.selectors import settings_cached
from loyalty.subscriptions.models import Plan


@settings_cached
def plans_by_id() -> dict[int, Plan]:
    return {plan.pk: plan for plan in Plan.objects.all()}


def plan_benefits_of(account: Account | None, *, now: dt.datetime) -> Plan | None:
    """The plan whose benefits hold at `now` (trialing, active, or past due within grace), or None."""
    if account is None or account.plan_id is None or account.plan_benefits_until is None:
        return None
    if account.plan_benefits_until <= now:
        return None
    return plans_by_id().get(account.plan_id)
