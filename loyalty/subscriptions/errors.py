"""Refusals of plans, subscriptions and payments."""

from loyalty.errors import InvalidRequest, NotFound


class AmountMismatch(InvalidRequest):
    code = "amount_mismatch"


class PlanNotFound(NotFound):
    code = "plan_not_found"
    default_message = "No such plan."


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    default_message = "No such subscription."
