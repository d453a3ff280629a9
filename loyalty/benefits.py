"""Whether a member currently enjoys paid-plan benefits (subscribers-only rewards, the plan multiplier,
perks). The account row carries the plan and the instant its benefits end; the subscription services and
the renewal job keep them, under the account's lock."""

import datetime as dt

from loyalty.ledger.models import Account


def plan_benefits_active(*, member_id: int, now: dt.datetime) -> bool:
    return Account.objects.filter(member_id=member_id, plan__isnull=False, plan_benefits_until__gt=now).exists()
