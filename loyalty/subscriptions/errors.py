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


class InvalidExtension(InvalidRequest):
    code = "invalid_extension"
    default_message = "An extension is 1 to 366 whole days."
