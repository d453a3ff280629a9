"""Refusals of holds, captures and voids."""

from loyalty.errors import BusinessRule, NotFound


class HoldNotActive(BusinessRule):
    code = "hold_not_active"
    default_message = "The hold is no longer held."


class HoldNotFound(NotFound):
    code = "hold_not_found"
    default_message = "No such hold."
