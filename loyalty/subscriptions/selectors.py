"""Reads of plans and subscriptions."""

from loyalty.subscriptions.errors import PlanNotFound
from loyalty.subscriptions.models import LIVE_STATUSES, Plan, Subscription
from members.models import Member


def plan_by_code(code: str) -> Plan:
    """The active plan with this code. Raises PlanNotFound."""
    plan = Plan.objects.filter(code=code, active=True).first() if isinstance(code, str) else None
    if plan is None:
        raise PlanNotFound(param="plan")
    return plan


def subscription_live_of(member: Member) -> Subscription | None:
    """The member's subscription that is not over (at most one), with its plan; None without one."""
    return Subscription.objects.select_related("plan").filter(member=member, status__in=LIVE_STATUSES).first()


def plans_on_offer() -> list[Plan]:
    """The plans a member can take out, cheapest first."""
    return list(Plan.objects.filter(active=True).order_by("price", "code"))
